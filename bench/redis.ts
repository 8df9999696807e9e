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
import { availableParallelism } from "node:os"
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { CloroSimulator } from "../src/testing/index.js"
import { quick, type ScenarioResult } from "./lib.js"
import { type Finished, freePort, freshPrefix, kill, spawnWorker, startRedis } from "../test/redis/harness.js"

const API_KEY = "sk_test_bench_redis"
const LIMIT = 20
const LATENCY_MS = 50
const BOUND = LIMIT / (LATENCY_MS / 1000)
const FIBERS = 30
/** per worker, before the barrier: fills its connections and JIT, and its slots' line in Redis */
const WARMUP = 40

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
  return {
    ok,
    failed,
    seconds,
    perSecond: ok / seconds,
    roundTrips: reports.reduce((sum, r) => sum + r.roundTrips, 0),
    clientCpuMs: reports.reduce((sum, r) => sum + r.cpuMs, 0)
  }
}

/** CPU seconds redis-server has used so far (`INFO cpu`), or undefined when it cannot be asked. */
const redisCpu = async (url: string): Promise<number | undefined> => {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 })
  try {
    await redis.connect()
    const info = await redis.info("cpu")
    const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN)
    const total = field("used_cpu_user") + field("used_cpu_sys")
    return Number.isFinite(total) ? total : undefined
  } catch {
    return undefined
  } finally {
    redis.disconnect()
  }
}

type Limits = "local" | "redis" | "separate"

const scenario = (url: string, workers: number, durationMs: number, limits: Limits) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(CloroSimulator.layerServer({
      accounts: [{ apiKey: API_KEY, plan: { concurrency: LIMIT, credits: 100_000_000 } }],
      latency: { default: CloroSimulator.fixed(LATENCY_MS) }
    }))
    const sim = Context.get(context, CloroSimulator.CloroSimulator)
    const prefix = freshPrefix()
    const { barrier, reports, redisCpuMs, serverCpuMs } = yield* Effect.promise(async () => {
      const spawned = Array.from({ length: workers }, () =>
        spawnWorker({
          SIM_URL: sim.url,
          API_KEY,
          CLORO_REDIS_URL: url,
          CLORO_REDIS_PREFIX: prefix,
          DURATION_MS: String(durationMs),
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
      const redisBefore = await redisCpu(url)
      const serverBefore = process.cpuUsage()
      const barrier = Date.now()
      for (const w of spawned) w.go()
      const reports = await Promise.all(spawned.map((w) => w.finished))
      // This process serves the simulator (and reads the workers' reports).
      const server = process.cpuUsage(serverBefore)
      const redisAfter = await redisCpu(url)
      const redisCpuMs = redisBefore === undefined || redisAfter === undefined ? undefined : (redisAfter - redisBefore) * 1000
      return { barrier, reports, serverCpuMs: (server.user + server.system) / 1000, redisCpuMs }
    })
    const counters = yield* sim.counters
    const rejected = Object.values(counters.rejections).reduce((a, b) => a + b, 0)
    return {
      ...throughput(barrier, reports),
      serverCpuMs,
      redisCpuMs: limits === "local" ? 0 : redisCpuMs,
      rejected,
      peak: Math.max(0, ...Object.values(counters.peakConcurrency))
    }
  }))

/** Runs the scenario (part of `npm run bench` and `--quick`). */
export const run = async (): Promise<ScenarioResult> => {
  const began = performance.now()
  const title = `Shared limits through Redis: 4 processes, concurrency ${LIMIT}, ${LATENCY_MS} ms per request (bound ${BOUND}/s)`
  const columns = [
    "requests",
    "failed",
    "seconds",
    "req/s",
    "of bound",
    "429s",
    "peak",
    "Redis trips/req",
    "CPU ms/req: clients",
    "simulator",
    "Redis"
  ]
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
    // Each row sends requests for a fixed time, so a busy machine makes the run no longer, only slower.
    const durationMs = quick ? 1_500 : 5_000
    const local = await Effect.runPromise(scenario(url, 1, durationMs, "local"))
    const shared = await Effect.runPromise(scenario(url, 4, durationMs, "redis"))
    // the two layers on their own: the rate check its own round trip (not in --quick)
    const separate = quick ? undefined : await Effect.runPromise(scenario(url, 4, durationMs / 2, "separate"))
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
        "Redis trips/req": Number((r.roundTrips / r.ok).toFixed(2)),
        "CPU ms/req: clients": Number((r.clientCpuMs / r.ok).toFixed(2)),
        simulator: Number((r.serverCpuMs / r.ok).toFixed(2)),
        Redis: r.redisCpuMs === undefined ? "n/a" : Number((r.redisCpuMs / r.ok).toFixed(2))
      }
    })
    const ofBound = shared.perSecond / BOUND
    // At the bound, every ms of CPU per request costs 0.4 of a core.
    const cores = (r: typeof shared) => ((r.clientCpuMs + r.serverCpuMs + (r.redisCpuMs ?? 0)) / r.ok) * BOUND / 1000
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
        `${FIBERS} callers per worker, each sending request after request for ${durationMs / 1000} s${
          separate === undefined ? "" : ` (${durationMs / 2000} s apart)`
        }, then finishing the call it is in; the in-memory row is one process with the same ${FIBERS}.`,
        "Redis trips/req: commands sent by the limiters within the window (each script is one), all workers together, per request.",
        `RedisLimits: one script grants the slot and records the rate-limit start; a slot goes back as its request ends, in a trip that also carries the process's new waiters.${
          separate === undefined ? "" : " Apart: RedisConcurrencyLimiter.layer and RedisRateLimiter.layer, the rate check its own trip."
        }`,
        "429s and peak count the warm-up too (the simulator sees the whole run).",
        `CPU ms/req: CPU time (user + system) within the window per request, in the worker processes, the bench process (which serves the simulator) and redis-server. At the bound (${BOUND}/s) the CPU they take is ${
          cores(local).toFixed(2)
        } cores in memory and ${cores(shared).toFixed(2)} with RedisLimits, of the machine's ${availableParallelism()}: where that is near or above the cores free, the run is CPU-bound, not held back by Redis.`
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
