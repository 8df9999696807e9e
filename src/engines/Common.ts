/**
 * Shapes every engine shares: country and US-state codes, the prompt rules,
 * and the nested objects several results carry (sources, citation pills,
 * prices).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Every ISO 3166-1 alpha-2 code cloro's OpenAPI enumerates (`CountryCode`,
 * 250 codes including `XK`). Each engine serves a subset of them.
 *
 * @since 0.1.0
 * @category Constants
 */
export const countryCodes = [
  "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
  "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
  "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
  "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
  "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
  "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
  "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
  "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
  "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
  "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
  "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
  "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
  "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
  "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
  "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
  "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW"
] as const

/**
 * An uppercase ISO 3166-1 alpha-2 country code.
 *
 * @since 0.1.0
 * @category Models
 */
export type CountryCode = (typeof countryCodes)[number]

const allCountries: ReadonlySet<string> = new Set(countryCodes)

/**
 * Any of cloro's 250 country codes, as a schema (the `CountryCode` enum of
 * cloro's OpenAPI document). An engine's `country` field is narrower: see `Country`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CountryCode: Schema.Schema<CountryCode> = Schema.Literal(...countryCodes).annotations({
  identifier: "CountryCode",
  description: "ISO 3166-1 alpha-2 country code",
  message: () => `Expected an uppercase ISO 3166-1 alpha-2 country code such as "US"`
})

/**
 * Checks that a string is one of cloro's country codes (uppercase).
 *
 * @since 0.1.0
 * @category Guards
 */
export const isCountryCode = (u: unknown): u is CountryCode => typeof u === "string" && allCountries.has(u)

/**
 * The countries an engine does not serve, from cloro's own request schemas
 * (cloro-api.md §13). An engine absent here serves every code.
 *
 * AI Mode is an allow-list upstream (Google's AI Mode country list); against
 * the 250 codes it excludes exactly CN, CU, IR and KP. ChatGPT serves CZ again
 * since 2026-09-24.
 *
 * @since 0.1.0
 * @category Constants
 */
export const blockedCountries = {
  chatgpt: ["CN", "HK", "IR", "MO", "RU", "VE"],
  perplexity: ["CN"],
  gemini: ["BY", "CN", "RU"],
  copilot: ["BY", "CN", "RU", "SY", "VE"],
  grok: ["BY", "CN", "HK", "RU", "VE"],
  aimode: ["CN", "CU", "IR", "KP"],
  google: [],
  googleNews: []
} as const satisfies Record<string, ReadonlyArray<CountryCode>>

const countryMessage = (engine: string, blocked: ReadonlySet<string>) => (actual: unknown): string => {
  if (typeof actual !== "string") {
    return `Expected an ISO 3166-1 alpha-2 country code such as "US", got ${JSON.stringify(actual) ?? "undefined"}`
  }
  const upper = actual.toUpperCase()
  if (blocked.has(upper)) {
    return `${engine} is not available in ${upper}; choose a different country`
  }
  if (actual !== upper && allCountries.has(upper)) {
    return `Country codes are uppercase: use "${upper}", not "${actual}"`
  }
  return `"${actual}" is not an ISO 3166-1 alpha-2 country code cloro supports`
}

