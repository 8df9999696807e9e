/**
 * Four worker processes share one account's concurrency (20, 50 ms per
 * request, so at most 400 requests per second) through Redis, against the
 * simulator served on loopback. Reports the throughput as a fraction of that
 * bound (target ≥ 0.95), beside one process with the in-memory limiter
 * measured in the same run, and the Redis round trips per request.
 *
 * Uses `CLORO_REDIS_URL` when set, else starts a redis-server of its own
 * (skipped, and said so, when there is none).
 */
import { execFileSync } from "node:child_process"
import { Context, Effect, Layer } from "effect"
import { CloroSimulator } from "../src/testing/index.js"
import { type Finished, freePort, freshPrefix, kill, spawnWorker, startRedis } from "../test/redis/harness.js"

const API_KEY = "sk_test_bench_redis"
const LIMIT = 20
const LATENCY_MS = 50
const BOUND = LIMIT / (LATENCY_MS / 1000)

const hasRedisServer = (): boolean => {
  try {
    execFileSync(process.env.CLORO_REDIS_SERVER ?? "redis-server", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

const throughput = (reports: ReadonlyArray<Finished>) => {
  const ok = reports.reduce((sum, r) => sum + r.ok, 0)
  const seconds = (Math.max(...reports.map((r) => r.ended)) - Math.min(...reports.map((r) => r.started))) / 1000
  return { ok, seconds, perSecond: ok / seconds, roundTrips: reports.reduce((sum, r) => sum + r.roundTrips, 0) }
}

const scenario = (url: string, workers: number, tasks: number, local: boolean) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(CloroSimulator.layerServer({
      accounts: [{ apiKey: API_KEY, plan: { concurrency: LIMIT, credits: 100_000_000 } }],
      latency: { default: CloroSimulator.fixed(LATENCY_MS) }
    }))
    const sim = Context.get(context, CloroSimulator.CloroSimulator)
    const prefix = freshPrefix()
    const reports = yield* Effect.promise(() =>
      Promise.all(Array.from({ length: workers }, () =>
        spawnWorker({
          SIM_URL: sim.url,
          API_KEY,
          CLORO_REDIS_URL: url,
          CLORO_REDIS_PREFIX: prefix,
          TASKS: String(tasks),
          FIBERS: "30",
          LOCAL: local ? "1" : "0"
        }).finished))
    )
    const counters = yield* sim.counters
    const rejected = Object.values(counters.rejections).reduce((a, b) => a + b, 0)
    return { ...throughput(reports), rejected, peak: Math.max(0, ...Object.values(counters.peakConcurrency)) }
  }))

/** Runs the scenario and prints its lines. */
export const run = async (): Promise<void> => {
  let url = process.env.CLORO_REDIS_URL
  let server: Awaited<ReturnType<typeof startRedis>> | undefined
  if (url === undefined) {
    if (!hasRedisServer()) {
      console.log("\nredis: skipped (no CLORO_REDIS_URL and no redis-server; see README, Shared limits through Redis)\n")
      return
    }
    const port = await freePort()
    server = await startRedis(port)
    url = `redis://127.0.0.1:${port}`
  }
  try {
    process.stdout.write("  running 1 process, in-memory limiter...\n")
    const local = await Effect.runPromise(scenario(url, 1, 800, true))
    process.stdout.write("  running 4 processes sharing Redis...\n")
    const shared = await Effect.runPromise(scenario(url, 4, 200, false))
    const line = (name: string, r: typeof shared) =>
      `${name.padEnd(34)} ${String(r.ok).padStart(5)} ${r.seconds.toFixed(2).padStart(7)} ${
        r.perSecond.toFixed(0).padStart(6)
      } ${(r.perSecond / BOUND).toFixed(3).padStart(9)} ${String(r.rejected).padStart(5)} ${
        String(r.peak).padStart(5)
      } ${(r.roundTrips / r.ok).toFixed(2).padStart(10)}`
    console.log([
      "",
      `Shared limits through Redis: concurrency ${LIMIT}, ${LATENCY_MS} ms per request, bound ${BOUND} requests/s`,
      `${"scenario".padEnd(34)} ${"reqs".padStart(5)} ${"seconds".padStart(7)} ${"req/s".padStart(6)} ${
        "of bound".padStart(9)
      } ${"429s".padStart(5)} ${"peak".padStart(5)} ${"trips/req".padStart(10)}`,
      line("1 process, in-memory limiter", local),
      line("4 processes, Redis limiter", shared),
      `4 processes vs 1 in-memory: ×${(shared.perSecond / local.perSecond).toFixed(3)} (target for "of bound": ≥ 0.95)`,
      ""
    ].join("\n"))
  } finally {
    if (server !== undefined) await kill(server, "SIGTERM")
  }
}

if (process.argv[1]?.endsWith("redis.ts") === true) {
  await run()
}
