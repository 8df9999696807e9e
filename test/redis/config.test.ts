/**
 * A bad Redis setting is a typed RedisConfigError when the layer is built,
 * never a defect, and the URL (which may hold a password) is not in it.
 * These need no Redis server: nothing is connected before the settings pass.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { RedisStore } from "../../src/redis/index.js"

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
})
