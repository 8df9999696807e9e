/**
 * Option checking shared by the limiters, the error it reports, and their bounded wait.
 *
 * @internal
 */
import * as Arr from "effect/Array"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AdmissionTimeout, FieldIssue } from "../CloroError.js"

/**
 * A limiter was given options it cannot work with (a limit below 1 or not a
 * whole number, a negative `maxWaiting`, a duration that does not parse), with
 * every problem found. Raised when the limiter is built or resized, never
 * while a request waits.
 *
 * @since 0.1.0
 */
export class LimiterConfigError extends Schema.TaggedError<LimiterConfigError>()("LimiterConfigError", {
  message: Schema.String,
  limiter: Schema.Literal("concurrency", "rate"),
  issues: Schema.Array(FieldIssue)
}) {}

/** Which limiter is being checked; it names the limiter in the error. */
export type LimiterKind = "concurrency" | "rate"

/** An absent option passes; a present one must be a whole number >= `min`. */
export const integerAtLeast = (
  field: string,
  value: number | undefined,
  min: number
): Effect.Effect<number | undefined, FieldIssue> =>
  value === undefined || (Number.isInteger(value) && value >= min)
    ? Effect.succeed(value)
    : Effect.fail(new FieldIssue({ field, message: `must be a whole number >= ${min}, got ${String(value)}` }))

/** An absent option passes; a present one must decode to a duration of the allowed kind. */
export const duration = (
  field: string,
  value: Duration.DurationInput | undefined,
  allow: { readonly zero: boolean; readonly infinite: boolean }
): Effect.Effect<Duration.Duration | undefined, FieldIssue> => {
  if (value === undefined) {
    return Effect.succeed(undefined)
  }
  // Duration quietly turns a negative or NaN input into zero; an option that
  // says "-5 seconds" is a mistake worth reporting, not a zero.
  if (isNegative(value)) {
    return Effect.fail(new FieldIssue({ field, message: `must not be negative, got ${String(value)}` }))
  }
  const decoded = Duration.decodeUnknown(value)
  if (Option.isNone(decoded)) {
    return Effect.fail(new FieldIssue({ field, message: `is not a duration: ${String(value)}` }))
  }
  if (!allow.infinite && !Duration.isFinite(decoded.value)) {
    return Effect.fail(new FieldIssue({ field, message: "must be finite" }))
  }
  if (!allow.zero && Duration.isZero(decoded.value)) {
    return Effect.fail(new FieldIssue({ field, message: "must be longer than zero" }))
  }
  return Effect.succeed(decoded.value)
}

const isNegative = (value: Duration.DurationInput): boolean => {
  if (typeof value === "number") {
    return Number.isNaN(value) || value < 0
  }
  if (typeof value === "bigint") {
    return value < BigInt(0)
  }
  if (typeof value === "string") {
    return value.trimStart().startsWith("-")
  }
  return Array.isArray(value) && value.some((part) => Number.isNaN(part) || part < 0)
}

/**
 * Turns the failures of `Effect.all(checks, { mode: "validate" })` into one
 * error that lists every issue, so a caller fixes its options in one go
 * instead of one error at a time.
 */
export const collectIssues =
  (limiter: LimiterKind) => (results: Readonly<Record<string, Option.Option<FieldIssue>>>): LimiterConfigError => {
    const issues = Arr.getSomes(Object.values(results))
    const listed = issues.map((issue) => `${issue.field} ${issue.message}`).join("; ")
    return new LimiterConfigError({
      message: `Invalid ${limiter} limiter options: ${listed}`,
      limiter,
      issues
    })
  }

/**
 * A limit a server reported, as a whole number >= 1, or undefined for
 * anything else: a proxy may mangle headers, and a bad number must never
 * shrink a limiter to nothing.
 */
export const sanitizeLimit = (limit: number | undefined): number | undefined => {
  if (limit === undefined || !Number.isFinite(limit)) {
    return undefined
  }
  const whole = Math.floor(limit)
  return whole >= 1 ? whole : undefined
}

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
