/**
 * Google Search (`POST /v1/monitor/google`, task type `GOOGLE`), with the
 * optional AI Overview: the request body and the `result` object. This module
 * owns the request, the AI Overview and the `Result` that assembles the page;
 * the page's other blocks (organic results, People also ask, local pack, ads,
 * shopping cards, knowledge panel...) are in `internal/engineSchemas/googleSearch.ts`
 * and re-exported here.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import {
  Ad,
  KnowledgeGraph,
  LocalResult,
  OrganicResult,
  PeopleAlsoAsk,
  PeopleAreSaying,
  RelatedSearch,
  ShoppingCard
} from "../internal/engineSchemas/googleSearch.js"
import {
  blockedCountries,
  Country,
  Enum,
  flag,
  Gl,
  GoogleCitationPill,
  GoogleMapPlace,
  GooglePlace,
  GoogleSource,
  Hl,
  OpenLiteral,
  opt,
  optionalField,
  optNull,
  Pages,
  Price,
  ProductResult,
  Query,
  redirectLink
} from "./Common.js"

export * from "../internal/engineSchemas/googleSearch.js"

/**
 * What `include.aioverview` accepts: `true`, or options for the overview.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const AiOverviewOption = Schema.Union(
  Schema.Literal(true),
  Schema.Struct({ markdown: flag })
).annotations({
  message: () => ({ message: "aioverview must be true or { markdown?: boolean }", override: true })
})

/**
 * @since 0.1.0
 * @category Models
 */
export type AiOverviewOption = typeof AiOverviewOption.Type

/**
 * Optional parts of the answer. `aioverview` and `paaAioverview` are paid
 * (see `Pricing`).
 *
 * @since 0.1.0
 * @category Schemas
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
 * @category Models
 */
export interface Include extends Schema.Schema.Type<typeof Include> {}

/**
 * The device the search runs from; `mobile` is an alias of `android`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Device = Enum("device", "desktop", "mobile", "ios", "android")

/**
 * @since 0.1.0
 * @category Models
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
 * @category Schemas
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
 * import type { Engine } from "cloro-effect"
 *
 * const request: Engine.Request<"google"> = { query: "best crm", gl: "us", pages: 2, include: { aioverview: { markdown: true } } }
 * ```
 *
 * @since 0.1.0
 * @category Schemas
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
  pages: optionalField(Pages),
  include: optionalField(Include)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * A link under a citation chip's "View related links" that is not among the
 * overview's `sources`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const RelatedLink = Schema.Struct({
  label: Schema.String,
  citationPillId: Schema.Number,
  url: Schema.String,
  domain: Schema.String,
  description: opt(Schema.String),
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface RelatedLink extends Schema.Schema.Type<typeof RelatedLink> {}

/**
 * A video in the AI Overview.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const AiOverviewVideo = Schema.Struct({
  url: opt(Schema.String),
  title: opt(Schema.String),
  thumbnail: opt(Schema.String),
  source: opt(Schema.String),
  platform: opt(Schema.String),
  date: opt(Schema.String),
  duration: opt(Schema.String),
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface AiOverviewVideo extends Schema.Schema.Type<typeof AiOverviewVideo> {}

/**
 * An ad inside the AI Overview (note `old_price` in snake_case here).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const AiOverviewAd = Schema.Struct({
  position: opt(Schema.Number),
  title: opt(Schema.String),
  url: opt(Schema.String),
  type: opt(OpenLiteral("TEXT", "SHOPPING")),
  domain: opt(Schema.String),
  description: opt(Schema.String),
  price: opt(Price),
  old_price: opt(Price),
  store: opt(Schema.String),
  image: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface AiOverviewAd extends Schema.Schema.Type<typeof AiOverviewAd> {}

/**
 * Google's AI Overview (`include.aioverview`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const AiOverview = Schema.Struct({
  text: opt(Schema.String),
  /** With `include.aioverview: { markdown: true }`. */
  markdown: opt(Schema.String),
  sources: opt(Schema.Array(GoogleSource)),
  citationPills: opt(Schema.Array(GoogleCitationPill)),
  relatedLinks: opt(Schema.Array(RelatedLink)),
  videos: opt(Schema.Array(AiOverviewVideo)),
  places: opt(Schema.Array(GooglePlace)),
  map: opt(Schema.Array(GoogleMapPlace)),
  ads: opt(Schema.Array(AiOverviewAd))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface AiOverview extends Schema.Schema.Type<typeof AiOverview> {}

/**
 * The `result` of a Google search. Lists hold every requested page, each
 * item tagged with its `page` where relevant.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Result = Schema.Struct({
  organicResults: opt(Schema.Array(OrganicResult)),
  peopleAlsoAsk: opt(Schema.Array(PeopleAlsoAsk)),
  peopleAreSaying: opt(Schema.Array(PeopleAreSaying)),
  localResults: opt(Schema.Array(LocalResult)),
  localResultsMoreLink: opt(Schema.String),
  relatedSearches: opt(Schema.Array(RelatedSearch)),
  ads: opt(Schema.Array(Ad)),
  /** `null` or absent when Google showed no AI Overview. */
  aioverview: optNull(AiOverview),
  shoppingCards: opt(Schema.Array(ShoppingCard)),
  knowledgeGraph: opt(KnowledgeGraph),
  /** At most one entry; no flag needed. */
  productResults: opt(Schema.Array(ProductResult)),
  /** URLs of the stored pages, one per page, valid 24 h (`include.html`). */
  html: opt(Schema.Array(Schema.String))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}
