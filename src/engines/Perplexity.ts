/**
 * Perplexity (`POST /v1/monitor/perplexity`, task type `PERPLEXITY`): the request body and the `result` object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Common from "./Common.js"
import { BasicInclude, blockedCountries, CitationPill, opt, optNull, promptRequest, RawResponse, Source } from "./Common.js"

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
export const Request = promptRequest("Perplexity", blockedCountries.perplexity)

/**
 * @since 0.1.0
 * @category Models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * An image or video card.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const MediaItem = Schema.Struct({
  title: opt(Schema.String),
  url: opt(Schema.String),
  thumbnail: opt(Schema.String),
  medium: opt(Schema.String),
  source: opt(Schema.String),
  image_width: opt(Schema.Number),
  image_height: opt(Schema.Number),
  thumbnail_width: opt(Schema.Number),
  thumbnail_height: opt(Schema.Number)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface MediaItem extends Schema.Schema.Type<typeof MediaItem> {}

/**
 * A hotel card.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Hotel = Schema.Struct({
  name: opt(Schema.String),
  url: opt(Schema.String),
  rating: optNull(Schema.Number),
  num_reviews: optNull(Schema.Number),
  address: opt(Schema.Array(Schema.String)),
  phone: optNull(Schema.String),
  description: optNull(Schema.String),
  image_url: optNull(Schema.String),
  images: opt(Schema.Array(Schema.String)),
  lat: optNull(Schema.Number),
  lng: optNull(Schema.Number),
  price_level: optNull(Schema.String),
  categories: opt(Schema.Array(Schema.String))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Hotel extends Schema.Schema.Type<typeof Hotel> {}

/**
 * A place card.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Place = Schema.Struct({
  name: opt(Schema.String),
  url: opt(Schema.String),
  rating: optNull(Schema.Number),
  address: opt(Schema.Array(Schema.String)),
  lat: optNull(Schema.Number),
  lng: optNull(Schema.Number),
  categories: opt(Schema.Array(Schema.String)),
  map_url: optNull(Schema.String),
  images: opt(Schema.Array(Schema.String))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Place extends Schema.Schema.Type<typeof Place> {}

/**
 * A merchant's offer for a shopping product.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ShoppingOffer = Schema.Struct({
  url: opt(Schema.String),
  price: optNull(Schema.String),
  merchant_name: opt(Schema.String),
  product_name: opt(Schema.String),
  available: opt(Schema.Boolean),
  price_details: optNull(Schema.Struct({
    display_price: optNull(Schema.String),
    original_price: optNull(Schema.String)
  })),
  original_price: optNull(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ShoppingOffer extends Schema.Schema.Type<typeof ShoppingOffer> {}

/**
 * A product of a shopping card.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ShoppingProduct = Schema.Struct({
  title: opt(Schema.String),
  id: opt(Schema.String),
  url: opt(Schema.String),
  price: optNull(Schema.String),
  merchant: optNull(Schema.String),
  available: opt(Schema.Boolean),
  imageUrls: opt(Schema.Array(Schema.String)),
  numReviews: optNull(Schema.Number),
  offers: opt(Schema.Array(ShoppingOffer)),
  position: opt(Schema.Number),
  rating: optNull(Schema.Number),
  original_price: optNull(Schema.String),
  description: optNull(Schema.String),
  variants: opt(Schema.Array(Schema.Unknown))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ShoppingProduct extends Schema.Schema.Type<typeof ShoppingProduct> {}

/**
 * A shopping card.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ShoppingCard = Schema.Struct({
  tags: opt(Schema.Array(Schema.String)),
  products: opt(Schema.Array(ShoppingProduct))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ShoppingCard extends Schema.Schema.Type<typeof ShoppingCard> {}

/**
 * One query of Perplexity's search fan-out. The spec says a string; the docs
 * show objects naming the search engine, so both decode.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const SearchModelQuery = Schema.Union(
  Schema.String,
  Schema.Struct({
    query: opt(Schema.String),
    engine: opt(Schema.String),
    limit: opt(Schema.Number)
  })
)

/**
 * @since 0.1.0
 * @category Models
 */
export type SearchModelQuery = typeof SearchModelQuery.Type

/**
 * The `result` of a Perplexity answer. Note the snake_case keys
 * (`related_queries`, `shopping_cards`, `search_model_queries`) on this engine.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Result = Schema.Struct({
  text: Common.answerText,
  sources: Common.sourcesOf(Source),
  /** URL of the stored page, valid 24 h (`include.html`). */
  html: opt(Schema.String),
  markdown: opt(Schema.String),
  citationPills: opt(Schema.Array(CitationPill)),
  related_queries: opt(Schema.Array(Schema.String)),
  videos: opt(Schema.Array(MediaItem)),
  images: opt(Schema.Array(MediaItem)),
  hotels: opt(Schema.Array(Hotel)),
  places: opt(Schema.Array(Place)),
  shopping_cards: opt(Schema.Array(ShoppingCard)),
  search_model_queries: opt(Schema.Array(SearchModelQuery)),
  rawResponse: opt(RawResponse)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}
