/**
 * Shared limits across real processes: worker processes (tsx) share one API
 * key through a real redis-server (`CLORO_REDIS_URL`) against the simulator
 * served on loopback with a concurrency limit of 20 and 50 ms of latency.
 */
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { describe, expect, it } from "vitest"
import { CloroSimulator } from "../../src/testing/index.js"
import { freePort, freshPrefix, kill, redisUrl, spawnWorker, startRedis, until } from "./harness.js"

const API_KEY = "sk_test_redis_workers"
const LIMIT = 20

/** Runs `f` with the simulator served on loopback, then closes it. */
const withSimulator = <A>(f: (sim: CloroSimulator.Service) => Promise<A>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(CloroSimulator.layerServer({
      accounts: [{ apiKey: API_KEY, plan: { concurrency: LIMIT, credits: 10_000_000 } }],
      latency: { default: CloroSimulator.fixed(50) }
    }))
    const sim = Context.get(context, CloroSimulator.CloroSimulator)
    return yield* Effect.promise(() => f(sim))
  })))

const figures = async (sim: CloroSimulator.Service) => {
  const counters = await Effect.runPromise(sim.counters)
  const rejected = Object.values(counters.rejections).reduce((a, b) => a + b, 0)
  const peak = Math.max(0, ...Object.values(counters.peakConcurrency))
  const answered = Object.values(counters.requests["/v1/monitor/chatgpt"] ?? {}).reduce((a, b) => a + b, 0)
  const ok = counters.requests["/v1/monitor/chatgpt"]?.["200"] ?? 0
  return { rejected, rejections: counters.rejections, peak, answered, ok }
}

/** Redis's clock, which the lease scripts use, in milliseconds. */
const redisNow = async (redis: Redis): Promise<number> => {
  const [seconds, micros] = await redis.time()
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
}

/** Leases that still count (their expiry, by Redis's clock, is ahead), with their expiry. */
const holders = async (redis: Redis, prefix: string): Promise<ReadonlyArray<readonly [string, number]>> => {
  const flat = await redis.zrangebyscore(`${prefix}concurrency:holders`, `(${await redisNow(redis)}`, "+inf", "WITHSCORES")
  const pairs: Array<readonly [string, number]> = []
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])])
  return pairs
}

