/**
 * Every way a cloro call can fail, as `Schema.TaggedError`s in one union.
 *
 * Each error carries what a caller needs to act: the HTTP `status` and the
 * server's `requestId` when known, the `usage` the response headers reported,
 * and the facts of its kind (`limit`, `retryAfter`, `issues`, ...). None of them
 * ever holds the API key.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { Usage } from "./Usage.js"

/**
 * A `Duration` that travels in JSON as milliseconds (fractions kept), or the
 * string `"Infinity"`, so that every error encodes to JSON and decodes back.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const DurationMillis: Schema.Schema<Duration.Duration, number | "Infinity"> = Schema.transform(
  Schema.Union(Schema.Number.pipe(Schema.nonNegative()), Schema.Literal("Infinity")),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (millis) => (millis === "Infinity" ? Duration.infinity : Duration.millis(millis)),
    encode: (duration) => (Duration.isFinite(duration) ? Duration.toMillis(duration) : "Infinity")
  }
).annotations({ identifier: "DurationMillis", description: "A duration in milliseconds, or \"Infinity\"" })

/** Fields every error that came from (or was about) an HTTP response carries. */
const responseFields = {
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  requestId: Schema.optional(Schema.String),
  usage: Schema.optional(Usage)
}

/**
 * One problem with a request: which field and what is wrong with it.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class FieldIssue extends Schema.Class<FieldIssue>("FieldIssue")({
  field: Schema.String,
  message: Schema.String
}) {}

/**
 * 429 `CONCURRENT_LIMIT_EXCEEDED` (newer docs: `CONCURRENCY_LIMIT_EXCEEDED`):
 * more requests on `/v1/monitor/*` at once than the plan allows. A slot frees
 * when one of the account's requests ends, so waiting for a slot beats sleeping.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ConcurrentLimitExceeded extends Schema.TaggedError<ConcurrentLimitExceeded>()(
  "ConcurrentLimitExceeded",
  {
    ...responseFields,
    code: Schema.String,
    limit: Schema.optional(Schema.Number),
    current: Schema.optional(Schema.Number),
    retryAfter: Schema.optional(DurationMillis)
  }
) {}

/**
 * 429 `RATE_LIMIT_EXCEEDED`: more requests per second than the account allows.
 *
 * @since 0.1.0
 * @category Errors
 */
export class RateLimitExceeded extends Schema.TaggedError<RateLimitExceeded>()("RateLimitExceeded", {
  ...responseFields,
  limit: Schema.optional(Schema.Number),
  retryAfter: Schema.optional(DurationMillis)
}) {}

/**
 * 429 `QUEUE_LIMIT_EXCEEDED`: the async queue holds its maximum of QUEUED tasks.
 *
 * @since 0.1.0
 * @category Errors
 */
export class QueueLimitExceeded extends Schema.TaggedError<QueueLimitExceeded>()("QueueLimitExceeded", {
  ...responseFields,
  limit: Schema.optional(Schema.Number),
  retryAfter: Schema.optional(DurationMillis)
}) {}

/**
 * 403 `INSUFFICIENT_CREDITS`: the balance cannot pay for the request.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InsufficientCredits extends Schema.TaggedError<InsufficientCredits>()("InsufficientCredits", {
  ...responseFields
}) {}

/**
 * 401 (`MISSING_API_KEY`, `INVALID_API_KEY_FORMAT`, `INVALID_OR_EXPIRED_API_KEY`)
 * and the legacy 403 `INSUFFICIENT_PERMISSIONS`.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  ...responseFields,
  code: Schema.String
}) {}

/**
 * A request cloro would refuse (400/422 `VALIDATION_ERROR`), or that the client
 * refused before sending it (`source: "client"`), with every issue found.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  ...responseFields,
  source: Schema.Literal("client", "server"),
  issues: Schema.Array(FieldIssue)
}) {}

/**
 * 404 `RESOURCE_NOT_FOUND`: an unknown route, or a task that never existed or expired.
 *
 * @since 0.1.0
 * @category Errors
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  ...responseFields,
  id: Schema.optional(Schema.String)
}) {}

/**
 * 409 `RESOURCE_ALREADY_EXISTS` (an idempotency key reused) or the legacy `RESOURCE_CONFLICT`.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  ...responseFields,
  code: Schema.String,
  field: Schema.optional(Schema.String),
  value: Schema.optional(Schema.String)
}) {}

/**
 * 499 `REQUEST_CANCELED`: the connection closed before cloro answered.
 *
 * @since 0.1.0
 * @category Errors
 */
export class RequestCanceled extends Schema.TaggedError<RequestCanceled>()("RequestCanceled", {
  ...responseFields
}) {}

/**
 * 5xx other than 503: `INTERNAL_SERVER_ERROR` (500) or `EXTERNAL_SERVICE_ERROR`
 * (502, with the upstream `service`).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ServerError extends Schema.TaggedError<ServerError>()("ServerError", {
  ...responseFields,
  code: Schema.String,
  service: Schema.optional(Schema.String)
}) {}

/**
 * 503 `SERVICE_UNAVAILABLE`, with the server's `Retry-After`.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  ...responseFields,
  retryAfter: Schema.optional(DurationMillis)
}) {}

/**
 * Any other 4xx the API does not document; kept typed with its status and code.
 *
 * @since 0.1.0
 * @category Errors
 */
