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
import { quick, type ScenarioResult } from "./lib.js"
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

/** Runs the scenario (part of `npm run bench` and `--quick`). */
export const run = async (): Promise<ScenarioResult> => {
  const began = performance.now()
  const title = `Shared limits through Redis: 4 processes, concurrency ${LIMIT}, ${LATENCY_MS} ms per request (bound ${BOUND}/s)`
  const columns = ["requests", "seconds", "req/s", "of bound", "429s", "peak", "Redis trips/req"]
  let url = process.env.CLORO_REDIS_URL
  let server: Awaited<ReturnType<typeof startRedis>> | undefined
  if (url === undefined) {
    if (!hasRedisServer()) {
      const why = "skipped: no CLORO_REDIS_URL and no redis-server (see README, Shared limits through Redis)"
      return { name: "redis", title, columns, rows: [], checks: [{ target: "≥ 0.95 of the bound", value: why, met: undefined }], notes: [why], millis: performance.now() - began }
    }
    const port = await freePort()
    server = await startRedis(port)
    url = `redis://127.0.0.1:${port}`
  }
  try {
    const perWorker = quick ? 50 : 300
    const local = await Effect.runPromise(scenario(url, 1, 4 * perWorker, true))
    const shared = await Effect.runPromise(scenario(url, 4, perWorker, false))
    const row = (subject: string, r: typeof shared) => ({
      subject,
      cells: {
        requests: r.ok,
        seconds: r.seconds,
        "req/s": Math.round(r.perSecond),
        "of bound": Number((r.perSecond / BOUND).toFixed(3)),
        "429s": r.rejected,
        peak: r.peak,
        "Redis trips/req": Number((r.roundTrips / r.ok).toFixed(2))
      }
    })
    const ofBound = shared.perSecond / BOUND
    return {
      name: "redis",
      title,
      columns,
      rows: [row("1 process, in-memory limiter", local), row("4 processes, Redis limiters", shared)],
      checks: [
        { target: "4 processes: ≥ 0.95 of the bound", value: ofBound.toFixed(3), met: ofBound >= 0.95 },
        { target: "4 processes: 0 429s", value: String(shared.rejected), met: shared.rejected === 0 },
        {
          target: "4 processes vs 1 in-memory (same run)",
          value: `×${(shared.perSecond / local.perSecond).toFixed(3)}`,
          met: undefined
        }
      ],
      notes: [
        "Seconds run from the first request of any worker to the last answer; worker start-up (tsx) is outside.",
        "Redis trips/req: commands sent by the limiters (each script is one), all workers together, per request."
      ],
      millis: performance.now() - began
    }
  } finally {
    if (server !== undefined) await kill(server, "SIGTERM")
  }
}

if (process.argv[1]?.endsWith("redis.ts") === true) {
  const { format } = await import("./lib.js")
  console.log(format(await run()))
}
