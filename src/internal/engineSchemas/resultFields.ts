/**
 * The pieces of every engine's `result`: the field helpers (optional,
 * nullable, open literals, defaults that keep a paid result decodable) and
 * the nested objects several results carry (sources, citation pills, prices,
 * Google's redirect link). Public as `Common.*` (engines/Common.ts re-exports it).
 *
 * Decoding ignores unknown fields, and everything a provider may leave out is
 * optional, because a result that fails to decode has still been paid for.
 */
import * as Schema from "effect/Schema"

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
