/**
 * The one way every option of this library reads a duration, and the one
 * error shape it reports: a `FieldIssue` naming the option.
 *
 * `Duration.decodeUnknown` quietly turns a negative or NaN input into zero;
 * an option that says "-5 seconds" is a mistake to report, never a zero.
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { FieldIssue } from "../CloroError.js"
import { show } from "./request/input.js"

/** What a setting accepts besides a positive, finite duration. */
export interface Allow {
  /** Whether zero is accepted. */
  readonly zero: boolean
  /** Whether `Duration.infinity` (or `Infinity`) is accepted. */
  readonly infinite: boolean
}

const isNegative = (value: unknown): boolean => {
  if (typeof value === "number") return Number.isNaN(value) || value < 0
  if (typeof value === "bigint") return value < BigInt(0)
  if (typeof value === "string") return value.trimStart().startsWith("-")
  return Array.isArray(value) && value.some((part) => typeof part !== "number" || Number.isNaN(part) || part < 0)
}

/** Reads `value` (any JS value) as a duration of the allowed kind, or names what is wrong with it. */
export const decode = (field: string, value: unknown, allow: Allow): Either.Either<Duration.Duration, FieldIssue> => {
  const refuse = (message: string) => Either.left(new FieldIssue({ field, message }))
  if (isNegative(value)) return refuse(`must not be negative, got ${show(value)}`)
  const decoded = Duration.decodeUnknown(value)
  if (Option.isNone(decoded)) return refuse(`is not a duration (e.g. "30 seconds"), got ${show(value)}`)
  if (!allow.infinite && !Duration.isFinite(decoded.value)) return refuse("must be finite")
  if (!allow.zero && Duration.isZero(decoded.value)) return refuse("must be longer than zero")
  return Either.right(decoded.value)
}

/** `decode`, where an absent value (`undefined`) passes as `undefined`. */
export const decodeOptional = (
  field: string,
  value: unknown,
  allow: Allow
): Either.Either<Duration.Duration | undefined, FieldIssue> =>
  value === undefined ? Either.right(undefined) : decode(field, value, allow)

/** The issue as one line: `field message`. */
export const describe = (issue: FieldIssue): string => `${issue.field} ${issue.message}`
