/**
 * The client's one timeout fiber (`internal/request/deadlines.ts`): every
 * exchange's timeout fires at its own deadline under `TestClock`, an answer
 * disarms it, a shorter duration armed later wakes the fiber early, and an
 * interrupt reaches the exchange only when it is not shielded.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import { Deadlines } from "../src/internal/request/deadlines.js"

const same = (context: Context.Context<never>) => context
const timedOut = () => "timed out" as const

/** An exchange that answers `value` after `millis` of the clock, recording whether it was interrupted. */
const answerAfter = (millis: number, value: string, interrupted: Ref.Ref<boolean>) =>
  Effect.as(Effect.sleep(Duration.millis(millis)), value).pipe(Effect.onInterrupt(() => Ref.set(interrupted, true)))

/** An exchange that answers `value` after `answerMillis`, under a timeout of `timeout` (no context change). */
const exchange = (
  deadlines: Deadlines,
  answerMillis: number,
  value: string,
  timeout: Duration.DurationInput,
  interrupted: Ref.Ref<boolean>,
  shielded = false
) => deadlines.exchange(answerAfter(answerMillis, value, interrupted), Duration.decode(timeout), timedOut, shielded, same)

describe("Deadlines", () => {
  it.scoped("an answer before its deadline is the outcome; one after it is a timeout that interrupts the exchange", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make
      const fastInterrupted = yield* Ref.make(false)
      const slowInterrupted = yield* Ref.make(false)
      const fast = yield* Effect.fork(exchange(deadlines, 100, "fast", Duration.seconds(1), fastInterrupted))
      const slow = yield* Effect.fork(exchange(deadlines, 5_000, "slow", Duration.seconds(1), slowInterrupted))
      yield* TestClock.adjust(Duration.millis(999))
      expect(yield* Fiber.join(fast)).toBe("fast")
      expect(slow.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* Effect.flip(Fiber.join(slow))).toBe("timed out")
      expect(yield* Ref.get(fastInterrupted)).toBe(false)
      expect(yield* Ref.get(slowInterrupted)).toBe(true)
    }))

  it.scoped("a shorter timeout armed after a longer one fires at its own deadline", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make
      const flag = yield* Ref.make(false)
      const long = yield* Effect.fork(exchange(deadlines, 60_000, "long", Duration.seconds(30), flag))
      yield* TestClock.adjust(Duration.seconds(1))
      const short = yield* Effect.fork(exchange(deadlines, 60_000, "short", Duration.seconds(2), flag))
      yield* TestClock.adjust(Duration.seconds(2))
      expect(yield* Effect.flip(Fiber.join(short))).toBe("timed out")
      expect(long.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.seconds(27))
      expect(yield* Effect.flip(Fiber.join(long))).toBe("timed out")
    }))

  it.scoped("after an idle spell the next exchange still times out", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make
      const flag = yield* Ref.make(false)
      yield* TestClock.adjust(Duration.hours(1))
      const late = yield* Effect.fork(exchange(deadlines, 60_000, "late", Duration.seconds(5), flag))
      yield* TestClock.adjust(Duration.seconds(5))
      expect(yield* Effect.flip(Fiber.join(late))).toBe("timed out")
    }))

  it.scoped("an interrupted caller interrupts an unshielded exchange at once", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make
      const interrupted = yield* Ref.make(false)
      const caller = yield* Effect.fork(exchange(deadlines, 10_000, "late", Duration.seconds(30), interrupted))
      yield* TestClock.adjust(Duration.millis(10))
      const exit = yield* Fiber.interrupt(caller)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* Ref.get(interrupted)).toBe(true)
    }))

  it.scoped("an exchange times out even when its caller runs uninterruptibly", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make
      for (const shielded of [false, true]) {
        const interrupted = yield* Ref.make(false)
        const caller = yield* Effect.fork(Effect.uninterruptible(
          exchange(deadlines, 60_000, "late", Duration.seconds(2), interrupted, shielded)
        ))
        yield* TestClock.adjust(Duration.seconds(2))
        expect(yield* Effect.flip(Fiber.join(caller))).toBe("timed out")
        expect(yield* Ref.get(interrupted)).toBe(true)
      }
    }))

  it.scoped("a shielded exchange runs to its answer though its caller was interrupted", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make
      const interrupted = yield* Ref.make(false)
      const answered = yield* Deferred.make<string>()
      const caller = yield* Effect.fork(
        deadlines.exchange(
          Effect.tap(answerAfter(500, "answer", interrupted), (value) => Deferred.succeed(answered, value)),
          Duration.seconds(30),
          timedOut,
          true,
          same
        )
      )
      yield* TestClock.adjust(Duration.millis(10))
      const interrupting = yield* Effect.fork(Fiber.interrupt(caller))
      yield* TestClock.adjust(Duration.millis(500))
      yield* Fiber.join(interrupting)
      expect(yield* Deferred.await(answered)).toBe("answer")
      expect(yield* Ref.get(interrupted)).toBe(false)
    }))

  it.scoped("the exchange's fiber starts with the context it is given", () =>
    Effect.gen(function*() {
      class Name extends Context.Tag("test/Name")<Name, string>() {}
      const deadlines = yield* Deadlines.make
      const seen = yield* deadlines.exchange(
        Effect.serviceOption(Name),
        Duration.seconds(1),
        timedOut,
        false,
        (context) => Context.add(context, Name, "named")
      )
      expect(seen._tag === "Some" ? seen.value : undefined).toBe("named")
    }))
})
