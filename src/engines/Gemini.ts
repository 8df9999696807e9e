/**
 * Gemini (`POST /v1/monitor/gemini`, task type `GEMINI`): the request body and the `result` object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { blockedCountries, Country, flag, optionalField, Prompt, Source, UsState } from "./Common.js"

/**
 * Optional parts of the answer; all free.
 *
 * @since 0.1.0
 */
export const Include = Schema.Struct({
  html: flag,
  markdown: flag,
  rawResponse: flag
})

/**
 * @since 0.1.0
 */
export interface Include extends Schema.Schema.Type<typeof Include> {}

/**
 * The request body.
 *
 * @since 0.1.0
 */
export const Request = Schema.Struct({
  prompt: Prompt,
  country: Country("Gemini", blockedCountries.gemini),
  /** US only; +2 credits. */
  state: optionalField(UsState),
  include: optionalField(Include)
})

/**
 * @since 0.1.0
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * The `result` of a Gemini answer.
 *
 * @since 0.1.0
 */
export const Result = Schema.Struct({
  text: Schema.String,
  sources: Schema.Array(Source),
  markdown: Schema.optional(Schema.String),
  /** URL of the stored page, valid 24 h. */
  html: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}
