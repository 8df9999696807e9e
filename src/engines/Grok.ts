/**
 * Grok (`POST /v1/monitor/grok`, task type `GROK`): the request body and the `result` object.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Common from "./Common.js"
import { BasicInclude, blockedCountries, opt, optNull, promptRequest, RawResponse } from "./Common.js"

/**
 * Optional parts of the answer; all free.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Include = BasicInclude

/**
 * @since 0.1.0
 * @category Models
 */
export interface Include extends Schema.Schema.Type<typeof Include> {}

/**
 * The request body.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Request = promptRequest("Grok", blockedCountries.grok)

/**
 * @since 0.1.0
 * @category Models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * A source of a Grok answer, with the preview Grok rendered for it.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Source = Schema.Struct({
  ...Common.Source.fields,
  preview: opt(Schema.String),
  searchEngineText: opt(Schema.String),
  siteName: opt(Schema.String),
  metadataTitle: opt(Schema.String),
  creator: opt(Schema.String),
  image: opt(Schema.String),
  favicon: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Source extends Schema.Schema.Type<typeof Source> {}

/**
 * The `result` of a Grok answer.
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
  searchQueries: opt(Schema.Array(Schema.String)),
  /** e.g. `grok-4-auto`. */
  model: optNull(Schema.String),
  rawResponse: opt(RawResponse)
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Result extends Schema.Schema.Type<typeof Result> {}
