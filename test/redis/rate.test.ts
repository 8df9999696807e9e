/**
 * The shared rate limit through a real redis-server: never more than `limit`
 * starts in any rolling window, across workers and across window boundaries.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { RateLimiter } from "../../src/index.js"
import { RedisRateLimiter, RedisStore } from "../../src/redis/index.js"
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
})
