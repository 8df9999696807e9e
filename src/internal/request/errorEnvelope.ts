/**
 * Turns a non-2xx answer into a typed error. cloro's error body changed shape
 * over time (cloro-api.md §8.1), so the parser is tolerant: it reads the
 * current `{ success: false, error: { code, message, details, timestamp } }`,
 * the older string `error` with top-level `details`/`retry_after`, and bodies
 * that are not JSON at all, deciding by `error.code` first and status second.
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import {
  type ApiError,
  ConcurrentLimitExceeded,
  Conflict,
  FieldIssue,
  InsufficientCredits,
  InvalidRequest,
  NotFound,
  QueueLimitExceeded,
  RateLimitExceeded,
  RequestCanceled,
  ServerError,
  ServiceUnavailable,
  Unauthorized,
  UnexpectedStatus
} from "../../CloroError.js"
import type { Usage } from "../../Usage.js"

/** What the parser needs to know about one answer. */
export interface ErrorAnswer {
  readonly status: number
  readonly body: string
  readonly usage: Usage
  /** `Retry-After` already converted to milliseconds, when the answer had one. */
  readonly retryAfterMillis: number | undefined
}

/** The fields of an error body, whichever envelope it came in. */
interface Envelope {
  readonly code: string | undefined
  readonly message: string | undefined
  readonly details: unknown
  readonly retryAfterSeconds: number | undefined
}

const asString = (u: unknown): string | undefined => (typeof u === "string" && u.length > 0 ? u : undefined)

const asCount = (u: unknown): number | undefined =>
  typeof u === "number" && Number.isFinite(u) && u >= 0
    ? u
    : typeof u === "string" && /^\d{1,15}$/.test(u)
    ? Number(u)
    : undefined

/** The body as JSON, or why it is not JSON. Shared with the HTTP exchange. */
export const parseJson = (text: string): Either.Either<unknown, string> =>
  Either.try({
    try: (): unknown => JSON.parse(text),
    catch: (error) => (error instanceof Error ? error.message : String(error))
  })
const readEnvelope = (body: string): Envelope => {
  const json = Either.getOrUndefined(parseJson(body))
  if (!Predicate.isRecord(json)) {
    return { code: undefined, message: undefined, details: undefined, retryAfterSeconds: undefined }
  }
  const error = json.error
  const retryAfterSeconds = asCount(json.retry_after) ?? asCount(json.retryAfter)
  if (Predicate.isRecord(error)) {
    return {
      code: asString(error.code),
      message: asString(error.message),
      details: error.details ?? json.details,
      retryAfterSeconds
    }
  }
  return {
    code: asString(json.code),
    message: asString(error) ?? asString(json.message),
    details: json.details,
    retryAfterSeconds
  }
}

/** Reads `[{field, message}]`, `{errors: [...]}` or a single `{field, message}` into issues. */
const readIssues = (details: unknown, fallback: string): Array<FieldIssue> => {
  const list = Array.isArray(details)
    ? details
    : Predicate.isRecord(details) && Array.isArray(details.errors)
    ? details.errors
    : Predicate.isRecord(details) && "field" in details
    ? [details]
    : []
  const issues = list.flatMap((item: unknown) =>
    Predicate.isRecord(item)
      ? [
        new FieldIssue({
          field: asString(item.field) ?? asString(item.path) ?? "(body)",
          message: asString(item.message) ?? "is invalid"
        })
      ]
      : []
  )
  return issues.length > 0 ? issues : [new FieldIssue({ field: "(body)", message: fallback })]
}

const detail = (details: unknown, key: string): unknown => (Predicate.isRecord(details) ? details[key] : undefined)

const retryAfterOf = (answer: ErrorAnswer, envelope: Envelope): Duration.Duration | undefined => {
  const millis = answer.retryAfterMillis ?? (envelope.retryAfterSeconds !== undefined
    ? envelope.retryAfterSeconds * 1000
    : undefined)
  return millis === undefined ? undefined : Duration.millis(millis)
}

const statusText = (status: number): string => `HTTP ${status}`

/** Which typed error an answer becomes. */
type Kind =
  | "concurrency"
  | "rate"
  | "queue"
  | "credits"
  | "auth"
  | "validation"
  | "notFound"
  | "conflict"
  | "canceled"
  | "unavailable"
  | "server"
  | "unexpected"

