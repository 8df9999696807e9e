/**
 * Google AI Mode (`POST /v1/monitor/aimode`, task type `AIMODE`): the request
 * body and the `result` object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Common from "./Common.js"
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
  opt,
  optionalField,
  Price,
  ProductResult,
  Prompt,
  redirectLink
} from "./Common.js"

/**
 * Optional parts of the answer. `expandProducts` costs +1 credit per product
 * cluster returned (at most 6), so it is charged after the fact.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Include = Schema.Struct({
  html: flag,
  markdown: flag,
  expandProducts: flag,
  /** @deprecated Ignored since 2026-09-08: every redirect ships as `redirectLink`. */
  googleGoto: flag
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Include extends Schema.Schema.Type<typeof Include> {}

/**
 * The device AI Mode is run from.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Device = Enum("device", "desktop", "mobile")

/**
 * @since 0.1.0
 * @category Models
 */
export type Device = typeof Device.Type

/**
 * The request body. One of `gl` or `country` (its deprecated alias) is
 * required; `location` and `uule` exclude each other.
 *
 * @example
 * ```ts
 * import type { Engine } from "cloro-effect"
 *
 * const request: Engine.Request<"aimode"> = { prompt: "Best running shoes", gl: "us", hl: "en" }
 * ```
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Request = Schema.Struct({
  prompt: Prompt,
  /** Deprecated alias of `gl`; uppercase. */
  country: optionalField(Country("AI Mode", blockedCountries.aimode)),
  gl: optionalField(Gl("AI Mode", blockedCountries.aimode)),
  hl: optionalField(Hl),
  /** Google canonical location name, `City,Region,Country`. */
  location: optionalField(Schema.String),
  /** Pre-encoded Google UULE. */
  uule: optionalField(Schema.String),
  device: optionalField(Device),
  include: optionalField(Include)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * A product card. `reviews` is Google's display string (e.g. `"1.2K"`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ShoppingCard = Schema.Struct({
  title: opt(Schema.String),
  price: opt(Price),
  oldPrice: opt(Price),
  store: opt(Schema.String),
  rating: opt(Schema.Number),
  reviews: opt(Schema.String),
  thumbnail: opt(Schema.String),
  productLink: opt(Schema.String),
  snippet: opt(Schema.String),
  snippetLinks: opt(Schema.Array(Schema.Struct({ text: opt(Schema.String), link: opt(Schema.String), redirectLink }))),
  position: opt(Schema.Number)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ShoppingCard extends Schema.Schema.Type<typeof ShoppingCard> {}

/**
 * One sponsored product.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Ad = Schema.Struct({
  title: opt(Schema.String),
  url: opt(Schema.String),
  position: opt(Schema.Number),
  price: opt(Price),
  store: opt(Schema.String),
  rating: opt(Schema.Number),
  reviews: opt(Schema.String),
  /** Changelog 2026-09-21; not yet in the spec. */
  imageUrl: opt(Schema.String),
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Ad extends Schema.Schema.Type<typeof Ad> {}

/**
 * The sponsored block: an object with a heading and its ads (not an array).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Ads = Schema.Struct({
  title: opt(Schema.String),
  ads: opt(Schema.Array(Ad))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Ads extends Schema.Schema.Type<typeof Ads> {}

/**
 * A product shown inside the answer text.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const InlineProduct = Schema.Struct({
  title: opt(Schema.String),
  position: opt(Schema.Number),
  price: opt(Price),
  oldPrice: opt(Price),
  store: opt(Schema.String),
  thumbnail: opt(Schema.String),
  productLink: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface InlineProduct extends Schema.Schema.Type<typeof InlineProduct> {}

/**
 * A video card.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Video = Schema.Struct({
  title: opt(Schema.String),
  link: Schema.String,
  platform: opt(Schema.String),
  channel: opt(Schema.String),
  duration: opt(Schema.String),
  thumbnail: opt(Schema.String),
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Video extends Schema.Schema.Type<typeof Video> {}

/**
 * The `result` of an AI Mode answer.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Result = Schema.Struct({
  text: Common.answerText,
  sources: Common.sourcesOf(GoogleSource),
  /** URL of the stored page, valid 24 h (`include.html`). */
  html: opt(Schema.String),
  markdown: opt(Schema.String),
  citationPills: opt(Schema.Array(GoogleCitationPill)),
  places: opt(Schema.Array(GooglePlace)),
  shoppingCards: opt(Schema.Array(ShoppingCard)),
  ads: opt(Ads),
  inlineProducts: opt(Schema.Array(InlineProduct)),
  videos: opt(Schema.Array(Video)),
  map: opt(Schema.Array(GoogleMapPlace)),
  /** Only with `include.expandProducts`; each entry cost +1 credit. */
  productResults: opt(Schema.Array(ProductResult))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}
