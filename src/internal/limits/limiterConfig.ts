/**
 * Option checking shared by the limiters, the error it reports, and their bounded wait.
 *
 * @internal
 */
import * as Arr from "effect/Array"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AdmissionTimeout, FieldIssue } from "../../CloroError.js"
import * as ConfigIssues from "../configIssues.js"
import * as DurationHelper from "../duration.js"
import * as Input from "../request/input.js"
import { show } from "../request/input.js"

/**
 * A limiter was given options it cannot work with (a limit below 1 or not a
 * whole number, a negative `maxWaiting`, a duration that does not parse), with
 * every problem found. Raised when the limiter is built or resized, never
 * while a request waits.
 *
 * @since 0.1.0
 */
export class LimiterConfigError extends Schema.TaggedError<LimiterConfigError>()("LimiterConfigError", {
  ...ConfigIssues.fields,
  limiter: Schema.Literal("concurrency", "rate")
}) {}

/** Which limiter is being checked; it names the limiter in the error. */
export type LimiterKind = "concurrency" | "rate"

/** An absent option passes; a present one must be a whole number >= `min`. */
export const integerAtLeast = (
  field: string,
  value: unknown,
  min: number
): Effect.Effect<number | undefined, FieldIssue> =>
  value === undefined || (typeof value === "number" && Number.isInteger(value) && value >= min)
    ? Effect.succeed(value)
    : Effect.fail(new FieldIssue({ field, message: `must be a whole number >= ${min}, got ${show(value)}` }))

/** An absent option passes; a present one must decode to a duration of the allowed kind (see `duration.ts`). */
export const duration = (
  field: string,
  value: unknown,
  allow: DurationHelper.Allow
): Effect.Effect<Duration.Duration | undefined, FieldIssue> => Either.match(DurationHelper.decodeOptional(field, value, allow), {
  onLeft: Effect.fail,
  onRight: Effect.succeed
})

/**
 * Turns the failures of `Effect.all(checks, { mode: "validate" })` into one
 * error that lists every issue, so a caller fixes its options in one go
 * instead of one error at a time.
 */
export const collectIssues =
  (limiter: LimiterKind) => (results: Readonly<Record<string, Option.Option<FieldIssue>>>): LimiterConfigError => {
    const issues = Arr.getSomes(Object.values(results))
    return new LimiterConfigError({ ...ConfigIssues.fromIssues(`${limiter} limiter`, issues), limiter })
  }

/**
 * A limit a server reported, as a whole number >= 1, or undefined for
 * anything else: a proxy may mangle headers, and a bad number must never
 * shrink a limiter to nothing.
 */
export const sanitizeLimit = (limit: unknown): number | undefined => {
  if (typeof limit !== "number" || !Number.isFinite(limit)) {
    return undefined
  }
  const whole = Math.floor(limit)
  return whole >= 1 ? whole : undefined
}

/**
 * A reported limit kept within `[min, max]`: a header is a hint from the
 * network, and one saying 1,000,000,000 or 1 must not open the floodgates or
 * stall every call.
 */
export const clampLearned = (limit: number, bounds: { readonly min: number; readonly max: number }): number =>
  Math.min(bounds.max, Math.max(bounds.min, limit))

/** Options given as anything but an object are reported as one issue. */
export const optionsOf = (
  limiter: LimiterKind,
  value: unknown
): Effect.Effect<Readonly<Record<string, unknown>>, LimiterConfigError> =>
  ConfigIssues.options(`${limiter} limiter`, value, (fields) => new LimiterConfigError({ ...fields, limiter }))

/** Builds a limiter from options any JS value may stand for: whatever reading them throws fails typed. */
export const guardOptions = <A, E, R>(
  limiter: LimiterKind,
  build: () => Effect.Effect<A, E, R>
): Effect.Effect<A, E | LimiterConfigError, R> =>
  Input.guard(build, (cause) => new LimiterConfigError({ ...ConfigIssues.unreadable(`${limiter} limiter`, cause), limiter }))

/**
 * Waits for a waiter's turn, failing with `AdmissionTimeout` after `maxWait`
 * when one is set. `what` names what was waited for in the message.
 */
export const awaitTurn = (
  limiter: LimiterKind,
  what: string,
  maxWait: Duration.Duration | undefined
) =>
(deferred: Deferred.Deferred<void>): Effect.Effect<void, AdmissionTimeout> =>
  maxWait === undefined
    ? Deferred.await(deferred)
    : Effect.timeoutFail(Deferred.await(deferred), {
      duration: maxWait,
      onTimeout: () => new AdmissionTimeout({ message: `Waited too long for ${what}`, limiter, waited: maxWait })
    })
