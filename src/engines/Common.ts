/**
 * Shapes every engine shares. This module owns the request fields (the
 * prompt and query rules, flags, fixed-value fields, the basic include flags,
 * the prompt-engine request, Google's `pages`) and re-exports the rest from
 * `internal/engineSchemas/`: where a request runs (`countries.ts`: country
 * and US-state codes, blocked countries, `gl` / `hl`), the result field
 * helpers and nested objects (`resultFields.ts`: sources, citation pills,
 * prices), and the Google family's result pieces (`googleFamily.ts`: places,
 * products).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Country, type CountryCode, UsState } from "../internal/engineSchemas/countries.js"

export * from "../internal/engineSchemas/countries.js"
export * from "../internal/engineSchemas/googleFamily.js"
export * from "../internal/engineSchemas/resultFields.js"

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