/**
 * The `country` field of an engine: an uppercase code the engine serves.
 *
 * It is a declared schema rather than a union of literals so that a wrong
 * code gives one readable issue instead of one per allowed code.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Country = <const Blocked extends ReadonlyArray<CountryCode>>(
  engine: string,
  blocked: Blocked
): Schema.Schema<Exclude<CountryCode, Blocked[number]>> => {
  const blockedSet: ReadonlySet<string> = new Set(blocked)
  const message = countryMessage(engine, blockedSet)
  return Schema.declare(
    (u: unknown): u is Exclude<CountryCode, Blocked[number]> => isCountryCode(u) && !blockedSet.has(u),
    {
      identifier: "CountryCode",
      description: `ISO 3166-1 alpha-2 country code served by ${engine}`,
      // the declaration has no structure JSONSchema could read, so it says what it accepts
      jsonSchema: { type: "string", enum: countryCodes.filter((code) => !blockedSet.has(code)) },
      message: (issue) => (issue._tag === "Type" ? message(issue.actual) : `Invalid country code`)
    }
  )
}

/**
 * The Google family's `gl`: a country code in either case, served by the engine.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Gl = (engine: string, blocked: ReadonlyArray<CountryCode>): Schema.Schema<string> => {
  const blockedSet: ReadonlySet<string> = new Set(blocked)
  return Schema.String.annotations({ message: () => `Expected a country code string such as "us"` }).pipe(
    Schema.filter((gl) => {
      const upper = gl.toUpperCase()
      if (blockedSet.has(upper)) return `${engine} is not available in ${upper}; choose a different gl`
      return allCountries.has(upper) || `"${gl}" is not an ISO 3166-1 alpha-2 country code cloro supports`
    }),
    Schema.annotations({ identifier: "Gl" })
  )
}

/**
 * Google's free-form interface language (`en`, `de`, `pt-BR`...).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Hl: Schema.Schema<string> = Schema.String.annotations({
  message: () => `Expected a language code string such as "en"`
}).pipe(Schema.filter((hl) => hl.trim().length > 0 || "hl cannot be empty"))

/**
 * The 50 US states plus DC, as 2-letter USPS codes (`GET /v1/states?country=US`).
 *
 * @since 0.1.0
 * @category Constants
 */
export const usStates = [
  "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
  "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
  "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"
] as const

/**
 * A US state code.
 *
 * @since 0.1.0
 * @category Models
 */
export type UsState = (typeof usStates)[number]

const allStates: ReadonlySet<string> = new Set(usStates)

/**
 * The `state` field: a USPS code, valid only with `country: "US"` (checked
 * across fields). A paid add-on (+2 credits).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const UsState: Schema.Schema<UsState> = Schema.declare(
  (u: unknown): u is UsState => typeof u === "string" && allStates.has(u),
  {
    identifier: "UsState",
    jsonSchema: { type: "string", enum: usStates },
    message: (issue) =>
      `Invalid state ${
        issue._tag === "Type" ? JSON.stringify(issue.actual) ?? "undefined" : ""
      }: use an uppercase USPS code from GET /v1/states?country=US (e.g. "CA")`
  }
)

/**
 * A request field with a fixed set of values, reporting one readable issue
 * (rather than one per allowed value) when it does not match.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Enum = <const L extends readonly [string, ...Array<string>]>(field: string, ...literals: L) =>
  Schema.Literal(...literals).annotations({
    message: () => ({
      message: `${field} must be one of ${literals.map((l) => JSON.stringify(l)).join(", ")}`,
      override: true
    })
  })

/** Counted after trimming, as cloro counts. */
const text = (label: "Prompt" | "Query"): Schema.Schema<string> =>
  Schema.String.annotations({ message: () => `${label} must be a string` }).pipe(
    Schema.filter((s) => s.trim().length > 0 || `${label} cannot be empty`),
    Schema.filter((s) => s.trim().length <= maxPromptLength || `${label} is too long (max 10,000 characters)`)
  )

/**
 * The longest prompt or query cloro accepts, in characters after trimming.
 *
 * @since 0.1.0
 * @category Constants
 */
export const maxPromptLength = 10_000

/**
 * An AI engine's `prompt`: 1 to 10,000 characters once trimmed.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Prompt: Schema.Schema<string> = text("Prompt")

/**
 * A Google Search / News `query`: 1 to 10,000 characters once trimmed.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Query: Schema.Schema<string> = text("Query")

/**
 * An optional boolean request flag. `undefined` is accepted and means absent
 * (as it does in JSON), so the type reads `boolean | undefined`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const flag = Schema.optional(Schema.Boolean)

/**
 * An optional request field of the given schema; `undefined` means absent.
 *
 * @since 0.1.0
 * @category Functions
 */
export const optionalField = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(schema)

// ---------------------------------------------------------------------------
// result shapes: decoding ignores unknown fields, and everything a provider
// may leave out is optional, because a result that fails to decode has still
// been paid for
// ---------------------------------------------------------------------------

/**
 * An optional result field, which cloro omits (rather than nulls) when absent.
 *
 * @since 0.1.0
 * @category Functions
 */
export const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(schema)

/**
 * An optional result field that the provider may also send as `null`.
 *
 * @since 0.1.0
 * @category Functions
 */
