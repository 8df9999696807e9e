/**
 * The shared rate limit through a real redis-server: never more than `limit`
 * starts in any rolling window, across workers and across window boundaries.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import { Redis } from "ioredis"
import { ConcurrencyLimiter, RateLimiter } from "../../src/index.js"
import { RedisLimits, RedisRateLimiter, RedisStore } from "../../src/redis/index.js"
import { freshPrefix, redisUrl } from "./harness.js"

const worker = (prefix: string, options: RedisRateLimiter.Options) =>
  Layer.build(RedisRateLimiter.layer(options).pipe(Layer.provide(RedisStore.layer({ url: redisUrl ?? "", prefix })))).pipe(
    Effect.map((context) => Context.get(context, RateLimiter.RateLimiter))
  )

/** The most entries in any closed interval of `window` ms. */
const busiestWindow = (times: ReadonlyArray<number>, window: number): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) > window) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

describe.skipIf(redisUrl === undefined)("RedisRateLimiter", () => {
  it.scopedLive("two workers never start more than the limit in any rolling second, across window boundaries", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const limit = 10
      const [a, b] = [yield* worker(prefix, { limit }), yield* worker(prefix, { limit })]
      // Half a second into a second: a fixed window would let 10 start now and 10 more at the next boundary.
      yield* Effect.sleep(`${1000 - (Date.now() % 1000) + 500} millis`)
      const started = Date.now()
      const starts: Array<number> = []
      yield* Effect.all(
        Array.from({ length: 30 }, (_, i) => Effect.zipRight((i % 2 === 0 ? a : b).take("/v1/monitor/chatgpt"), Effect.sync(() => starts.push(Date.now())))),
        { concurrency: "unbounded", discard: true }
      )
      // The start times Redis gave out (all 30 were given out at once, so none was trimmed yet).
      const redis = new Redis(redisUrl ?? "")
      const flat = yield* Effect.promise(() => redis.zrange(`${prefix}rate:all:log`, 0, -1, "WITHSCORES"))
      yield* Effect.promise(() => redis.quit())
      const given = flat.filter((_, i) => i % 2 === 1).map(Number)
      const elapsed = Date.now() - started
      console.log("rate, limit 10/s, 30 starts from 2 workers:", {
        elapsed,
        busiestGiven: busiestWindow(given, 1000)
      })
      expect(given).toHaveLength(30)
      expect(busiestWindow(given, 1000)).toBe(limit)
      // every caller waited for its place (on a busy machine a timer fires late, so the
      // times the callers saw can bunch up: the guarantee is on the times given out)
      expect(starts).toHaveLength(30)
      // 30 starts at 10 per rolling second take at least two full seconds
      expect(elapsed).toBeGreaterThanOrEqual(1990)
      expect(yield* a.stats).toMatchObject({ limit, admitted: 15 })
    }))

  it.scopedLive("maxWait refuses a start that would wait too long, without spending a place in the window", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const limiter = yield* worker(prefix, { limit: 2, maxWait: "200 millis" })
      yield* limiter.take("/a")
      yield* limiter.take("/a")
      const refused = yield* Effect.flip(limiter.take("/a"))
      expect(refused).toMatchObject({ _tag: "AdmissionTimeout", limiter: "rate" })
      const redis = new Redis(redisUrl ?? "")
      expect(yield* Effect.promise(() => redis.zcard(`${prefix}rate:all:log`))).toBe(2)
      yield* Effect.promise(() => redis.quit())
    }))

  it.scopedLive("folded into the slot's take (RedisLimits), the limit still holds and a request's rate check costs no trip", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const limit = 10
      const worker = Effect.gen(function*() {
        const context = yield* Layer.build(
          RedisLimits.layer({ concurrency: { limit: 4 }, rate: { limit, mode: "perEndpoint" } }).pipe(
            Layer.provideMerge(RedisStore.layer({ url: redisUrl ?? "", prefix }))
          )
        )
        return {
          slots: Context.get(context, ConcurrencyLimiter.ConcurrencyLimiter),
          rate: Context.get(context, RateLimiter.RateLimiter),
          store: Context.get(context, RedisStore.RedisStore)
        }
      })
      const [a, b] = [yield* worker, yield* worker]
      // Starts leave the log a window after their time: read it every 100 ms to see them all.
      const redis = new Redis(redisUrl ?? "")
      const seen = new Map<string, number>()
      const sample = Effect.promise(() => redis.zrange(`${prefix}rate:/v1/monitor/chatgpt:log`, 0, -1, "WITHSCORES")).pipe(
        Effect.tap((flat) =>
          Effect.sync(() => {
            for (let i = 0; i + 1 < flat.length; i += 2) seen.set(flat[i] ?? "", Number(flat[i + 1]))
          })
        )
      )
      const sampler = yield* Effect.fork(Effect.forever(Effect.zipRight(sample, Effect.sleep("100 millis"))))
      // as the client does: the rate check inside the slot, then the request
      const request = (w: typeof a, path: string) =>
        w.slots.withPermit(Effect.zipRight(w.rate.take(path), Effect.sleep("20 millis")))
      // the first request of each worker tells it the path (perEndpoint): its start takes a trip of its own
      yield* Effect.all([request(a, "/v1/monitor/chatgpt"), request(b, "/v1/monitor/chatgpt")], { concurrency: 2 })
      const trips = (yield* a.store.roundTrips) + (yield* b.store.roundTrips)
      const started = Date.now()
      yield* Effect.all(
        Array.from({ length: 30 }, (_, i) => request(i % 2 === 0 ? a : b, "/v1/monitor/chatgpt")),
        { concurrency: "unbounded", discard: true }
      )
      const elapsed = Date.now() - started
      const tripsPerRequest = ((yield* a.store.roundTrips) + (yield* b.store.roundTrips) - trips) / 30
      // a request for another path than the last one takes its start by its own trip
      yield* request(a, "/v1/monitor/gemini")
      yield* Fiber.interrupt(sampler)
      yield* sample
      const other = yield* Effect.promise(() => redis.zrange(`${prefix}rate:/v1/monitor/gemini:log`, 0, -1))
      yield* Effect.promise(() => redis.quit())
      const members = [...seen.keys()]
      const given = [...seen.values()]
      console.log("folded rate, limit 10/s, 4 slots, 30 requests from 2 workers:", {
        elapsed,
        busiestGiven: busiestWindow(given, 1000),
        tripsPerRequest,
        foldedStarts: members.filter((m) => m.startsWith("slot:")).length
      })
      // 2 first starts by their own trip, 30 recorded with their slots, plus the one gemini's slot
      // recorded for chatgpt (the process's last path) and left unused
      expect(members).toHaveLength(33)
      expect(members.filter((m) => m.startsWith("slot:"))).toHaveLength(31)
      expect(busiestWindow(given, 1000)).toBe(limit)
      expect(elapsed).toBeGreaterThanOrEqual(1990)
      expect(other).toHaveLength(1)
      // one script per take (shared with the releases) and nothing for the rate check; a poll may add a few
      expect(tripsPerRequest).toBeLessThanOrEqual(1.5)
      expect(yield* a.rate.stats).toMatchObject({ limit, admitted: 1 + 15 + 1 })
    }))
})
