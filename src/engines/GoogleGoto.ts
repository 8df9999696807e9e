/**
 * Resolving a Google redirect link (`POST /v1/monitor/google/goto`). Free, and
 * outside the concurrency limit, so it has no task type and no registry entry.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The path of the endpoint.
 *
 * @since 0.1.0
 * @category Constants
 */
export const path = "/v1/monitor/google/goto"

const redirectIssue = (raw: string): string | undefined => {
  if (!URL.canParse(raw)) return "url must be an absolute URL"
  const url = new URL(raw)
  if (url.protocol !== "https:" && url.protocol !== "http:") return "url must be an absolute http(s) URL"
  if (url.hostname !== "google.com" && url.hostname !== "www.google.com") {
    return "url must be a google.com or www.google.com link"
  }
  if (url.pathname !== "/goto" && url.pathname !== "/url") return "url path must be /goto or /url"
  return undefined
}

/**
 * The request body: a `redirectLink` as shipped beside Google results.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Request = Schema.Struct({
  url: Schema.String.annotations({ message: () => "url must be a string" }).pipe(
    Schema.filter((raw) => redirectIssue(raw) ?? true)
  )
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * The response body: where the link leads.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Response = Schema.Struct({
  url: Schema.String
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Response extends Schema.Schema.Type<typeof Response> {}
