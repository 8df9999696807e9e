/**
 * A bad Redis setting is a typed RedisConfigError when the layer is built,
 * never a defect, and the URL (which may hold a password) is not in it.
 * These need no Redis server: nothing is connected before the settings pass.
 */
import { describe, expect, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { RedisAsyncTasks, RedisConcurrencyLimiter, RedisStore, RedisWebhooks } from "../../src/redis/index.js"
import { freePort, freshPrefix } from "./harness.js"

const refused = (options: RedisStore.RedisStoreOptions) =>
  Effect.flip(Effect.scoped(Layer.build(RedisStore.layer(options))))

describe("RedisStore settings", () => {
  it.effect("a URL that cannot be parsed, another scheme, or a database that is not a number is refused typed", () =>
    Effect.gen(function*() {
      for (const url of ["not a url", "http://user:hunter2@127.0.0.1:6379", "redis://:hunter2@127.0.0.1:6379/db"]) {
        const error = yield* refused({ url })
        expect(error._tag).toBe("RedisConfigError")
        expect(error.issues.map((issue) => issue.field)).toEqual(["url"])
        expect(error.message).not.toContain("hunter2")
      }
    }))

  it.effect("a command timeout that is not a positive duration is refused typed", () =>
    Effect.gen(function*() {
      const error = yield* refused({ url: "redis://127.0.0.1:6379", commandTimeout: "-5 seconds" })
      expect(error).toMatchObject({ _tag: "RedisConfigError", issues: [{ field: "commandTimeout" }] })
    }))

  it.effect("a fallback's probe interval that is not a positive duration is refused typed", () =>
    Effect.gen(function*() {
      const probes: ReadonlyArray<Duration.DurationInput> = [0, -1, "0 millis", "-5 seconds"]
      for (const probe of probes) {
        const error = yield* refused({ url: "redis://127.0.0.1:6379", onUnavailable: { fallback: { workers: 2, probe } } })
        expect(error, String(probe)).toMatchObject({ _tag: "RedisConfigError", issues: [{ field: "onUnavailable.fallback.probe" }] })
      }
    }))
})

/** Durations that the one duration reader refuses, and the words it refuses them with. */
const badDurations: ReadonlyArray<readonly [unknown, string]> = [
  [-1, "must not be negative"],
  ["-5 seconds", "must not be negative"],
  [Number.NaN, "must not be negative"],
  ["abc", "is not a duration"],
  [0, "must be longer than zero"]
]

describe("Redis layers' duration options", () => {
  // a store on a port where nothing listens: the options are refused before anything is sent
  const withStore = <A, E>(effect: Effect.Effect<A, E, RedisStore.RedisStore | Scope.Scope>) =>
    Effect.flatMap(
      Effect.promise(freePort),
      (port) => Effect.provide(effect, RedisStore.layer({ url: `redis://127.0.0.1:${port}`, prefix: freshPrefix() }))
    )

  it.scopedLive("RedisConcurrencyLimiter refuses a bad lease or poll with LimiterConfigError naming it", () =>
    withStore(Effect.gen(function*() {
      for (const field of ["lease", "poll"]) {
        for (const [value, why] of badDurations) {
          const options: Record<string, unknown> = { limit: 2, [field]: value }
          const given: RedisConcurrencyLimiter.Options = options
          const error = yield* Effect.flip(RedisConcurrencyLimiter.make(given))
          expect(error, `${field} = ${String(value)}`).toMatchObject({ _tag: "LimiterConfigError", issues: [{ field }] })
          expect(error.message).toContain(why)
        }
      }
    })))

  it.scopedLive("RedisAsyncTasks.claimed and RedisWebhooks.record refuse a bad ttl with RedisConfigError", () =>
    withStore(Effect.gen(function*() {
      for (const [value, why] of badDurations) {
        const options: Record<string, unknown> = { ttl: value }
        const claimed = yield* Effect.flip(
          Stream.runDrain(RedisAsyncTasks.claimed("job", Stream.make({ id: "a" }), options))
        )
        expect(claimed, String(value)).toMatchObject({ _tag: "RedisConfigError", issues: [{ field: "ttl" }] })
        expect(claimed.message).toContain(why)
        const recorded = yield* Effect.flip(RedisWebhooks.record("job", options))
        expect(recorded, String(value)).toMatchObject({ _tag: "RedisConfigError", issues: [{ field: "ttl" }] })
      }
    })))
})