export class UnexpectedStatus extends Schema.TaggedError<UnexpectedStatus>()("UnexpectedStatus", {
  ...responseFields,
  code: Schema.optional(Schema.String)
}) {}

/**
 * The request never got a whole HTTP answer: DNS, connection refused or reset,
 * TLS, a body cut off. `mayBeCharged` is true for a sync monitor call that was
 * already handed to the transport when the connection failed (anything but a
 * failure to connect, or a request that could not be built): cloro may have
 * received it and may bill it, so the `Credits` ledger counts its estimate as
 * `mayBeCharged`, apart from `spent`, as for a `Timeout`. A call refused
 * before anything was written (connection refused, DNS, TLS) is false: free.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  message: Schema.String,
  method: Schema.String,
  path: Schema.String,
  /** @since 0.4.0 */
  mayBeCharged: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/**
 * No answer within the configured timeout. The request was sent, so cloro may
 * have acted on it: `mayBeCharged` is true for a sync monitor call, which cloro
 * keeps running and may bill although nobody reads the answer. The `Credits`
 * ledger counts such a call's estimate as `mayBeCharged`, apart from `spent`.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  message: Schema.String,
  method: Schema.String,
  path: Schema.String,
  timeout: DurationMillis,
  /** @since 0.3.0 */
  mayBeCharged: Schema.Boolean
}) {}

/**
 * A 2xx body that does not match the documented shape, with a readable account
 * of what did not match. The answer was paid for, so the error keeps it:
 * `body` is the raw text (its first MiB; `bodyTruncated` says when it was
 * longer) and `usage` what the headers reported, credits charged included.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ResponseDecodeError extends Schema.TaggedError<ResponseDecodeError>()("ResponseDecodeError", {
  ...responseFields,
  path: Schema.String,
  description: Schema.String,
  body: Schema.optional(Schema.String),
  bodyTruncated: Schema.optional(Schema.Boolean)
}) {}

/**
 * Refused before sending: the request's estimated cost would take spend over
 * the budget, or the known balance below zero.
 *
 * @since 0.1.0
 * @category Errors
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  message: Schema.String,
  estimate: Schema.Number,
  spent: Schema.Number,
  reserved: Schema.Number,
  budget: Schema.optional(Schema.Number),
  balance: Schema.optional(Schema.Number),
  tag: Schema.optional(Schema.String)
}) {}

/**
 * A request waited longer than the configured maximum for a concurrency slot
 * or a rate-limit token.
 *
 * @since 0.1.0
 * @category Errors
 */
export class AdmissionTimeout extends Schema.TaggedError<AdmissionTimeout>()("AdmissionTimeout", {
  message: Schema.String,
  limiter: Schema.Literal("concurrency", "rate"),
  waited: DurationMillis
}) {}

/**
 * A request found the limiter's waiting line already at its maximum length.
 *
 * @since 0.1.0
 * @category Errors
 */
export class AdmissionQueueFull extends Schema.TaggedError<AdmissionQueueFull>()("AdmissionQueueFull", {
  message: Schema.String,
  limiter: Schema.Literal("concurrency", "rate"),
  maxWaiting: Schema.Number
}) {}

/**
 * A shared limiter (concurrency, rate or credits kept in Redis) could not be
 * reached, so the request was refused before anything was sent: without the
 * shared count, sending could overshoot the account's limits. Nothing was
 * spent; the request can be tried again once the store is back.
 *
 * @since 0.2.0
 * @category Errors
 */
export class LimiterUnavailable extends Schema.TaggedError<LimiterUnavailable>()("LimiterUnavailable", {
  message: Schema.String,
  limiter: Schema.Literal("concurrency", "rate", "credits", "journal", "webhooks"),
  /** the store's own words (connection refused, timeout, ...) */
  reason: Schema.String
}) {}

/**
 * The errors that come from cloro's answers (or their absence).
 *
 * @since 0.1.0
 * @category Models
 */
export type ApiError =
  | ConcurrentLimitExceeded
  | RateLimitExceeded
  | QueueLimitExceeded
  | InsufficientCredits
  | Unauthorized
  | InvalidRequest
  | NotFound
  | Conflict
  | RequestCanceled
  | ServerError
  | ServiceUnavailable
  | UnexpectedStatus
  | TransportError
  | Timeout
  | ResponseDecodeError

/**
 * Every failure a `CloroClient` call can end with.
 *
 * @since 0.1.0
 * @category Models
 */
export type CloroError =
  | ApiError
  | BudgetExceeded
  | AdmissionTimeout
  | AdmissionQueueFull
  | LimiterUnavailable

/**
 * The schema of the `CloroError` union, for encoding errors across process
 * boundaries (a queue, a log store, an RPC).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CloroError = Schema.Union(
  ConcurrentLimitExceeded,
  RateLimitExceeded,
  QueueLimitExceeded,
  InsufficientCredits,
  Unauthorized,
  InvalidRequest,
  NotFound,
  Conflict,
  RequestCanceled,
  ServerError,
  ServiceUnavailable,
  UnexpectedStatus,
  TransportError,
  Timeout,
  ResponseDecodeError,
  BudgetExceeded,
  AdmissionTimeout,
  AdmissionQueueFull,
  LimiterUnavailable
)
