/**
 * The clock of a running fiber, read in that fiber's own step (inside
 * `Effect.withFiberRuntime`): the test clock under `TestClock`, as
 * `Clock.currentTimeMillis` would read it, without an effect of its own.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Fiber from "effect/Fiber"

/** The clock `Effect.clock` would give in this fiber. */
export const clockOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Clock.Clock =>
  Context.get(fiber.currentDefaultServices, Clock.Clock)

/** Milliseconds, with their fraction, of a monotonic nanosecond reading. */
export const millisOfNanos = (nanos: bigint): number => Number(nanos / BigInt(1000)) / 1000
