/**
 * Verification of one delivery: the headers read tolerantly, the signature
 * (any `v1=` entry against any secret, in constant time, through
 * `signature.ts`), the timestamp against the `Clock`, and the body decoded
 * into a finished task. `Webhooks.verify` and `decode` are these.
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Task from "../../Task.js"
import type { Secrets, VerifyOptions, WebhookError, WebhookEvent } from "../../Webhooks.js"
import { WebhookPayloadInvalid, WebhookSignatureInvalid, WebhookTimestampStale } from "./errors.js"
import * as Signature from "./signature.js"

/** @internal */
export const headerNames = {
  signature: "X-Cloro-Signature",
  timestamp: "X-Cloro-Timestamp",
  webhookId: "X-Cloro-Webhook-Id"
} as const

/** @internal */
export const defaultToleranceSeconds = 300

/** @internal */
export const header = (headers: Headers.Headers, name: string): string | undefined =>
  Option.getOrUndefined(Headers.get(headers, name))

/**
 * Headers from whatever a caller passes: a record, `Headers`, or pairs.
 * Values that are not strings (or arrays of strings) are skipped rather than
 * trusted, so that a wrong-shaped input reads as a missing header, never a crash.
 */
export const headersOf = (input: unknown): Headers.Headers => {
  const out: Record<string, string> = {}
  const put = (name: unknown, value: unknown) => {
    if (!Predicate.isString(name)) return
    if (Predicate.isString(value)) out[name.toLowerCase()] = value
    else if (Array.isArray(value) && value.every(Predicate.isString)) out[name.toLowerCase()] = value.join(", ")
  }
  try {
    if (Predicate.isIterable(input) && !Predicate.isString(input)) {
      for (const pair of input) if (Array.isArray(pair)) put(pair[0], pair[1])
    } else if (Predicate.isRecord(input)) {
      for (const [name, value] of Object.entries(input)) put(name, value)
    }
  } catch {
    // an iterable that throws gives the headers read so far
  }
  return Headers.unsafeFromRecord(out)
}

/** A body as bytes or text, or `undefined` for anything else. */
const bodyOf = (input: unknown): string | Uint8Array | undefined =>
  Predicate.isString(input) || input instanceof Uint8Array ? input : undefined

/** The secrets that can verify anything: non-empty strings or `Redacted` strings. */
export const usableSecrets = (input: unknown): ReadonlyArray<string> => {
  const one = (secret: unknown): ReadonlyArray<string> => {
    const value = Redacted.isRedacted(secret) ? Redacted.value(secret) : secret
    return Predicate.isString(value) && value.length > 0 ? [value] : []
  }
  return Array.isArray(input) ? input.flatMap(one) : one(input)
}

const attemptOf = (webhookId: string | undefined, taskId: string): number | undefined => {
  const rest = webhookId?.startsWith(`${taskId}-`) ? webhookId.slice(taskId.length + 1) : undefined
  return rest !== undefined && /^\d{1,9}$/.test(rest) ? Number(rest) : undefined
}

const decodeBody = Schema.decodeUnknownEither(Schema.parseJson(Task.TaskStatusResponse), { errors: "all" })

const textDecoder = new TextDecoder()

const decodeEvent = (
  rawBody: string | Uint8Array,
  meta: { readonly webhookId: string | undefined; readonly timestamp: number | undefined; readonly verified: boolean }
): Either.Either<WebhookEvent, WebhookPayloadInvalid> => {
  const webhookId = meta.webhookId !== undefined ? { webhookId: meta.webhookId } : {}
  const invalid = (description: string) =>
    new WebhookPayloadInvalid({ message: "The webhook body is not a finished cloro task", description, ...webhookId })
  return decodeBody(typeof rawBody === "string" ? rawBody : textDecoder.decode(rawBody)).pipe(
    Either.mapLeft((error) => invalid(ParseResult.TreeFormatter.formatErrorSync(error))),
    Either.flatMap((state) => {
      // cloro delivers only finished tasks; anything else is not a delivery
      if (!Task.isFinished(state)) return Either.left(invalid(`A delivery carries a finished task, got status ${state.status}`))
      const attempt = attemptOf(meta.webhookId, state.task.id)
      return Either.right({
        state,
        ...webhookId,
        ...(attempt !== undefined ? { attempt } : {}),
        ...(meta.timestamp !== undefined ? { timestamp: meta.timestamp } : {}),
        verified: meta.verified
      })
    })
  )
}

