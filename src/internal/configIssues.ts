/**
 * The one shape of every config error (`CloroConfigError`, `CreditsConfigError`,
 * `LimiterConfigError`, `RedisConfigError`, ...): `{ message, issues }`, one
 * `FieldIssue` per bad option (its `field` the option's name or dotted path),
 * and a message that lists them all, so that a log line alone says what to fix.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { FieldIssue } from "../CloroError.js"
import * as DurationHelper from "./duration.js"
import * as Input from "./request/input.js"

/** The fields every config error class declares. */
export const fields = {
  message: Schema.String,
  issues: Schema.Array(FieldIssue)
}

/** What a config error class is built from. */
export interface Fields {
  readonly message: string
  readonly issues: ReadonlyArray<FieldIssue>
}

/** `what` names the options in the message: `Invalid <what> options: field message; ...`. */
export const fromIssues = (what: string, issues: ReadonlyArray<FieldIssue>): Fields => ({
  message: `Invalid ${what} options: ${issues.map(DurationHelper.describe).join("; ")}`,
  issues
})

/** One bad option. */
export const one = (what: string, field: string, message: string): Fields =>
  fromIssues(what, [new FieldIssue({ field, message })])

/**
 * Options as given, or `{}` when absent; anything but an object is one issue
 * on `options`.
 */
export const options = <E>(
  what: string,
  value: unknown,
  make: (fields: Fields) => E
): Effect.Effect<Readonly<Record<string, unknown>>, E> =>
  Input.options(value, () => make(one(what, "options", `must be an object, got ${Input.show(value)}`)))

/** What reading options that throw (a getter, a proxy) reports, on `options`. */
export const unreadable = (what: string, cause: unknown): Fields =>
  one(what, "options", `could not be read (${Input.show(cause)})`)
