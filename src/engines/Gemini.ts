/**
 * Gemini (`POST /v1/monitor/gemini`, task type `GEMINI`): the request body and the `result` object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Common from "./Common.js"
import { BasicInclude, blockedCountries, CitationPill, opt, Price, promptRequest, RawResponse, Source } from "./Common.js"

/**
 * Optional parts of the answer; all free.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Include = BasicInclude

/**
 * @since 0.1.0
 * @category Models
 */
export interface Include extends Schema.Schema.Type<typeof Include> {}

/**
 * The request body.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Request = promptRequest("Gemini", blockedCountries.gemini)

/**
 * @since 0.1.0
 * @category Models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * A place card.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Place = Schema.Struct({
  index: opt(Schema.Number),
  title: Schema.String,
  link: opt(Schema.String),
  thumbnail: opt(Schema.String),
  rating: opt(Schema.Number),
  reviews: opt(Schema.Number),
  type: opt(Schema.String),
  description: opt(Schema.String),
  price: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Place extends Schema.Schema.Type<typeof Place> {}

/**
 * A product card (since 2026-09-22).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ShoppingCard = Schema.Struct({
  position: opt(Schema.Number),
  title: Schema.String,
  productLink: opt(Schema.String),
  productId: opt(Schema.String),
  price: opt(Price),
  oldPrice: opt(Price),
  store: opt(Schema.String),
  storeLink: opt(Schema.String),
  storeCount: opt(Schema.Number),
  shipping: opt(Schema.String),
  deliveryTime: opt(Schema.String),
  rating: opt(Schema.Number),
  reviews: opt(Schema.Number),
  brand: opt(Schema.String),
  description: opt(Schema.String),
  thumbnail: opt(Schema.String),
  images: opt(Schema.Array(Schema.String)),
  catalogId: opt(Schema.String),
  gpcId: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ShoppingCard extends Schema.Schema.Type<typeof ShoppingCard> {}

/**
 * The `result` of a Gemini answer.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Result = Schema.Struct({
  text: Common.answerText,
  sources: Common.sourcesOf(Source),
  markdown: opt(Schema.String),
  /** URL of the stored page, valid 24 h (`include.html`). */
  html: opt(Schema.String),
  citationPills: opt(Schema.Array(CitationPill)),
  places: opt(Schema.Array(Place)),
  shoppingCards: opt(Schema.Array(ShoppingCard)),
  rawResponse: opt(RawResponse)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}
