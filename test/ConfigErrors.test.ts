/**
 * Every config error has one shape, `{ message, issues }`: one `FieldIssue`
 * per bad option, named by its field, listed in the message, and the error
 * survives a JSON round trip through its schema.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  CloroConfig,
  ConcurrencyLimiter,
  Credits,
  RateLimiter,
  RetryPolicy,
  UsageMonitor,
  Webhooks
} from "../src/index.js"

describe("config errors", () => {
  it.scoped("every constructor with options reports { message, issues } with one issue per bad option", () =>
    Effect.gen(function*() {
      const cases = [
        [yield* Effect.flip(CloroConfig.make({ apiKey: "k", monitorTimeout: "-1 seconds" })), ["monitorTimeout"]],
        [yield* Effect.flip(Credits.make({ budget: -1 })), ["budget"]],
        [
          yield* Effect.flip(UsageMonitor.make({ thresholds: { highConcurrency: 2, lowCredits: -1 } })),
          ["thresholds.lowCredits", "thresholds.highConcurrency"]
        ],
        [yield* Effect.flip(RetryPolicy.make({ maxRetries: -1 })), ["maxRetries"]],
        [
          yield* Effect.flip(Webhooks.makeReceiver({ secret: "whsec_x", dedupeCapacity: 0, toleranceSeconds: -1 })),
          ["toleranceSeconds", "dedupeCapacity"]
        ],
        [yield* Effect.flip(ConcurrencyLimiter.make({ limit: 0, maxWait: -1 })), ["limit", "maxWait"]],
        [yield* Effect.flip(RateLimiter.make({ limit: 0 })), ["limit"]]
      ] as const
      for (const [error, fields] of cases) {
        expect(error.issues.map((issue) => issue.field), error._tag).toEqual(fields)
        for (const field of fields) expect(error.message).toContain(field)
      }
    }))

  it.effect("round-trips through JSON with its issues", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Credits.make({ budget: Number.NaN, rememberSettled: 1 }))
      const schema = Credits.CreditsConfigError
      const back = yield* Schema.decodeUnknown(schema)(JSON.parse(JSON.stringify(yield* Schema.encode(schema)(error))))
      expect(back).toBeInstanceOf(Credits.CreditsConfigError)
      expect(back.issues).toEqual(error.issues)
      expect(back.message).toBe(error.message)
    }))
})
