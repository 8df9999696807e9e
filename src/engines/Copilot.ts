/**
 * Microsoft Copilot (`POST /v1/monitor/copilot`, task type `COPILOT`): the request body and the `result` object.
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
export const Request = promptRequest("Microsoft Copilot", blockedCountries.copilot)

/**
 * @since 0.1.0
 * @category Models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * A price on a Copilot product.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Price = Schema.Struct({
  amount: opt(Schema.Number),
  currency: optNull(Schema.String),
  currencySymbol: optNull(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Price extends Schema.Schema.Type<typeof Price> {}

/**
 * A product of a shopping card.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ShoppingProduct = Schema.Struct({
  product: opt(Schema.Struct({
    id: opt(Schema.String),
    groupId: optNull(Schema.String),
    brandGroupId: optNull(Schema.String)
  })),
  position: opt(Schema.Number),
  offerId: optNull(Schema.String),
  url: opt(Schema.String),
  name: opt(Schema.String),
  description: optNull(Schema.String),
  images: opt(Schema.Array(Schema.Struct({ title: optNull(Schema.String), url: opt(Schema.String) }))),
  specifications: opt(Schema.Array(Schema.Struct({
    displayName: opt(Schema.String),
    values: opt(Schema.Array(Schema.String))
  }))),
  tags: opt(Schema.Array(Schema.String)),
  price: optNull(Price),
  discountPrice: optNull(Price),
  seller: optNull(Schema.String),
  sellerLogoUrl: optNull(Schema.String),
  brandName: optNull(Schema.String),
  rating: optNull(Schema.Struct({
    value: optNull(Schema.Number),
    count: optNull(Schema.Number),
    maxRating: optNull(Schema.Number)
  })),
  canTrackPrice: opt(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ShoppingProduct extends Schema.Schema.Type<typeof ShoppingProduct> {}

/**
 * A shopping card (`type` e.g. `shoppingProducts`, `layout` e.g. `Carousel`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ShoppingCard = Schema.Struct({
  type: opt(Schema.String),
  layout: opt(Schema.String),
  products: opt(Schema.Array(ShoppingProduct))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ShoppingCard extends Schema.Schema.Type<typeof ShoppingCard> {}

/**
 * A place of a map answer.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const MapPlace = Schema.Struct({
  name: opt(Schema.String),
  position: opt(Schema.Number),
  placeId: opt(Schema.String),
  location: opt(Schema.Struct({
    address: optNull(Schema.String),
    latitude: optNull(Schema.Number),
    longitude: optNull(Schema.Number)
  })),
  phoneNumber: optNull(Schema.String),
  url: optNull(Schema.String),
  reviews: opt(Schema.Array(Schema.Struct({
    count: optNull(Schema.Number),
    rating: optNull(Schema.Number),
    providerName: optNull(Schema.String),
    providerIconUrl: optNull(Schema.String),
    url: optNull(Schema.String)
  }))),
  photos: opt(Schema.Array(Schema.Struct({
    url: opt(Schema.String),
    altText: optNull(Schema.String),
    providerName: optNull(Schema.String),
    providerUrl: optNull(Schema.String)
  }))),
  openState: optNull(Schema.String),
  category: optNull(Schema.String),
  /** Undocumented shape. */
  price: opt(Schema.Unknown),
  layerLabel: optNull(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface MapPlace extends Schema.Schema.Type<typeof MapPlace> {}

/**
 * The `result` of a Copilot answer.
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
  shoppingCards: opt(Schema.Array(ShoppingCard)),
  map: opt(Schema.Array(MapPlace)),
  /** Copilot's search fan-out; returned automatically, free. */
  searchQueries: opt(Schema.Array(Schema.String)),
  rawResponse: opt(RawResponse)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}
