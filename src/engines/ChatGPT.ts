/**
 * ChatGPT (`POST /v1/monitor/chatgpt`, task type `CHATGPT`): the request body
 * and the `result` object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Common from "./Common.js"
import { blockedCountries, Country, flag, OpenLiteral, opt, optionalField, optNull, Prompt, RawResponse, UsState } from "./Common.js"

/**
 * Optional parts of the answer. `rawResponse`, `searchQueries`, `ads` and
 * `shopping` are one paid group: a flat +2 credits for any of them.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Include = Schema.Struct({
  html: flag,
  markdown: flag,
  rawResponse: flag,
  searchQueries: flag,
  ads: flag,
  shopping: flag
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Include extends Schema.Schema.Type<typeof Include> {}

/**
 * The request body.
 *
 * @example
 * ```ts
 * import type { Engine } from "cloro-effect"
 *
 * const request: Engine.Request<"chatgpt"> = { prompt: "Best CRM for startups?", country: "US", include: { markdown: true } }
 * ```
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Request = Schema.Struct({
  prompt: Prompt,
  country: Country("ChatGPT", blockedCountries.chatgpt),
  /** US only; +2 credits. */
  state: optionalField(UsState),
  include: optionalField(Include),
  /** Ask for ChatGPT's legacy desktop UI, which fills `model` and `searchQueries`; best-effort. */
  legacy: flag,
  /** Let ChatGPT decide whether to search instead of forcing web search. */
  disableWebSearch: flag
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * A source of a ChatGPT answer; `label` is the article title.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Source = Schema.Struct({
  ...Common.Source.fields,
  /** Whether ChatGPT listed it as a footnote rather than inline. */
  footnote: opt(Schema.Boolean),
  datePublished: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Source extends Schema.Schema.Type<typeof Source> {}

/**
 * A citation pill; on ChatGPT `citationPillId` is 0-based.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CitationPill = Schema.Struct({
  ...Common.CitationPill.fields,
  type: opt(OpenLiteral("searchResult", "groupedWebpage")),
  datePublished: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface CitationPill extends Schema.Schema.Type<typeof CitationPill> {}

/**
 * One merchant's offer for a shopping product.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ShoppingOffer = Schema.Struct({
  merchant_name: opt(Schema.String),
  merchant_subtitle: optNull(Schema.String),
  marketplace_seller: optNull(Schema.String),
  seller_name: opt(Schema.String),
  brand: optNull(Schema.String),
  product_name: opt(Schema.String),
  url: opt(Schema.String),
  /** Display price, e.g. `"$57.00"`. */
  price: opt(Schema.String),
  details: opt(Schema.String),
  original_price: optNull(Schema.String),
  available: opt(Schema.Boolean),
  checkoutable: opt(Schema.Boolean),
  is_digital: optNull(Schema.Boolean),
  checkout_payload: optNull(Schema.String),
  checkout_image_urls: optNull(Schema.Array(Schema.String)),
  shop_id: optNull(Schema.String),
  provider: opt(Schema.String),
  price_details: optNull(Schema.Struct({
    display_price: optNull(Schema.String),
    base: optNull(Schema.String),
    shipping: optNull(Schema.String),
    tax: optNull(Schema.String),
    total: optNull(Schema.String)
  })),
  tag: optNull(Schema.Struct({ text: opt(Schema.String), tooltip: optNull(Schema.String) }))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ShoppingOffer extends Schema.Schema.Type<typeof ShoppingOffer> {}

/**
 * A product of a shopping card or an inline product. `position` is 1-based
 * and flat across all cards.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ShoppingProduct = Schema.Struct({
  title: opt(Schema.String),
  position: opt(Schema.Number),
  url: opt(Schema.String),
  description: opt(Schema.String),
  price: optNull(Schema.String),
  original_price: optNull(Schema.String),
  featured_tag: optNull(Schema.String),
  /** Older answers spell it `merchants`. */
  merchant: optNull(Schema.String),
  merchants: optNull(Schema.String),
  image_urls: opt(Schema.Array(Schema.String)),
  rating: optNull(Schema.Number),
  num_reviews: optNull(Schema.Number),
  id: opt(Schema.String),
  variants: opt(Schema.Unknown),
  offers: opt(Schema.Array(ShoppingOffer)),
  rating_grouped_citation: optNull(Schema.Struct({
    title: opt(Schema.String),
    url: opt(Schema.String),
    supporting_websites: opt(Schema.Array(Schema.Struct({ title: opt(Schema.String), url: opt(Schema.String) })))
  })),
  provider: opt(Schema.String),
  providers: opt(Schema.Array(Schema.String)),
  /** ChatGPT's own lookup and rendering data; undocumented. */
  product_lookup_key: opt(Schema.Unknown),
  product_lookup_data: opt(Schema.Unknown),
  showcase_metadata: opt(Schema.Unknown),
  show_price_disclosure: opt(Schema.Boolean),
  analytics_meta: opt(Schema.Unknown),
  metadata_sources: opt(Schema.Array(Schema.String)),
  product_event_uuid: opt(Schema.String),
  generatedProductQuery: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ShoppingProduct extends Schema.Schema.Type<typeof ShoppingProduct> {}

/**
 * A shopping card: products grouped under ChatGPT's tags.
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
 * A product shown inside the answer text.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const InlineProduct = Schema.Struct({
  product: opt(ShoppingProduct),
  render_as: opt(OpenLiteral("inline", "hero", "block"))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface InlineProduct extends Schema.Schema.Type<typeof InlineProduct> {}

/**
 * A named entity ChatGPT detected (e.g. a product or brand).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Entity = Schema.Struct({
  type: Schema.String,
  name: Schema.String
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Entity extends Schema.Schema.Type<typeof Entity> {}

/**
 * A place of a map answer. `provider` is e.g. `yelp`, `b1`/`b3` (Google) or `yelp-feed`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const MapPlace = Schema.Struct({
  id: opt(Schema.String),
  provider: opt(Schema.String),
  name: opt(Schema.String),
  position: opt(Schema.Number),
  address: optNull(Schema.String),
  latitude: optNull(Schema.Number),
  longitude: optNull(Schema.Number),
  categories: opt(Schema.Array(Schema.String)),
  rating: optNull(Schema.Number),
  reviewCount: optNull(Schema.Number),
  description: optNull(Schema.String),
  phone: optNull(Schema.String),
  websiteUrl: optNull(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface MapPlace extends Schema.Schema.Type<typeof MapPlace> {}

/**
 * A sponsored block ChatGPT showed.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Ad = Schema.Struct({
  brand: opt(Schema.Struct({ name: opt(Schema.String), url: opt(Schema.String), favicon: opt(Schema.String) })),
  cards: opt(Schema.Array(Schema.Struct({
    title: opt(Schema.String),
    body: opt(Schema.String),
    url: opt(Schema.String),
    image: opt(Schema.String)
  }))),
  visibility: opt(OpenLiteral("allowed", "hidden")),
  adsResponseIndex: opt(Schema.Number),
  rendered: opt(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Ad extends Schema.Schema.Type<typeof Ad> {}

/**
 * The `result` of a ChatGPT answer. On the mobile-web format (most answers
 * since 2026-08) `model`, `searchQueries` and `mapSearchQueries` are often empty.
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
  rawResponse: opt(RawResponse),
  /** The query fan-out (`include.searchQueries`). */
  searchQueries: opt(Schema.Array(Schema.String)),
  mapSearchQueries: opt(Schema.Array(Schema.String)),
  /** e.g. `gpt-5-5`. */
  model: optNull(Schema.String),
  shoppingCards: opt(Schema.Array(ShoppingCard)),
  inlineProducts: opt(Schema.Array(InlineProduct)),
  entities: opt(Schema.Array(Entity)),
  map: opt(Schema.Array(MapPlace)),
  citationPills: opt(Schema.Array(CitationPill)),
  ads: opt(Schema.Array(Ad))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}
