/**
 * The rate check folded into the shared semaphore's take: when both limits
 * are shared (`RedisLimits`), the script that grants a slot also records the
 * request's start in the rate limiter's sliding log and answers how long to
 * wait, so a request costs one round trip to be admitted, not two.
 *
 * The start rides with the slot to the fiber that runs the request, in a
 * `FiberRef` (used once); the rate limiter's `take` finds it there and only sleeps out
 * the wait. A start recorded for a path the request does not take (in
 * `perEndpoint` mode the semaphore guesses the process's last path) is left
 * in the log unused: it only makes later starts wait, never lets more in.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type * as Ref from "effect/Ref"

/** A start recorded with a slot's grant. */
export interface Prepaid {
  /** the sliding log it was recorded in */
  readonly log: string
  /** epoch ms (this process's clock) before which the request must not start */
  readonly readyAt: number
  /**
   * Set by the one `take` that uses it: a slot held through `permit` leaves
   * the start in the caller's fiber as well as in the fiber it forks for the
   * request, and only one of them may use it.
   */
  readonly claimed: Ref.Ref<boolean>
}

/** The start granted with the slot this fiber holds, until a `take` uses it. */
export const current: FiberRef.FiberRef<Prepaid | undefined> = FiberRef.unsafeMake<Prepaid | undefined>(undefined)

/**
 * What the semaphore needs from the rate limiter: the log, window and limit
 * to record a start in (`"<window ms> <limit> <log key>"`), or `""` to record
 * none (no path known yet, or the server said to hold off).
 */
export interface Fold {
  readonly spec: Effect.Effect<string>
}
