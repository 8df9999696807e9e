/**
 * Four worker processes share one account's concurrency (20, 50 ms per
 * request, so at most 400 requests per second) through Redis, against the
 * simulator served on loopback. Reports the throughput as a fraction of that
 * bound (target ≥ 0.95), beside one process with the in-memory limiter
 * measured in the same run, and the Redis round trips per request.
 *
 * Steady state: each worker starts (tsx), connects and runs a warm-up of
 * `WARMUP` requests, then waits; all start together at a barrier, and the
 * window runs from the barrier to the last answer of any worker. Round trips
 * are counted within that window only.
 *
 * Uses `CLORO_REDIS_URL` when set, else starts a redis-server of its own
 * (skipped, and said so, when there is none).
 *
 *   CLORO_REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/redis.ts [--quick]
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
const FIBERS = 30
/** per worker, before the barrier: fills its connections and JIT, and its slots' line in Redis */
const WARMUP = 60

const hasRedisServer = (): boolean => {
  try {
    execFileSync(process.env.CLORO_REDIS_SERVER ?? "redis-server", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

const throughput = (barrier: number, reports: ReadonlyArray<Finished>) => {
  const ok = reports.reduce((sum, r) => sum + r.ok, 0)
  const seconds = (Math.max(...reports.map((r) => r.ended)) - barrier) / 1000
  const failed = reports.reduce((sum, r) => sum + r.unavailable + Object.values(r.errors).reduce((a, b) => a + b, 0), 0)
  return { ok, failed, seconds, perSecond: ok / seconds, roundTrips: reports.reduce((sum, r) => sum + r.roundTrips, 0) }
}

type Limits = "local" | "redis" | "separate"

const scenario = (url: string, workers: number, tasks: number, limits: Limits) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(CloroSimulator.layerServer({
      accounts: [{ apiKey: API_KEY, plan: { concurrency: LIMIT, credits: 100_000_000 } }],
      latency: { default: CloroSimulator.fixed(LATENCY_MS) }
    }))
    const sim = Context.get(context, CloroSimulator.CloroSimulator)
    const prefix = freshPrefix()
    const { barrier, reports } = yield* Effect.promise(async () => {
      const spawned = Array.from({ length: workers }, () =>
        spawnWorker({
          SIM_URL: sim.url,
          API_KEY,
          CLORO_REDIS_URL: url,
          CLORO_REDIS_PREFIX: prefix,
          TASKS: String(tasks),
          FIBERS: String(FIBERS),
          WARMUP: String(WARMUP),
          LOCAL: limits === "local" ? "1" : "0",
          SEPARATE: limits === "separate" ? "1" : "0"
        }))
      // a worker that dies during its warm-up rejects here instead of hanging the barrier
      await Promise.race([
        Promise.all(spawned.map((w) => w.ready)),
        Promise.all(spawned.map((w) => w.finished))
      ])
      const barrier = Date.now()
      for (const w of spawned) w.go()
      return { barrier, reports: await Promise.all(spawned.map((w) => w.finished)) }
    })
    const counters = yield* sim.counters
    const rejected = Object.values(counters.rejections).reduce((a, b) => a + b, 0)
    return { ...throughput(barrier, reports), rejected, peak: Math.max(0, ...Object.values(counters.peakConcurrency)) }
  }))

/** Runs the scenario (part of `npm run bench` and `--quick`). */
export const run = async (): Promise<ScenarioResult> => {
  const began = performance.now()
  const title = `Shared limits through Redis: 4 processes, concurrency ${LIMIT}, ${LATENCY_MS} ms per request (bound ${BOUND}/s)`
  const columns = ["requests", "failed", "seconds", "req/s", "of bound", "429s", "peak", "Redis trips/req"]
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
    const perWorker = quick ? 100 : 750
    const local = await Effect.runPromise(scenario(url, 1, 4 * perWorker, "local"))
    const shared = await Effect.runPromise(scenario(url, 4, perWorker, "redis"))
    // the two layers on their own: the rate check its own round trip (not in --quick)
    const separate = quick ? undefined : await Effect.runPromise(scenario(url, 4, perWorker, "separate"))
    const row = (subject: string, r: typeof shared) => ({
      subject,
      cells: {
        requests: r.ok,
        failed: r.failed,
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
      rows: [
        row("1 process, in-memory limiters", local),
        row("4 processes, RedisLimits (rate check folded in)", shared),
        ...(separate === undefined ? [] : [row("4 processes, the two Redis layers apart", separate)])
      ],
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
        `Steady state: each worker starts, connects and runs ${WARMUP} warm-up requests (not counted), then all start at one barrier; seconds run from the barrier to the last answer of any worker.`,
        `${FIBERS} calls in flight per worker; the in-memory row is one process running all ${4 * perWorker} requests with the same ${FIBERS}.`,
        "Redis trips/req: commands sent by the limiters within the window (each script is one), all workers together, per request.",
        `RedisLimits: one script grants the slot and records the rate-limit start; a slot goes back with the process's next take.${
          separate === undefined ? "" : " Apart: RedisConcurrencyLimiter.layer and RedisRateLimiter.layer, the rate check its own trip."
        }`,
        "429s and peak count the warm-up too (the simulator sees the whole run)."
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
