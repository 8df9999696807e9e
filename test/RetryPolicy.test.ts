import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as Schedule from "effect/Schedule"
import {
  type CloroError,
  ConcurrentLimitExceeded,
  InsufficientCredits,
  InvalidRequest,
  ServerError,
  ServiceUnavailable,
  Timeout
} from "../src/CloroError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"

const serverError = new ServerError({ message: "boom", status: 500, code: "INTERNAL_SERVER_ERROR" })
const unavailable = (seconds: number) =>
  new ServiceUnavailable({ message: "down", status: 503, retryAfter: Duration.seconds(seconds) })

/**
 * The delays a schedule produces for a run of failures, in milliseconds.
 * A non-retryable error ends every run, and `Schedule.run` also emits the
 * output of the step that ends the schedule (a zero delay that is never
 * slept), so the last element is dropped.
 */
const terminator = new InvalidRequest({ message: "end of run", source: "client", issues: [] })
const delaysOf = (schedule: Schedule.Schedule<unknown, CloroError>, inputs: ReadonlyArray<CloroError>) =>
  Effect.map(Schedule.run(Schedule.delays(schedule), 0, [...inputs, terminator]), (delays) =>
    Chunk.toReadonlyArray(delays).map(Duration.toMillis).slice(0, -1))

describe("RetryPolicy", () => {
  it.effect("grows exponentially from the base and caps each delay", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ base: "100 millis", factor: 2, maxDelay: "500 millis", maxRetries: 5, jitter: false, budget: false })
      const delays = yield* delaysOf(policy.schedule, Array.from({ length: 8 }, () => serverError))
      // five retries, then the schedule is done
      expect(delays).toEqual([100, 200, 400, 500, 500])
    }))

  it.effect("jitters each delay between half and all of its value, reproducibly under a fixed Random", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ base: "1 second", factor: 2, maxRetries: 3, budget: false })
      const delays = yield* delaysOf(policy.schedule, [serverError, serverError, serverError]).pipe(
        Effect.withRandom(Random.fixed([0, 0.5, 1]))
      )
      expect(delays).toEqual([500, 1500, 4000])
    }))

  it.effect("keeps jittering once the delays reach the cap, so capped retries do not fall into step", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ base: "10 seconds", factor: 2, maxDelay: "10 seconds", maxRetries: 3, budget: false })
      const delays = yield* delaysOf(policy.schedule, [serverError, serverError, serverError]).pipe(
        Effect.withRandom(Random.fixed([0, 0, 0]))
      )
      expect(delays).toEqual([5_000, 5_000, 5_000])
    }))

  it.effect("honours a Retry-After longer than its own delay", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ base: "100 millis", jitter: false, budget: false })
      const delays = yield* delaysOf(policy.schedule, [unavailable(10), serverError])
      expect(delays).toEqual([10_000, 200])
    }))

  it.effect("surfaces an error whose Retry-After is beyond the cap", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ retryAfterCap: "30 seconds", jitter: false, budget: false })
      const delays = yield* delaysOf(policy.schedule, [unavailable(31)])
      expect(delays).toEqual([])
    }))

  it.effect("never retries errors a retry cannot cure", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ budget: false })
      for (
        const error of [
          new InvalidRequest({ message: "bad", source: "server", issues: [] }),
          new InsufficientCredits({ message: "broke", status: 403 })
        ]
      ) {
        expect(yield* delaysOf(policy.schedule, [error])).toEqual([])
      }
      expect(RetryPolicy.isRetryable(new ConcurrentLimitExceeded({ message: "full", code: "CONCURRENT_LIMIT_EXCEEDED" }))).toBe(true)
      expect(RetryPolicy.isRetryable(new Timeout({ message: "slow", method: "GET", path: "/", timeout: Duration.seconds(1), mayBeCharged: false }))).toBe(true)
    }))

  it.effect("stops retrying when the budget is spent, and successes earn it back", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({
        base: "10 millis",
        jitter: false,
        maxRetries: 100,
        budget: { capacity: 20, retryCost: 5, timeoutCost: 10, successRefund: 5 }
      })
      const delays = yield* delaysOf(policy.schedule, Array.from({ length: 10 }, () => serverError))
      expect(delays).toHaveLength(4)
      expect(yield* policy.budgetLeft).toBe(0)
      yield* policy.onSuccess
      expect(yield* policy.budgetLeft).toBe(5)
    }))

  it.effect("stops after maxElapsed on the clock", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ base: "1 second", factor: 1, maxElapsed: "3 seconds", maxRetries: 100, jitter: false, budget: false })
      const attempts = yield* Ref.make(0)
      const failing = Effect.zipRight(Ref.update(attempts, (n) => n + 1), Effect.fail<CloroError>(serverError))
      const fiber = yield* Effect.fork(Effect.either(Effect.retry(failing, policy.schedule)))
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result._tag).toBe("Left")
      // attempts at 0, 1, 2 and 3 s; a retry after 3 s of retrying is past the bound
      expect(yield* Ref.get(attempts)).toBe(4)
    }))

  it.effect("never sleeps past maxElapsed, counting the delay it is about to wait and any Retry-After", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ base: "2 seconds", factor: 1, maxElapsed: "3 seconds", maxRetries: 100, jitter: false, budget: false })
      const attempts = yield* Ref.make(0)
      const failing = Effect.zipRight(Ref.update(attempts, (n) => n + 1), Effect.fail<CloroError>(serverError))
      const fiber = yield* Effect.fork(Effect.either(Effect.retry(failing, policy.schedule)))
      yield* TestClock.adjust("10 seconds")
      expect((yield* Fiber.join(fiber))._tag).toBe("Left")
      // attempts at 0 and 2 s; one at 4 s would be past the 3 s bound
      expect(yield* Ref.get(attempts)).toBe(2)
      const slow = yield* RetryPolicy.make({ maxElapsed: "10 seconds", jitter: false, budget: false })
      expect(yield* delaysOf(slow.schedule, [unavailable(8), unavailable(8)])).toEqual([8_000])
    }))

  it.effect("refuses nonsense options with a typed error", () =>
    Effect.gen(function*() {
      const bad: ReadonlyArray<RetryPolicy.RetryOptionsInput> = [{ maxRetries: -1 }, { factor: 0.5 }, { base: "-1 seconds" }, { budget: { capacity: Number.NaN } }]
      for (const options of bad) {
        const error = yield* Effect.flip(RetryPolicy.make(options))
        expect(error._tag).toBe("RetryPolicyError")
      }
    }))

  it.effect("none never retries", () =>
    Effect.gen(function*() {
      expect(yield* delaysOf(RetryPolicy.none.schedule, [serverError])).toEqual([])
    }))
})

describe("RetryPolicy knobs", () => {
  it.effect("none sends once: no retry, no requeue, no budget", () =>
    Effect.gen(function*() {
      expect(RetryPolicy.none.options).toMatchObject({ maxRetries: 0, slotRequeues: 0, resendSyncTimeouts: false })
      expect(yield* RetryPolicy.none.budgetLeft).toBeUndefined()
    }))

  it.effect("defaults: 3 slot requeues, sync timeouts not resent; options of the wrong type are refused", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make()
      expect(policy.options).toMatchObject({ slotRequeues: 3, resendSyncTimeouts: false })
      // @ts-expect-error plain JS
      expect((yield* Effect.flip(RetryPolicy.make({ resendSyncTimeouts: "yes" }))).issues).toMatchObject([
        { field: "resendSyncTimeouts" }
      ])
      expect((yield* Effect.flip(RetryPolicy.make({ maxDelay: "-5 seconds" }))).message).toContain("must not be negative")
    }))
})
