/**
 * The guard in front of every public client method: the per-call options
 * checked (anything outside `CallOptions` is an `InvalidRequest`), any
 * throw while building a call turned into a typed failure, and the local
 * checks of `googleGoto`, which is not an engine of the registry.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { FieldIssue, InvalidRequest } from "../../CloroError.js"
import * as GoogleGoto from "../../engines/GoogleGoto.js"
import type * as RetryPolicy from "../../RetryPolicy.js"
import * as DurationHelper from "../duration.js"
import * as FieldIssues from "./fieldIssues.js"
import * as Input from "./input.js"
import * as RequestBody from "./requestBody.js"

/** @internal */
export const invalid = (field: string, message: string) =>
  new InvalidRequest({ message: `${field}: ${message}`, source: "client", issues: [new FieldIssue({ field, message })] })

/** @internal */
export const fromEither = <A>(either: Either.Either<A, InvalidRequest>): Effect.Effect<A, InvalidRequest> =>
  Either.match(either, { onLeft: Effect.fail, onRight: Effect.succeed })

/**
 * Runs a public method on arbitrary input: whatever building or running it
 * throws (a getter or a proxy in the input, a value no validator foresaw)
 * becomes an `InvalidRequest`, so a caller always gets an `Effect` and a
 * typed failure.
 */
/** @internal */
export const guarded = <A, E>(name: string, build: () => Effect.Effect<A, E>): Effect.Effect<A, E | InvalidRequest> =>
  Input.guard(build, (cause) =>
    invalid(name, `could not be handled (${cause instanceof Error ? cause.message : Input.show(cause)})`))

/** @internal */
export const isPolicy = (value: unknown): value is RetryPolicy.RetryPolicyShape =>
  Input.isRecord(value) && Input.isRecord(value.options) && Schedule.isSchedule(value.delays) &&
  typeof value.spend === "function" && Effect.isEffect(value.onSuccess)

/** The per-call options, checked: anything outside `CallOptions` is an `InvalidRequest`. */
/** @internal */
export interface CheckedOptions {
  readonly tag: string | undefined
  readonly timeout: Duration.Duration | undefined
  readonly retry: RetryPolicy.RetryPolicyShape | undefined
  readonly unknownFields: Readonly<Record<string, unknown>> | undefined
  /** The public method the call came through (`monitor.chatgpt`), which names its span. */
  readonly operation?: string | undefined
}

/**
 * The per-call options checked, as a value: the public methods check them
 * while building the call, with no effect of their own to run.
 *
 * @internal
 */
export const checkOptionsEither = (options: unknown): Either.Either<CheckedOptions, InvalidRequest> => {
  if (options === undefined) return Either.right(noOptions)
  if (!Input.isRecord(options)) return Either.left(invalid("options", `must be an object, got ${Input.show(options)}`))
  const { retry, tag, timeout, unknownFields } = options
  if (tag !== undefined && typeof tag !== "string") {
    return Either.left(invalid("tag", `must be a string, got ${Input.show(tag)}`))
  }
  if (retry !== undefined && !isPolicy(retry)) {
    return Either.left(invalid("retry", "must be a RetryPolicy (e.g. RetryPolicy.none)"))
  }
  if (unknownFields !== undefined && !Input.isRecord(unknownFields)) {
    return Either.left(invalid("unknownFields", `must be an object of field names to JSON values, got ${Input.show(unknownFields)}`))
  }
  return Either.match(DurationHelper.decodeOptional("timeout", timeout, { zero: false, infinite: false }), {
    onLeft: (issue) => Either.left(invalid(issue.field, issue.message)),
    onRight: (checked) => Either.right({ tag, timeout: checked, retry, unknownFields })
  })
}

const noOptions: CheckedOptions = { tag: undefined, timeout: undefined, retry: undefined, unknownFields: undefined }

/** @internal */
export const validateGoto = (input: unknown): Either.Either<GoogleGoto.Request, InvalidRequest> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(GoogleGoto.Request, { errors: "all", onExcessProperty: "error" })(input),
    (error) => {
      const issues = FieldIssues.fromParseError(error)
      return new InvalidRequest({
        message: `Invalid googleGoto request: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`,
        source: "client",
        issues
      })
    }
  )

/** @internal */
export const gotoWithUnknownFields = (
  valid: GoogleGoto.Request,
  unknownFields: Readonly<Record<string, unknown>> | undefined
) =>
  Either.mapLeft(
    RequestBody.withUnknownFields(valid, unknownFields, ["url"]),
    (issues) =>
      new InvalidRequest({
        message: `Invalid googleGoto request: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`,
        source: "client",
        issues
      })
  )