describe.skipIf(redisUrl === undefined)("Redis limits across processes", () => {
  it("4 workers share one key: no 429, peak concurrency exactly the plan's 20", async () => {
    const prefix = freshPrefix()
    await withSimulator(async (sim) => {
      const tasks = 100
      const workers = Array.from({ length: 4 }, () =>
        spawnWorker({ SIM_URL: sim.url, API_KEY, CLORO_REDIS_PREFIX: prefix, TASKS: String(tasks), FIBERS: "30" }))
      const reports = await Promise.all(workers.map((w) => w.finished))
      const seen = await figures(sim)
      const redis = new Redis(redisUrl!)
      const sharedPeak = Number(await redis.hget(`${prefix}concurrency:shared`, "peak"))
      await redis.quit()
      console.log("4 workers:", { ...seen, sharedPeak, reports: reports.map(({ millis, ok, roundTrips }) => ({ ok, millis, roundTrips })) })
      for (const report of reports) expect(report).toMatchObject({ ok: tasks, unavailable: 0, errors: {} })
      expect(seen.rejected).toBe(0)
      expect(seen.ok).toBe(4 * tasks)
      // Slots held at once, as Redis counted them: exactly the plan's limit. The
      // server sees a request only once its bytes arrive, so on a busy machine
      // its own peak can stay a little below the slots held, never above.
      expect(sharedPeak).toBe(LIMIT)
      expect(seen.peak).toBeLessThanOrEqual(LIMIT)
    })
  }, 240_000)

  it("a worker killed with SIGKILL gives its slots back within the lease; the others finish every task", async () => {
    const prefix = freshPrefix()
    // Long enough that a starved worker still renews in time (every third of it) on a loaded machine.
    const leaseMs = 3_000
    const redis = new Redis(redisUrl!)
    try {
      await withSimulator(async (sim) => {
        const tasks = 120
        const workers = Array.from({ length: 3 }, (_, i) =>
          spawnWorker({
            HOLDER: i === 0 ? "victim" : "survivor",
            SIM_URL: sim.url,
            API_KEY,
            CLORO_REDIS_PREFIX: prefix,
            // The victim has far more work than the others, so it is still taking slots when it is
            // killed even if a loaded machine lets it run ahead of the kill.
            TASKS: String(i === 0 ? tasks * 20 : tasks),
            FIBERS: "30",
            LEASE_MS: String(leaseMs)
          }))
        const [victim, ...survivors] = workers
        await until(() => victim!.progress() >= 20, 120_000, "the victim's first 20 answers")
        // Killed while it holds slots: slots go back as each request ends, so on a busy machine a worker
        // can be between grants at any given moment.
        for (let i = 0; i < 500; i++) {
          if ((await holders(redis, prefix)).some(([id]) => id.startsWith("victim-"))) break
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        await kill(victim!.child, "SIGKILL")
        const killedAt = await redisNow(redis)
        const stuck = (await holders(redis, prefix)).filter(([id]) => id.startsWith("victim-"))
        // Its leases run out at most one lease after its last renewal, which came before it died.
        const lastExpiry = Math.max(...stuck.map(([, expiry]) => expiry))
        let left = stuck
        while (left.length > 0 && (await redisNow(redis)) - killedAt < 10 * leaseMs) {
          await new Promise((resolve) => setTimeout(resolve, 20))
          const live = new Set((await holders(redis, prefix)).map(([id]) => id))
          left = left.filter(([id]) => live.has(id))
        }
        const returnedAfter = (await redisNow(redis)) - killedAt
        const reports = await Promise.all(survivors.map((w) => w.finished))
        const seen = await figures(sim)
        console.log("SIGKILL:", {
          stuckSlots: stuck.length,
          expiredAfterMs: lastExpiry - killedAt,
          seenFreeAfterMs: returnedAfter,
          leaseMs,
          ...seen
        })
        expect(stuck.length).toBeGreaterThan(0)
        expect(lastExpiry - killedAt).toBeLessThanOrEqual(leaseMs)
        expect(left).toEqual([])
        for (const report of reports) expect(report).toMatchObject({ ok: tasks, unavailable: 0, errors: {} })
        expect(seen.rejected).toBe(0)
        expect(seen.peak).toBeLessThanOrEqual(LIMIT)
      })
    } finally {
      await redis.quit()
    }
  }, 240_000)

  it("Redis stopped mid-run: typed LimiterUnavailable errors, nothing lost, work resumes when Redis returns", async () => {
    const port = await freePort()
    let server = await startRedis(port)
    const url = `redis://127.0.0.1:${port}`
    try {
      await withSimulator(async (sim) => {
        const tasks = 150
        const prefix = freshPrefix()
        const workers = Array.from({ length: 2 }, () =>
          spawnWorker({
            SIM_URL: sim.url,
            API_KEY,
            CLORO_REDIS_URL: url,
            CLORO_REDIS_PREFIX: prefix,
            TASKS: String(tasks),
            FIBERS: "30",
            RETRY_UNAVAILABLE: "1"
          }))
        const progress = () => workers.reduce((sum, w) => sum + w.progress(), 0)
        await until(() => progress() >= 60, 120_000, "60 answers before stopping Redis")
        await kill(server, "SIGKILL")
        const atStop = progress()
        await new Promise((resolve) => setTimeout(resolve, 1_000))
        const whileDown = progress() - atStop
        server = await startRedis(port)
        const reports = await Promise.all(workers.map((w) => w.finished))
        const seen = await figures(sim)
        const unavailable = reports.reduce((sum, r) => sum + r.unavailable, 0)
        console.log("Redis stopped:", { atStop, whileDown, unavailable, ...seen })
        expect(unavailable).toBeGreaterThan(0)
        for (const report of reports) expect(report).toMatchObject({ ok: tasks, errors: {} })
        expect(seen.ok).toBe(2 * tasks)
        expect(seen.answered).toBe(2 * tasks)
        expect(seen.rejected).toBe(0)
      })
    } finally {
      await kill(server, "SIGTERM")
    }
  }, 240_000)
})
