/**
 * `permit` on the shared limiters, against a real redis-server: a slot held
 * until a `Scope` closes, in the same line as `withPermit`, counted in Redis
 * across workers, renewed for as long as the scope is open, and (with
 * `RedisLimits`) carrying its request's rate-limit start to the fiber that
 * sends the request, once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { ConcurrencyLimiter, RateLimiter } from "../../src/index.js"
import { RedisConcurrencyLimiter, RedisLimits, RedisStore } from "../../src/redis/index.js"
import { freshPrefix, redisUrl } from "./harness.js"

const KEY = "slots"

/** A worker's limiters, with its own connections, on the shared key. */
const worker = (prefix: string, concurrency: RedisConcurrencyLimiter.Options) =>
  Layer.build(
    RedisLimits.layer({ concurrency: { key: KEY, ...concurrency }, rate: { limit: 1000 } }).pipe(
      Layer.provideMerge(RedisStore.layer({ url: redisUrl ?? "", prefix }))
    )
  ).pipe(Effect.map((context) => ({
    slots: Context.get(context, ConcurrencyLimiter.ConcurrencyLimiter),
    rate: Context.get(context, RateLimiter.RateLimiter),
    store: Context.get(context, RedisStore.RedisStore),
    inUse: Effect.provide(RedisConcurrencyLimiter.sharedInUse(KEY), context)
  })))

/** Polls `read` until it gives `want` (at most 200 tries): the release after a scope closes is a trip of its own. */
const eventually = <E, R>(read: Effect.Effect<number, E, R>, want: number): Effect.Effect<number, E, R> =>
  Effect.gen(function*() {
    let seen = yield* read
    for (let i = 0; i < 200 && seen !== want; i++) {
      yield* Effect.sleep("10 millis")
      seen = yield* read
    }
    return seen
  })

describe.skipIf(redisUrl === undefined)("permit on the shared concurrency limiter", () => {
  it.scopedLive("holds a slot until its scope closes, in one line across workers; an interrupted wait leaves the line", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const a = yield* worker(prefix, { limit: 3 })
      const b = yield* worker(prefix, { limit: 3 })
      const permit = (limiter: ConcurrencyLimiter.ConcurrencyLimiterShape) => {
        if (limiter.permit === undefined) throw new Error("the shared limiter has no permit")
        return limiter.permit
      }
      const scopes = [yield* Scope.make(), yield* Scope.make(), yield* Scope.make()]
      yield* Scope.extend(permit(a.slots), scopes[0]!)
      yield* Scope.extend(permit(b.slots), scopes[1]!)
      yield* Scope.extend(permit(a.slots), scopes[2]!)
      expect(yield* a.inUse).toBe(3)

      // Two more wait; the first is interrupted while waiting and must not take a slot later.
      const leaving = yield* Effect.fork(Effect.scoped(Effect.zipRight(permit(b.slots), Effect.never)))
      const fourth = yield* Scope.make()
      const waiting = yield* Effect.fork(Scope.extend(permit(b.slots), fourth))
      yield* Fiber.interrupt(leaving)
      yield* Scope.close(scopes[0]!, Exit.void)
      yield* Fiber.join(waiting)
      expect(yield* a.inUse).toBe(3)
      // nobody is left waiting in b's line: the interrupted wait stepped out
      expect((yield* b.slots.stats).waiting).toBe(0)

      // Every scope closed: every slot is back in Redis, and the interrupted wait took none.
      for (const scope of [scopes[1]!, scopes[2]!, fourth]) yield* Scope.close(scope, Exit.void)
      expect(yield* eventually(a.inUse, 0)).toBe(0)
      expect(yield* RedisConcurrencyLimiter.sharedPeak(KEY).pipe(Effect.provideService(RedisStore.RedisStore, a.store)))
        .toBe(3)
    }))

  it.scopedLive("the lease is renewed for as long as the permit's scope is open", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      // A lease of 300 ms is renewed every 100 ms; held for 1 s it must still be counted.
      const a = yield* worker(prefix, { limit: 2, lease: "300 millis" })
      const scope = yield* Scope.make()
      yield* Scope.extend(a.slots.permit ?? Effect.void, scope)
      yield* Effect.sleep("1 second")
      expect(yield* a.inUse).toBe(1)
      yield* Scope.close(scope, Exit.void)
      expect(yield* eventually(a.inUse, 0)).toBe(0)
    }))

  it.scopedLive("the rate-limit start granted with the slot is used once, by the fiber the caller forks", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const a = yield* worker(prefix, { limit: 2 })
      const trips = a.store.roundTrips
      yield* Effect.scoped(Effect.gen(function*() {
        yield* a.slots.permit ?? Effect.void
        // The request's fiber finds the start recorded with the slot: no trip of its own.
        const before = yield* trips
        yield* Fiber.join(yield* Effect.fork(a.rate.take("/v1/monitor/chatgpt")))
        expect((yield* trips) - before).toBe(0)
        // The caller's fiber still holds a copy; it is spent, so its own take asks Redis.
        const again = yield* trips
        yield* a.rate.take("/v1/monitor/chatgpt")
        expect((yield* trips) - again).toBe(1)
      }))
      expect((yield* a.rate.stats).admitted).toBe(2)
    }))
})
