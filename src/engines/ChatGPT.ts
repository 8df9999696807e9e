/**
 * ChatGPT (`POST /v1/monitor/chatgpt`, task type `CHATGPT`): the request body
 * and the `result` object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { blockedCountries, Country, flag, optionalField, Prompt, Source, UsState } from "./Common.js"

/**
 * Optional parts of the answer. `rawResponse`, `searchQueries`, `ads` and
 * `shopping` are one paid group: a flat +2 credits for any of them.
 *
 * @since 0.1.0
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
 */
export interface Include extends Schema.Schema.Type<typeof Include> {}

/**
 * The request body.
 *
 * @example
 * ```ts
 * const request: ChatGPT.Request = { prompt: "Best CRM for startups?", country: "US", include: { markdown: true } }
 * ```
 *
 * @since 0.1.0
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
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * The `result` of a ChatGPT answer.
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
