/**
 * The result pieces the Google family (Google Search with AI Overview, AI
 * Mode) shares: its sources and citation pills with `redirectLink`, place
 * cards, and product clusters. Public as `Common.*` (engines/Common.ts
 * re-exports it).
 */
import * as Schema from "effect/Schema"
import { CitationPill, opt, Price, redirectLink, Source } from "./resultFields.js"

/**
 * A source in a Google-family answer.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const GoogleSource = Schema.Struct({
  ...Source.fields,
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface GoogleSource extends Schema.Schema.Type<typeof GoogleSource> {}

/**
 * A citation pill in a Google-family answer.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const GoogleCitationPill = Schema.Struct({
  ...CitationPill.fields,
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface GoogleCitationPill extends Schema.Schema.Type<typeof GoogleCitationPill> {}

const googlePlaceFields = {
  /** Optional in cloro's older OpenAPI document. */
  title: opt(Schema.String),
  index: opt(Schema.Number),
  thumbnail: opt(Schema.String),
  rating: opt(Schema.Number),
  reviews: opt(Schema.Number),
  type: opt(Schema.String),
  address: opt(Schema.String),
  status: opt(Schema.String),
  /** Google knowledge-graph id, e.g. `/g/1tglgvbk`. */
  placeId: opt(Schema.String),
  phone: opt(Schema.String),
  website: opt(Schema.String)
}

/**
 * A place card (AI Mode, AI Overview).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const GooglePlace = Schema.Struct({
  ...googlePlaceFields,
  link: opt(Schema.String),
  priceLevel: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface GooglePlace extends Schema.Schema.Type<typeof GooglePlace> {}

/**
 * A place on the map pack, with its Maps link and coordinates.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const GoogleMapPlace = Schema.Struct({
  ...googlePlaceFields,
  link: opt(Schema.String),
  gpsCoordinates: opt(Schema.Struct({ latitude: opt(Schema.Number), longitude: opt(Schema.Number) }))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface GoogleMapPlace extends Schema.Schema.Type<typeof GoogleMapPlace> {}

/**
 * A merchant offering a product of a `ProductResult`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ProductStore = Schema.Struct({
  name: Schema.String,
  link: opt(Schema.String),
  redirectLink,
  price: opt(Price),
  installments: opt(Schema.String),
  description: opt(Schema.String),
  buyingOptions: opt(Schema.Array(Schema.String)),
  logo: opt(Schema.String),
  shipping: opt(Schema.String),
  condition: opt(Schema.String),
  rating: opt(Schema.Number),
  reviews: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ProductStore extends Schema.Schema.Type<typeof ProductStore> {}

/**
 * An expanded product cluster (Google Search, and AI Mode with
 * `include.expandProducts`). Only `title` is guaranteed.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ProductResult = Schema.Struct({
  title: Schema.String,
  stores: opt(Schema.Array(ProductStore)),
  aboutTheProduct: opt(Schema.Struct({
    description: opt(Schema.String),
    features: opt(Schema.Array(Schema.String))
  })),
  /** Category → (key → value). */
  specifications: opt(Schema.Record({ key: Schema.String, value: Schema.Record({ key: Schema.String, value: Schema.String }) })),
  images: opt(Schema.Array(Schema.Struct({
    mainUrl: Schema.String,
    thumbnailUrl: opt(Schema.String),
    title: opt(Schema.String)
  }))),
  rating: opt(Schema.Number),
  reviews: opt(Schema.String),
  variants: opt(Schema.Array(Schema.Unknown)),
  userReviews: opt(Schema.Array(Schema.Unknown)),
  relatedProducts: opt(Schema.Array(Schema.Unknown))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ProductResult extends Schema.Schema.Type<typeof ProductResult> {}