export const optNull = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

/**
 * A string documented with a fixed set of values. The known values type-check
 * and autocomplete, but any other string still decodes: a provider adding a
 * value must not turn a paid result into a decode error.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const OpenLiteral = <const L extends ReadonlyArray<string>>(
  ...literals: L
): Schema.Schema<L[number] | (string & {})> =>
  Schema.declare((u: unknown): u is L[number] | (string & {}) => typeof u === "string", {
    identifier: literals.map((l) => JSON.stringify(l)).join(" | "),
    // any string decodes; the known values are listed as examples
    jsonSchema: { type: "string", examples: [...literals] },
    message: () => `Expected a string such as ${literals.map((l) => JSON.stringify(l)).join(", ")}`
  })

/**
 * An answer's `text`. The OpenAPI document does not require it, so an answer
 * without it (or with `null`) decodes to `""` rather than failing after the
 * credits were spent.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const answerText = Schema.optionalWith(Schema.String, { nullable: true, default: () => "" })

/**
 * An answer's `sources`. cloro documents an empty array when there are none,
 * but does not require the field, so an absent (or `null`) list decodes to `[]`.
 *
 * @since 0.1.0
 * @category Functions
 */
export const sourcesOf = <S extends Schema.Schema.Any>(source: S) =>
  Schema.optionalWith(Schema.Array(source), {
    nullable: true,
    default: (): ReadonlyArray<Schema.Schema.Type<S>> => []
  })

/**
 * Provider stream chunks or other undocumented, provider-specific data.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const RawResponse = Schema.Array(Schema.Unknown)

/**
 * A source the answer cites. `position` is 1-based.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Source = Schema.Struct({
  position: opt(Schema.Number),
  /** Optional in cloro's OpenAPI document, though every answer seen so far has one. */
  url: opt(Schema.String),
  label: opt(Schema.String),
  description: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Source extends Schema.Schema.Type<typeof Source> {}

/**
 * One (pill, source) pair of an inline citation chip: entries sharing a
 * `citationPillId` belong to the same chip. Ids are 1-based except on
 * ChatGPT (0-based); `position` is the 1-based index into `sources`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CitationPill = Schema.Struct({
  /** May be empty; read `domain` / `url` then. */
  label: Schema.String,
  citationPillId: Schema.Number,
  url: Schema.String,
  domain: Schema.String,
  description: opt(Schema.String),
  position: opt(Schema.Number)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface CitationPill extends Schema.Schema.Type<typeof CitationPill> {}

/**
 * A price as the Google family parses it; parts it could not parse are
 * omitted (or `null`, as cloro's older OpenAPI document allows).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Price = Schema.Struct({
  value: optNull(Schema.Number),
  currency: optNull(Schema.String),
  raw: optNull(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Price extends Schema.Schema.Type<typeof Price> {}

/**
 * Google's `/goto` redirect beside a resolved link (resolve it with
 * `GoogleGoto` if needed).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const redirectLink = opt(Schema.String)

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

/**
 * The include flags of the engines that offer only `html`, `markdown` and
 * `rawResponse` (Perplexity, Gemini, Copilot, Grok); all free.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const BasicInclude = Schema.Struct({
  html: flag,
  markdown: flag,
  rawResponse: flag
})

/**
 * The request of a prompt engine with a required `country`, US `state`
 * targeting (+2 credits) and the basic include flags: the shape Perplexity,
 * Gemini, Copilot and Grok share, each with its own blocked countries.
 *
 * @since 0.1.0
 * @category Functions
 */
export const promptRequest = <const Blocked extends ReadonlyArray<CountryCode>>(engine: string, blocked: Blocked) =>
  Schema.Struct({
    prompt: Prompt,
    country: Country(engine, blocked),
    /** US only; +2 credits. */
    state: optionalField(UsState),
    include: optionalField(BasicInclude)
  })

/**
 * Result pages of Google Search and Google News: 1 to 10, +2 credits per page after the first.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Pages = Schema.Number.annotations({ message: () => "pages must be a number" }).pipe(
  Schema.filter((n) => (Number.isInteger(n) && n >= 1 && n <= 10) || "pages must be an integer from 1 to 10")
)