/** The documented codes (both spellings where cloro renamed one). */
const kindOfCode: Readonly<Record<string, Kind>> = {
  CONCURRENT_LIMIT_EXCEEDED: "concurrency",
  CONCURRENCY_LIMIT_EXCEEDED: "concurrency",
  RATE_LIMIT_EXCEEDED: "rate",
  QUEUE_LIMIT_EXCEEDED: "queue",
  INSUFFICIENT_CREDITS: "credits",
  MISSING_API_KEY: "auth",
  INVALID_API_KEY_FORMAT: "auth",
  INVALID_OR_EXPIRED_API_KEY: "auth",
  INSUFFICIENT_PERMISSIONS: "auth",
  VALIDATION_ERROR: "validation",
  RESOURCE_NOT_FOUND: "notFound",
  RESOURCE_ALREADY_EXISTS: "conflict",
  RESOURCE_CONFLICT: "conflict",
  REQUEST_CANCELED: "canceled",
  REQUEST_CANCELLED: "canceled",
  SERVICE_UNAVAILABLE: "unavailable",
  INTERNAL_SERVER_ERROR: "server",
  EXTERNAL_SERVICE_ERROR: "server"
}

/** No code we know: decide by status, as the older envelopes require. */
const kindOfStatus = (status: number, message: string): Kind => {
  switch (status) {
    case 400:
    case 422:
      return "validation"
    case 401:
      return "auth"
    case 403:
      return /credit/i.test(message) ? "credits" : "auth"
    case 404:
      return "notFound"
    case 409:
      return "conflict"
    case 429:
      // The oldest envelope (hourly limits) and unknown 429s are rate limits; a
      // concurrency 429 says so in its code, or at least in its message.
      return /concurren/i.test(message) ? "concurrency" : "rate"
    case 499:
      return "canceled"
    case 503:
      return "unavailable"
    default:
      return status >= 500 ? "server" : "unexpected"
  }
}

/** The code an error carries when the body named none. */
const fallbackCode = (kind: Kind, status: number): string | undefined => {
  switch (kind) {
    case "concurrency":
      return "CONCURRENT_LIMIT_EXCEEDED"
    case "auth":
      return status === 403 ? "FORBIDDEN" : "UNAUTHORIZED"
    case "conflict":
      return "RESOURCE_CONFLICT"
    case "server":
      return status === 502 ? "EXTERNAL_SERVICE_ERROR" : "INTERNAL_SERVER_ERROR"
    default:
      return undefined
  }
}

/**
 * The typed error for a non-2xx answer.
 */
export const fromAnswer = (answer: ErrorAnswer): ApiError => {
  const envelope = readEnvelope(answer.body)
  const { status, usage } = answer
  const message = envelope.message ?? statusText(status)
  const common = { message, status, requestId: usage.requestId, usage }
  const upper = envelope.code?.toUpperCase()
  const known = upper === undefined ? undefined : kindOfCode[upper]
  const kind = known ?? kindOfStatus(status, message)
  // A documented code is kept as spelled upper-case; an unknown one as sent.
  const code = (known === undefined ? envelope.code : upper) ?? fallbackCode(kind, status)
  const details = envelope.details
  const retryAfter = retryAfterOf(answer, envelope)

  switch (kind) {
    case "concurrency":
      return new ConcurrentLimitExceeded({
        ...common,
        code: code ?? "CONCURRENT_LIMIT_EXCEEDED",
        limit: asCount(detail(details, "limit")) ?? usage.concurrency.limit,
        current: asCount(detail(details, "current")) ?? usage.concurrency.current,
        retryAfter
      })
    case "rate":
      return new RateLimitExceeded({
        ...common,
        limit: asCount(detail(details, "limit")) ?? usage.rateLimit.limit,
        retryAfter
      })
    case "queue":
      return new QueueLimitExceeded({
        ...common,
        limit: asCount(detail(details, "limit")) ?? asCount(detail(details, "maxQueueSize")),
        retryAfter
      })
    case "credits":
      return new InsufficientCredits(common)
    case "auth":
      return new Unauthorized({ ...common, code: code ?? "UNAUTHORIZED" })
    case "validation":
      return new InvalidRequest({ ...common, source: "server", issues: readIssues(details, message) })
    case "notFound":
      return new NotFound({ ...common, id: asString(detail(details, "id")) })
    case "conflict":
      return new Conflict({
        ...common,
        code: code ?? "RESOURCE_CONFLICT",
        field: asString(detail(details, "field")),
        value: asString(detail(details, "value"))
      })
    case "canceled":
      return new RequestCanceled(common)
    case "unavailable":
      return new ServiceUnavailable({ ...common, retryAfter })
    case "server":
      return new ServerError({ ...common, code: code ?? "INTERNAL_SERVER_ERROR", service: asString(detail(details, "service")) })
    case "unexpected":
      return new UnexpectedStatus({ ...common, code })
  }
}

/**
 * The most of an undecodable 2xx body a `ResponseDecodeError` keeps, in
 * characters: enough for any answer seen so far, bounded for memory and logs.
 */
export const maxKeptBody = 1_048_576

/** The raw body a `ResponseDecodeError` carries, so that a paid answer is not lost. */
export const keptBody = (text: string): { readonly body: string; readonly bodyTruncated: boolean } =>
  text.length > maxKeptBody
    ? { body: text.slice(0, maxKeptBody), bodyTruncated: true }
    : { body: text, bodyTruncated: false }
