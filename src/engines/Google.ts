/**
 * Google Search (`POST /v1/monitor/google`, task type `GOOGLE`), with the
 * optional AI Overview: the request body and the `result` object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { blockedCountries, Country, flag, Gl, Hl, optionalField, Query } from "./Common.js"

/**
 * What `include.aioverview` accepts: `true`, or options for the overview.
 *
 * @since 0.1.0
 */
export const AiOverviewOption = Schema.Union(
  Schema.Literal(true),
  Schema.Struct({ markdown: flag })
).annotations({
  message: () => ({ message: "aioverview must be true or { markdown?: boolean }", override: true })
})

/**
 * @since 0.1.0
 */
export type AiOverviewOption = typeof AiOverviewOption.Type

/**
 * Optional parts of the answer. `aioverview` and `paaAioverview` are paid
 * (see `Pricing`).
 *
 * @since 0.1.0
 */
export const Include = Schema.Struct({
  html: flag,
  aioverview: optionalField(AiOverviewOption),
  /** Hydrate AI-Overview-type People Also Ask items; slower. */
  paaAioverview: flag,
  /** @deprecated Ignored since 2026-09-08: every redirect ships as `redirectLink`. */
  googleGoto: flag
})

/**
 * @since 0.1.0
 */
export interface Include extends Schema.Schema.Type<typeof Include> {}

/**
 * The device the search runs from; `mobile` is an alias of `android`.
 *
 * @since 0.1.0
 */
export const Device = Schema.Literal("desktop", "mobile", "ios", "android")

/**
 * @since 0.1.0
 */
export type Device = typeof Device.Type

const googleHost = /^(www\.)?google\.[a-z]{2,3}(\.[a-z]{2})?$/

const searchUrlIssue = (raw: string): string | undefined => {
  if (!URL.canParse(raw)) return "url must be a valid absolute http(s) URL"
  const url = new URL(raw)
  if (url.protocol !== "https:" && url.protocol !== "http:") return "url must be a valid absolute http(s) URL"
  if (!googleHost.test(url.hostname)) {
    return "url must be a Google web search host, e.g. www.google.com or google.co.uk"
  }
  if (url.pathname !== "/search") return "url path must be /search"
  if (url.searchParams.has("tbm")) {
    return "url must not set tbm; use the vertical-specific endpoint instead (POST /v1/monitor/google/news for tbm=nws)"
  }
  if ((url.searchParams.get("q") ?? "").trim().length === 0) return "url must include a non-empty q parameter"
  return undefined
}

/**
 * A complete Google web search URL (`https://www.google.com/search?q=...`).
 *
 * @since 0.1.0
 */
export const SearchUrl: Schema.Schema<string> = Schema.String.annotations({
  message: () => "url must be a string"
}).pipe(Schema.filter((raw) => searchUrlIssue(raw) ?? true))

/**
 * The request body, in one of two shapes: `query` with `gl` (or `country`),
 * or a full Google `url` that owns the query, location and depth.
 *
 * @example
 * ```ts
 * const request: Google.Request = { query: "best crm", gl: "us", pages: 2, include: { aioverview: { markdown: true } } }
 * ```
 *
 * @since 0.1.0
 */
export const Request = Schema.Struct({
  query: optionalField(Query),
  url: optionalField(SearchUrl),
  /** Deprecated alias of `gl`; uppercase. */
  country: optionalField(Country("Google Search", blockedCountries.google)),
  gl: optionalField(Gl("Google Search", blockedCountries.google)),
  hl: optionalField(Hl),
  location: optionalField(Schema.String),
  uule: optionalField(Schema.String),
  device: optionalField(Device),
  /** Result pages, 1 to 10; +2 credits per page after the first. */
  pages: optionalField(
    Schema.Number.annotations({ message: () => "pages must be a number" }).pipe(
      Schema.filter((n) => (Number.isInteger(n) && n >= 1 && n <= 10) || "pages must be an integer from 1 to 10")
    )
  ),
  include: optionalField(Include)
})

/**
 * @since 0.1.0
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * The `result` of a Google search.
 *
 * @since 0.1.0
 */
export const Result = Schema.Struct({
  /** URLs of the stored pages, one per page, valid 24 h. */
  html: Schema.optional(Schema.Array(Schema.String))
})

/**
 * @since 0.1.0
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}
