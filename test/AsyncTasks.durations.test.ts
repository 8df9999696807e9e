/**
 * Every duration option of `run` and `wait` is read by the one duration
 * helper: a negative, NaN, zero or unreadable value is an `InvalidRequest`
 * naming the option, before anything is sent; `Duration.infinity` means no limit.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as AsyncTasks from "../src/AsyncTasks.js"
import { simulated } from "./support/layers.js"

const bad: ReadonlyArray<readonly [unknown, string]> = [
  [-1, "must not be negative"],
  ["-5 seconds", "must not be negative"],
  [Number.NaN, "must not be negative"],
  ["abc", "is not a duration"],
  [0, "must be longer than zero"]
]

/** The options as plain JS may pass them: any value where a duration is declared. */
const runWith = (options: Record<string, unknown>) => {
  const given: AsyncTasks.RunOptions = options
  return Effect.flip(Stream.runDrain(AsyncTasks.run([], given)))
}

describe("AsyncTasks duration options", () => {
  it.layer(simulated({ apiKey: "sk_test_durations" }))((it) => {
    it.effect("run refuses a bad timeout, batchWindow or webhooks.fallbackAfter, naming it", () =>
      Effect.gen(function*() {
        const options = (field: string, value: unknown): Record<string, unknown> =>
          field === "webhooks.fallbackAfter"
            ? { webhooks: { events: Stream.empty, url: "https://example.com/hooks", fallbackAfter: value } }
            : { [field]: value }
        for (const field of ["timeout", "batchWindow", "webhooks.fallbackAfter"]) {
          for (const [value, message] of bad) {
            const error = yield* runWith(options(field, value))
            expect(error, `${field} = ${String(value)}`).toMatchObject({
              _tag: "InvalidRequest",
              source: "client",
              issues: [{ field }]
            })
            expect(error._tag === "InvalidRequest" && error.issues[0]?.message).toContain(message)
          }
        }
      }))

    it.effect("wait refuses a bad timeout, naming it", () =>
      Effect.gen(function*() {
        for (const [value, message] of bad) {
          const options: Record<string, unknown> = { timeout: value }
          const given: AsyncTasks.WaitOptions = options
          const error = yield* Effect.flip(AsyncTasks.wait("task-1", given))
          expect(error).toMatchObject({ _tag: "InvalidRequest", issues: [{ field: "timeout" }] })
          expect(error._tag === "InvalidRequest" && error.issues[0]?.message).toContain(message)
        }
      }))

    it.effect("Duration.infinity is no limit, and the options still run", () =>
      Effect.gen(function*() {
        const outcomes = yield* Stream.runCollect(
          AsyncTasks.run([], { timeout: Duration.infinity, batchWindow: "1 second" })
        )
        expect(outcomes.length).toBe(0)
      }))
  })
})
