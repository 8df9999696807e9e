/**
 * Turns a non-2xx answer into a typed error. cloro's error body changed shape
 * over time (cloro-api.md §8.1), so the parser is tolerant: it reads the
 * current `{ success: false, error: { code, message, details, timestamp } }`,
 * the older string `error` with top-level `details`/`retry_after`, and bodies
 * that are not JSON at all, deciding by `error.code` first and status second.
 */
import * as Duration from "effect/Duration"
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
} from "../CloroError.js"
import type { Usage } from "../Usage.js"

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

const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

const readEnvelope = (body: string): Envelope => {
  const json = parseJson(body)
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

/**
 * The typed error for a non-2xx answer.
 */
export const fromAnswer = (answer: ErrorAnswer): ApiError => {
  const envelope = readEnvelope(answer.body)
  const { status, usage } = answer
  const code = envelope.code
  const message = envelope.message ?? statusText(status)
  const common = {
    message,
    status,
    requestId: usage.requestId,
    usage
  }
  const upper = code?.toUpperCase()

  if (upper === "CONCURRENT_LIMIT_EXCEEDED" || upper === "CONCURRENCY_LIMIT_EXCEEDED") {
    return new ConcurrentLimitExceeded({
      ...common,
      code: upper,
      limit: asCount(detail(envelope.details, "limit")) ?? usage.concurrency.limit,
      current: asCount(detail(envelope.details, "current")) ?? usage.concurrency.current,
      retryAfter: retryAfterOf(answer, envelope)
    })
  }
  if (upper === "RATE_LIMIT_EXCEEDED") {
    return new RateLimitExceeded({
      ...common,
      limit: asCount(detail(envelope.details, "limit")) ?? usage.rateLimit.limit,
      retryAfter: retryAfterOf(answer, envelope)
    })
  }
  if (upper === "QUEUE_LIMIT_EXCEEDED") {
    return new QueueLimitExceeded({
      ...common,
      limit: asCount(detail(envelope.details, "limit")) ?? asCount(detail(envelope.details, "maxQueueSize")),
      retryAfter: retryAfterOf(answer, envelope)
    })
  }
  if (upper === "INSUFFICIENT_CREDITS") return new InsufficientCredits(common)
  if (
    upper === "MISSING_API_KEY" || upper === "INVALID_API_KEY_FORMAT" || upper === "INVALID_OR_EXPIRED_API_KEY" ||
    upper === "INSUFFICIENT_PERMISSIONS"
  ) {
    return new Unauthorized({ ...common, code: upper })
  }
  if (upper === "VALIDATION_ERROR") {
    return new InvalidRequest({ ...common, source: "server", issues: readIssues(envelope.details, message) })
  }
  if (upper === "RESOURCE_NOT_FOUND") {
    return new NotFound({ ...common, id: asString(detail(envelope.details, "id")) })
  }
  if (upper === "RESOURCE_ALREADY_EXISTS" || upper === "RESOURCE_CONFLICT") {
    return new Conflict({
      ...common,
      code: upper,
      field: asString(detail(envelope.details, "field")),
      value: asString(detail(envelope.details, "value"))
    })
  }
  if (upper === "REQUEST_CANCELED" || upper === "REQUEST_CANCELLED") return new RequestCanceled(common)
  if (upper === "SERVICE_UNAVAILABLE") {
    return new ServiceUnavailable({ ...common, retryAfter: retryAfterOf(answer, envelope) })
  }
  if (upper === "INTERNAL_SERVER_ERROR" || upper === "EXTERNAL_SERVICE_ERROR") {
    return new ServerError({ ...common, code: upper, service: asString(detail(envelope.details, "service")) })
  }

  // No code we know: decide by status, as the older envelopes require.
  switch (status) {
    case 400:
    case 422:
      return new InvalidRequest({ ...common, source: "server", issues: readIssues(envelope.details, message) })
    case 401:
      return new Unauthorized({ ...common, code: code ?? "UNAUTHORIZED" })
    case 403:
      return /credit/i.test(message) ? new InsufficientCredits(common) : new Unauthorized({ ...common, code: code ?? "FORBIDDEN" })
    case 404:
      return new NotFound({ ...common, id: asString(detail(envelope.details, "id")) })
    case 409:
      return new Conflict({
        ...common,
        code: code ?? "RESOURCE_CONFLICT",
        field: asString(detail(envelope.details, "field")),
        value: asString(detail(envelope.details, "value"))
      })
    case 429: {
      // The oldest envelope (hourly limits) and unknown 429s are rate limits; a
      // concurrency 429 says so in its code, or at least in its message.
      if (/concurren/i.test(message)) {
        return new ConcurrentLimitExceeded({
          ...common,
          code: code ?? "CONCURRENT_LIMIT_EXCEEDED",
          limit: asCount(detail(envelope.details, "limit")) ?? usage.concurrency.limit,
          current: usage.concurrency.current,
          retryAfter: retryAfterOf(answer, envelope)
        })
      }
      return new RateLimitExceeded({
        ...common,
        limit: usage.rateLimit.limit,
        retryAfter: retryAfterOf(answer, envelope)
      })
    }
    case 499:
      return new RequestCanceled(common)
    case 503:
      return new ServiceUnavailable({ ...common, retryAfter: retryAfterOf(answer, envelope) })
    default:
      return status >= 500
        ? new ServerError({
          ...common,
          code: code ?? (status === 502 ? "EXTERNAL_SERVICE_ERROR" : "INTERNAL_SERVER_ERROR"),
          service: asString(detail(envelope.details, "service"))
        })
        : new UnexpectedStatus({ ...common, code })
  }
}
