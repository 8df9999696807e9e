/**
 * Google AI Mode (`POST /v1/monitor/aimode`, task type `AIMODE`): the request
 * body and the `result` object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { blockedCountries, Country, flag, Gl, Hl, optionalField, Prompt, Source } from "./Common.js"

/**
 * Optional parts of the answer. `expandProducts` costs +1 credit per product
 * cluster returned (at most 6), so it is charged after the fact.
 *
 * @since 0.1.0
 */
export const Include = Schema.Struct({
  html: flag,
  markdown: flag,
  expandProducts: flag,
  /** @deprecated Ignored since 2026-09-08: every redirect ships as `redirectLink`. */
  googleGoto: flag
})

/**
 * @since 0.1.0
 */
export interface Include extends Schema.Schema.Type<typeof Include> {}

/**
 * The device AI Mode is run from.
 *
 * @since 0.1.0
 */
export const Device = Schema.Literal("desktop", "mobile")

/**
 * @since 0.1.0
 */
export type Device = typeof Device.Type

/**
 * The request body. One of `gl` or `country` (its deprecated alias) is
 * required; `location` and `uule` exclude each other.
 *
 * @example
 * ```ts
 * const request: AiMode.Request = { prompt: "Best running shoes", gl: "us", hl: "en" }
 * ```
 *
 * @since 0.1.0
 */
export const Request = Schema.Struct({
  prompt: Prompt,
  /** Deprecated alias of `gl`; uppercase. */
  country: optionalField(Country("AI Mode", blockedCountries.aimode)),
  gl: optionalField(Gl("AI Mode", blockedCountries.aimode)),
  hl: optionalField(Hl),
  /** Google canonical location name, `City,Region,Country`. */
  location: optionalField(Schema.String),
  /** Pre-encoded Google UULE. */
  uule: optionalField(Schema.String),
  device: optionalField(Device),
  include: optionalField(Include)
})

/**
 * @since 0.1.0
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * The `result` of an AI Mode answer.
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
