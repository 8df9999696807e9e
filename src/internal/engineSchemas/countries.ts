/**
 * Where a request runs: cloro's country codes, the countries each engine does
 * not serve, the engines' `country` field and the Google family's `gl` / `hl`,
 * and the US states. Public as `Common.*` (engines/Common.ts re-exports it).
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
