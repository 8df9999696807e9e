/**
 * The fallback as a breaker, against a redis-server of the test's own: after
 * one failed trip the shared limiters go straight to their local limits of
 * `limit / workers`, without a trip per call, while a background probe
 * checks Redis; once it answers, the calls waiting in the fallback's line
 * rejoin Redis's, and the calls the fallback admitted are counted there as
 * leases while they run. Counts only: no assertion on wall-clock time.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Ref, Scope } from "effect"
import { ConcurrencyLimiter, RateLimiter } from "../../src/index.js"
import { RedisConcurrencyLimiter, RedisLimits, RedisStore } from "../../src/redis/index.js"
import { freePort, freshPrefix, kill, redisUrl, startRedis } from "./harness.js"

const LIMIT = 8
const WORKERS = 4
const KEY = "breaker"

/** Polls `check` (at most 500 tries, 20 ms apart) until it holds. */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>): Effect.Effect<boolean, E, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if (yield* check) return true
      yield* Effect.sleep("20 millis")
    }
    return yield* check
  })

describe.skipIf(redisUrl === undefined)("the fallback is a breaker", () => {
  it.scopedLive("no trip per call while Redis is down; on its return waiting calls rejoin its line and running ones are counted", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const url = `redis://127.0.0.1:${port}`
      let server = yield* Effect.promise(() => startRedis(port))
      yield* Effect.addFinalizer(() => Effect.promise(() => kill(server, "SIGTERM")))
      const context = yield* Layer.build(
        RedisLimits.layer({ concurrency: { key: KEY, limit: LIMIT }, rate: { limit: 1000 } }).pipe(
          Layer.provideMerge(RedisStore.layer({
            url,
            prefix: freshPrefix(),
            commandTimeout: "500 millis",
            onUnavailable: { fallback: { workers: WORKERS, probe: "100 millis" } }
          }))
        )
      )
      const slots = Context.get(context, ConcurrencyLimiter.ConcurrencyLimiter)
      const rate = Context.get(context, RateLimiter.RateLimiter)
      const store = Context.get(context, RedisStore.RedisStore)
      const inUse = Effect.provide(RedisConcurrencyLimiter.sharedInUse(KEY), context)

      const running = yield* Ref.make({ now: 0, peak: 0 })
      const call = slots.withPermit(
        Effect.zipRight(
          rate.take("/v1/monitor/chatgpt"),
          Effect.acquireUseRelease(
            Ref.update(running, (r) => ({ now: r.now + 1, peak: Math.max(r.peak, r.now + 1) })),
            () => Effect.sleep("5 millis"),
            () => Ref.update(running, (r) => ({ ...r, now: r.now - 1 }))
          )
        )
      )
      yield* Effect.forEach(Array.from({ length: 20 }), () => call, { concurrency: 10, discard: true })
      expect(yield* store.down).toBeUndefined()

      // Redis goes away: the first call pays the failed trip and opens the breaker.
      yield* Effect.promise(() => kill(server, "SIGKILL"))
      yield* call
      expect(yield* store.down).toBeDefined()
      yield* Ref.set(running, { now: 0, peak: 0 })
      const tripsBefore = yield* store.roundTrips
      yield* Effect.forEach(Array.from({ length: 100 }), () => call, { concurrency: 10, discard: true })
      const tripsWhileDown = (yield* store.roundTrips) - tripsBefore
      const downPeak = (yield* Ref.get(running)).peak
      console.log("breaker: 100 calls while Redis was down:", { tripsWhileDown, peak: downPeak })
      // Without the breaker each call paid at least one failed trip (the slot's, then the rate's);
      // with it, only the probe (every 100 ms) and the lease renewal go to Redis.
      expect(tripsWhileDown).toBeLessThan(50)
      expect(downPeak).toBeLessThanOrEqual(LIMIT / WORKERS)
      expect(downPeak).toBeGreaterThan(0)

      // Two calls the fallback admitted keep running across Redis's return; three more wait in its line.
      const release = yield* Deferred.make<void>()
      const held = yield* Effect.forEach(Array.from({ length: LIMIT / WORKERS }), () =>
        Effect.fork(slots.withPermit(Deferred.await(release))))
      const waiters = yield* Effect.forEach(Array.from({ length: 3 }), () => Effect.gen(function*() {
        const scope = yield* Scope.make()
        return { scope, fiber: yield* Effect.fork(Scope.extend(slots.permit ?? Effect.void, scope)) }
      }))
      yield* Effect.yieldNow()

      server = yield* Effect.promise(() => startRedis(port))
      expect(yield* eventually(Effect.map(store.down, (down) => down === undefined))).toBe(true)
      // The waiting calls were admitted by Redis, beside the two still holding the fallback's only slots,
      // and Redis counts all five.
      yield* Effect.forEach(waiters, (w) => Fiber.join(w.fiber), { discard: true })
      expect(yield* eventually(Effect.map(inUse, (n) => n === LIMIT / WORKERS + 3))).toBe(true)
      yield* Deferred.succeed(release, undefined)
      yield* Effect.forEach(held, Fiber.join, { discard: true })
      yield* Effect.forEach(waiters, (w) => Scope.close(w.scope, Exit.void), { discard: true })
      expect(yield* eventually(Effect.map(inUse, (n) => n === 0))).toBe(true)
      // And calls go through Redis again, at its width.
      yield* Effect.forEach(Array.from({ length: 20 }), () => call, { concurrency: 10, discard: true })
      expect(yield* store.down).toBeUndefined()
    }), 60_000)
})
