/**
 * What cloro's response headers say about the account: rate limit, credits,
 * concurrency, the request id and the server's own latency.
 *
 * Every field is optional: cloro sends each header only on some endpoints, has
 * renamed some (`X-Concurrent-*` became `X-Concurrency-*`), and a proxy may
 * strip or mangle them. A missing or malformed header is an absent field,
 * never a failure.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as Schema from "effect/Schema"

/**
 * The per-second request allowance, from `X-RateLimit-Limit` and `X-RateLimit-Remaining`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class RateLimitUsage extends Schema.Class<RateLimitUsage>("RateLimitUsage")({
  limit: Schema.optional(Schema.Number),
  remaining: Schema.optional(Schema.Number)
}) {}

/**
 * Credits charged for this request and left on the account, from `X-Credits-*`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class CreditsUsage extends Schema.Class<CreditsUsage>("CreditsUsage")({
  charged: Schema.optional(Schema.Number),
  remaining: Schema.optional(Schema.Number)
}) {}

/**
 * The plan's concurrent-request cap and its use, from `X-Concurrency-*` or the
 * older `X-Concurrent-*` spelling.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class ConcurrencyUsage extends Schema.Class<ConcurrencyUsage>("ConcurrencyUsage")({
  limit: Schema.optional(Schema.Number),
  current: Schema.optional(Schema.Number),
  remaining: Schema.optional(Schema.Number)
}) {}

/**
 * Everything the headers of one response said about the account.
 *
 * @example
 * ```ts
 * import { Usage } from "cloro-effect"
 *
 * const usage = Usage.fromHeaders({ "x-credits-remaining": "4993", "X-Concurrent-Limit": "10" })
 * // usage.credits.remaining === 4993, usage.concurrency.limit === 10
 * ```
 *
 * @since 0.1.0
 * @category Schemas
 */
export class Usage extends Schema.Class<Usage>("Usage")({
  rateLimit: RateLimitUsage,
  credits: CreditsUsage,
  concurrency: ConcurrencyUsage,
  requestId: Schema.optional(Schema.String),
  latencyMs: Schema.optional(Schema.Number)
}) {}

/**
 * A `Usage` with every field absent, for responses that carried no headers.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const empty: Usage = new Usage({
  rateLimit: new RateLimitUsage({}),
  credits: new CreditsUsage({}),
  concurrency: new ConcurrencyUsage({})
})

const nonNegativeInteger = (raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined
  const trimmed = raw.trim()
  // Only plain digits: "12abc", "-1", "1e3" and "" are garbage, not numbers.
  if (!/^\d{1,15}$/.test(trimmed)) return undefined
  return Number(trimmed)
}

const text = (raw: string | undefined): string | undefined => {
  if (raw === undefined) return undefined
  const trimmed = raw.trim()
  return trimmed.length > 0 && trimmed.length <= 200 ? trimmed : undefined
}

/**
 * A header by its lowercase name. `Headers` keeps every name lowercase, and
 * every name read here is written lowercase, so it is read directly: this
 * runs a dozen times on every answer, and `Headers.get` lowercases the name
 * and wraps the value in an `Option` each time.
 */
const lookup = (headers: Headers.Headers, name: string): string | undefined =>
  Object.hasOwn(headers, name) ? headers[name] : undefined

/** Reads the newer `X-Concurrency-*` spelling first, then the older `X-Concurrent-*`. */
const concurrencyHeader = (headers: Headers.Headers, suffix: string): number | undefined =>
  nonNegativeInteger(lookup(headers, `x-concurrency-${suffix}`)) ??
    nonNegativeInteger(lookup(headers, `x-concurrent-${suffix}`))

/**
 * Reads a response's headers into a `Usage`, case-insensitively and tolerating
 * both spellings of the concurrency headers.
 *
 * @since 0.1.0
 * @category Functions
 */
export const fromHeaders = (input: Headers.Input | Headers.Headers): Usage => {
  const headers = Headers.isHeaders(input) ? input : Headers.fromInput(input)
  // Every field below is already a plain-digit number, a trimmed string or
  // absent, so the classes' constructor checks are skipped: read on every
  // answer, they were the largest single cost of a call.
  return new Usage({
    rateLimit: new RateLimitUsage({
      limit: nonNegativeInteger(lookup(headers, "x-ratelimit-limit")),
      remaining: nonNegativeInteger(lookup(headers, "x-ratelimit-remaining"))
    }, true),
    credits: new CreditsUsage({
      charged: nonNegativeInteger(lookup(headers, "x-credits-charged")),
      remaining: nonNegativeInteger(lookup(headers, "x-credits-remaining"))
    }, true),
    concurrency: new ConcurrencyUsage({
      limit: concurrencyHeader(headers, "limit"),
      current: concurrencyHeader(headers, "current"),
      remaining: concurrencyHeader(headers, "remaining")
    }, true),
    requestId: text(lookup(headers, "x-request-id")),
    latencyMs: nonNegativeInteger(lookup(headers, "x-latency-ms"))
  }, true)
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date (relative to
 * `nowMillis`). Garbage and negative values are absent.
 *
 * @since 0.1.0
 * @category Functions
 */
export const retryAfterMillis = (
  input: Headers.Input | Headers.Headers,
  nowMillis: number
): number | undefined => {
  const headers = Headers.isHeaders(input) ? input : Headers.fromInput(input)
  const raw = lookup(headers, "retry-after")
  if (raw === undefined) return undefined
  const seconds = nonNegativeInteger(raw)
  if (seconds !== undefined) return seconds * 1000
  const date = Date.parse(raw)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMillis)
}
