/**
 * Google News (`POST /v1/monitor/google/news`, task type `GOOGLE_NEWS`): the
 * request body and the `result` object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import {
  blockedCountries,
  Country,
  Enum,
  flag,
  Gl,
  Hl,
  opt,
  optionalField,
  Pages,
  Query,
  redirectLink
} from "./Common.js"

/**
 * Optional parts of the answer.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Include = Schema.Struct({
  html: flag
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

/**
 * The request body. One of `gl` or `country` (its deprecated alias) is required.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Request = Schema.Struct({
  query: Query,
  /** Deprecated alias of `gl`; uppercase. */
  country: optionalField(Country("Google News", blockedCountries.googleNews)),
  gl: optionalField(Gl("Google News", blockedCountries.googleNews)),
  hl: optionalField(Hl),
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
 * A news article.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const NewsResult = Schema.Struct({
  position: opt(Schema.Number),
  title: opt(Schema.String),
  link: opt(Schema.String),
  snippet: opt(Schema.String),
  /** The publisher. */
  source: opt(Schema.String),
  date: opt(Schema.String),
  page: opt(Schema.Number),
  thumbnail: opt(Schema.String),
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface NewsResult extends Schema.Schema.Type<typeof NewsResult> {}

/**
 * The `result` of a Google News search.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Result = Schema.Struct({
  newsResults: opt(Schema.Array(NewsResult)),
  /** URLs of the stored pages, one per page, valid 24 h (`include.html`). */
  html: opt(Schema.Array(Schema.String))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}