const checkSignature = (
  secrets: Secrets,
  headers: Headers.Headers,
  rawBody: string | Uint8Array,
  webhookId: string | undefined
): Either.Either<number, WebhookSignatureInvalid> => {
  const refuse = (reason: WebhookSignatureInvalid["reason"], message: string) =>
    Either.left(new WebhookSignatureInvalid({ reason, message, ...(webhookId !== undefined ? { webhookId } : {}) }))
  const signatureHeader = header(headers, headerNames.signature)
  if (signatureHeader === undefined) return refuse("MissingSignature", `The ${headerNames.signature} header is missing`)
  const timestampHeader = header(headers, headerNames.timestamp)
  if (timestampHeader === undefined) return refuse("MissingTimestamp", `The ${headerNames.timestamp} header is missing`)
  const timestamp = Signature.parseTimestamp(timestampHeader)
  if (timestamp === undefined) {
    return refuse("MalformedTimestamp", `The ${headerNames.timestamp} header is not unix seconds`)
  }
  const { malformed, signatures } = Signature.parse(signatureHeader)
  if (signatures.length === 0) {
    return refuse(
      "MalformedSignature",
      `The ${headerNames.signature} header holds no v1=<hex SHA-256> signature` +
        (malformed > 0 ? ` (${malformed} malformed)` : "")
    )
  }
  // Anyone can sign with an empty key, so an empty secret (an unset variable, say) verifies nothing.
  const keys = usableSecrets(secrets)
  if (keys.length === 0) return refuse("Mismatch", "No webhook secret is configured (the secret is empty)")
  const expected = keys.map((secret) => Signature.digest(secret, timestamp, rawBody))
  return Signature.matchesAny(expected, signatures)
    ? Either.right(timestamp)
    : refuse("Mismatch", "No signature matches the body and timestamp with the configured secret")
}

/** @internal */
export const toleranceOf = (options: VerifyOptions): number =>
  Predicate.isNumber(options.toleranceSeconds) && Number.isFinite(options.toleranceSeconds) && options.toleranceSeconds >= 0
    ? options.toleranceSeconds
    : defaultToleranceSeconds

/** @internal */
export const verify = (
  secret: Secrets,
  headers: Headers.Input,
  rawBody: string | Uint8Array,
  options: VerifyOptions
): Effect.Effect<WebhookEvent, WebhookError> =>
  Effect.gen(function*() {
    const all = headersOf(headers)
    const webhookId = header(all, headerNames.webhookId)
    const body = bodyOf(rawBody)
    if (body === undefined) {
      return yield* new WebhookPayloadInvalid({
        message: "The webhook body is not a finished cloro task",
        description: "rawBody must be the received bytes (a string or a Uint8Array)",
        ...(webhookId !== undefined ? { webhookId } : {})
      })
    }
    const timestamp = yield* checkSignature(secret, all, body, webhookId)
    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const toleranceSeconds = toleranceOf(Predicate.isRecord(options) ? options : {})
    if (Math.abs(now - timestamp) > toleranceSeconds) {
      return yield* new WebhookTimestampStale({
        message: `The delivery was signed ${Math.abs(now - timestamp)}s ${
          timestamp < now ? "ago" : "in the future"
        }, beyond the ${toleranceSeconds}s tolerance`,
        timestamp,
        now,
        toleranceSeconds,
        ...(webhookId !== undefined ? { webhookId } : {})
      })
    }
    return yield* decodeEvent(body, { webhookId, timestamp, verified: true })
  }).pipe(Effect.withSpan("Webhooks.verify"))

/** @internal */
export const decode = (
  headers: Headers.Input,
  rawBody: string | Uint8Array
): Effect.Effect<WebhookEvent, WebhookPayloadInvalid> =>
  Effect.suspend(() => {
    const all = headersOf(headers)
    const timestamp = header(all, headerNames.timestamp)
    const body = bodyOf(rawBody)
    if (body === undefined) {
      return Effect.fail(
        new WebhookPayloadInvalid({
          message: "The webhook body is not a finished cloro task",
          description: "rawBody must be the received bytes (a string or a Uint8Array)"
        })
      )
    }
    return decodeEvent(body, {
      webhookId: header(all, headerNames.webhookId),
      timestamp: timestamp !== undefined ? Signature.parseTimestamp(timestamp) : undefined,
      verified: false
    })
  })
