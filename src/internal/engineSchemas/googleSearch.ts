/**
 * The blocks of a Google results page besides the AI Overview: organic
 * results with sitelinks, People also ask / are saying, the local pack,
 * related searches, ads, shopping cards and the knowledge panel. Public as
 * `Google.*` (engines/Google.ts re-exports it and assembles them into `Result`).
 */
import * as Schema from "effect/Schema"
import { GoogleSource } from "./googleFamily.js"
import { OpenLiteral, opt, Price, redirectLink } from "./resultFields.js"

/**
 * A link with its title, as in sitelinks and knowledge-graph lists.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Link = Schema.Struct({
  title: opt(Schema.String),
  link: opt(Schema.String),
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Link extends Schema.Schema.Type<typeof Link> {}

/**
 * An organic (unpaid) result.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const OrganicResult = Schema.Struct({
  position: opt(Schema.Number),
  title: opt(Schema.String),
  link: opt(Schema.String),
  displayedLink: opt(Schema.String),
  snippet: opt(Schema.String),
  date: opt(Schema.String),
  /** The result page (1-based) it was found on. */
  page: opt(Schema.Number),
  sitelinks: opt(Schema.Struct({ inline: opt(Schema.Array(Link)) })),
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface OrganicResult extends Schema.Schema.Type<typeof OrganicResult> {}

/**
 * A "People also ask" question. AI-Overview-type items carry `markdown` and
 * `sources` only with `include.paaAioverview`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const PeopleAlsoAsk = Schema.Struct({
  question: opt(Schema.String),
  type: opt(OpenLiteral("AIOVERVIEW", "LINK", "UNKNOWN")),
  snippet: opt(Schema.String),
  title: opt(Schema.String),
  link: opt(Schema.String),
  markdown: opt(Schema.String),
  sources: opt(Schema.Array(GoogleSource)),
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface PeopleAlsoAsk extends Schema.Schema.Type<typeof PeopleAlsoAsk> {}

/**
 * A "People are saying" post.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const PeopleAreSaying = Schema.Struct({
  position: opt(Schema.Number),
  title: opt(Schema.String),
  link: opt(Schema.String),
  date: opt(Schema.String),
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface PeopleAreSaying extends Schema.Schema.Type<typeof PeopleAreSaying> {}

/**
 * A local-pack business. `reviews` is Google's display string.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const LocalResult = Schema.Struct({
  position: opt(Schema.Number),
  title: opt(Schema.String),
  placeId: opt(Schema.String),
  rating: opt(Schema.Number),
  reviews: opt(Schema.String),
  price: opt(Schema.String),
  type: opt(Schema.String),
  yearsInBusiness: opt(Schema.String),
  address: opt(Schema.String),
  phone: opt(Schema.String),
  hours: opt(Schema.String),
  description: opt(Schema.String),
  links: opt(Schema.Struct({
    website: opt(Schema.String),
    directions: opt(Schema.String),
    redirectLink
  }))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface LocalResult extends Schema.Schema.Type<typeof LocalResult> {}

/**
 * A related search at the foot of the page.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const RelatedSearch = Schema.Struct({
  query: opt(Schema.String),
  link: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface RelatedSearch extends Schema.Schema.Type<typeof RelatedSearch> {}

/**
 * A sponsored result or shopping ad.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Ad = Schema.Struct({
  position: opt(Schema.Number),
  blockPosition: opt(OpenLiteral("top", "bottom", "middle", "rhs")),
  type: opt(OpenLiteral("RESULT", "SHOPPING_CARD")),
  title: opt(Schema.String),
  url: opt(Schema.String),
  page: opt(Schema.Number),
  displayedUrl: opt(Schema.String),
  domain: opt(Schema.String),
  description: opt(Schema.String),
  category: opt(Schema.String),
  price: opt(Price),
  oldPrice: opt(Price),
  store: opt(Schema.String),
  imageUrl: opt(Schema.String),
  sitelinks: opt(Schema.Array(Schema.Struct({
    url: opt(Schema.String),
    title: opt(Schema.String),
    description: opt(Schema.String)
  })))
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Ad extends Schema.Schema.Type<typeof Ad> {}

/**
 * A product card. `reviews` is Google's display string.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ShoppingCard = Schema.Struct({
  title: opt(Schema.String),
  position: opt(Schema.Number),
  promoLabel: opt(Schema.String),
  category: opt(Schema.String),
  price: opt(Price),
  oldPrice: opt(Price),
  store: opt(Schema.String),
  rating: opt(Schema.Number),
  reviews: opt(Schema.String),
  thumbnail: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface ShoppingCard extends Schema.Schema.Type<typeof ShoppingCard> {}

/** A named link of the knowledge panel (its source, a profile, a related entity). */
const NamedLink = Schema.Struct({ name: opt(Schema.String), link: opt(Schema.String), redirectLink })

/**
 * The knowledge panel: its main fields are typed, and the many optional
 * panels Google renders for particular entity types (menus, ratings,
 * streaming options, admissions...) are kept as they come.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const KnowledgeGraph = Schema.Struct({
  title: opt(Schema.String),
  type: opt(Schema.String),
  kgmid: opt(Schema.String),
  description: opt(Schema.String),
  imageUrl: opt(Schema.String),
  website: opt(Schema.String),
  source: opt(NamedLink),
  attributes: opt(Schema.Array(Schema.Struct({ key: opt(Schema.String), value: opt(Schema.String) }))),
  profiles: opt(Schema.Array(NamedLink)),
  peopleAlsoSearchFor: opt(Schema.Array(NamedLink)),
  rating: opt(Schema.Unknown),
  ratings: opt(Schema.Array(Schema.Unknown)),
  redirectLink
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface KnowledgeGraph extends Schema.Schema.Type<typeof KnowledgeGraph> {}
