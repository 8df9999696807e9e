/**
 * The data behind `Engine`: one spec per engine and the cross-field rules of
 * their requests.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"
import { FieldIssue } from "../CloroError.js"
import type { EngineSpec } from "../Engine.js"
import * as AiMode from "../engines/AiMode.js"
import * as ChatGPT from "../engines/ChatGPT.js"
import * as Copilot from "../engines/Copilot.js"
import * as Gemini from "../engines/Gemini.js"
import * as Google from "../engines/Google.js"
import * as GoogleNews from "../engines/GoogleNews.js"
import * as Grok from "../engines/Grok.js"
import * as Perplexity from "../engines/Perplexity.js"

/** @internal */
export interface Requests {
  readonly chatgpt: ChatGPT.Request
  readonly perplexity: Perplexity.Request
  readonly gemini: Gemini.Request
  readonly copilot: Copilot.Request
  readonly grok: Grok.Request
  readonly aimode: AiMode.Request
  readonly google: Google.Request
  readonly googleNews: GoogleNews.Request
}

/** @internal */
export interface Results {
  readonly chatgpt: ChatGPT.Result
  readonly perplexity: Perplexity.Result
  readonly gemini: Gemini.Result
  readonly copilot: Copilot.Result
  readonly grok: Grok.Result
  readonly aimode: AiMode.Result
  readonly google: Google.Result
  readonly googleNews: GoogleNews.Result
}

/** @internal */
export interface ResultsEncoded {
  readonly chatgpt: typeof ChatGPT.Result.Encoded
  readonly perplexity: typeof Perplexity.Result.Encoded
  readonly gemini: typeof Gemini.Result.Encoded
  readonly copilot: typeof Copilot.Result.Encoded
  readonly grok: typeof Grok.Result.Encoded
  readonly aimode: typeof AiMode.Result.Encoded
  readonly google: typeof Google.Result.Encoded
  readonly googleNews: typeof GoogleNews.Result.Encoded
}

/** @internal */
export interface TaskTypes {
  readonly chatgpt: "CHATGPT"
  readonly perplexity: "PERPLEXITY"
  readonly gemini: "GEMINI"
  readonly copilot: "COPILOT"
  readonly grok: "GROK"
  readonly aimode: "AIMODE"
  readonly google: "GOOGLE"
  readonly googleNews: "GOOGLE_NEWS"
}

/** @internal */
export type Name = keyof Requests

/**
 * A mapped type, so that indexing it with a generic name still yields an
 * `EngineSpec` whose request and result types follow the name.
 *
 * @internal
 */
export type Registry = {
  readonly [N in Name]: EngineSpec<N, TaskTypes[N], Requests[N], Results[N], ResultsEncoded[N]>
}

/** @internal */
export type ByTaskType = {
  readonly [N in Name as TaskTypes[N]]: Registry[N]
}

// ---------------------------------------------------------------------------
// cross-field rules: they read the raw body defensively, since it may not
// have passed the schema
// ---------------------------------------------------------------------------

type Body = Readonly<Record<string, unknown>>

const present = (body: Body, key: string): boolean => body[key] !== undefined && body[key] !== null

const upper = (u: unknown): string | undefined => (Predicate.isString(u) ? u.toUpperCase() : undefined)

/** `state` targets US states only. */
const stateIssues = (body: Body): Array<FieldIssue> =>
  present(body, "state") && upper(body.country) !== "US"
    ? [
      new FieldIssue({
        field: "state",
        message: `state is only supported with country US (got ${
          present(body, "country") ? JSON.stringify(body.country) : "no country"
        })`
      })
    ]
    : []

/** `country` is the deprecated alias of `gl`: one of them, and never two different values. */
const geoIssues = (body: Body, options: { readonly requirePresence: boolean }): Array<FieldIssue> => {
  const country = body.country
  const gl = body.gl
  if (present(body, "country") && present(body, "gl")) {
    const a = upper(country)
    const b = upper(gl)
    return a !== undefined && b !== undefined && a !== b
      ? [
        new FieldIssue({
          field: "gl",
          message: `Cannot set both country and gl to different values (country: ${JSON.stringify(country)}, gl: ${
            JSON.stringify(gl)
          }); country is deprecated — send gl alone`
        })
      ]
      : []
  }
  return options.requirePresence && !present(body, "country") && !present(body, "gl")
    ? [new FieldIssue({ field: "gl", message: "Provide gl (or country, which is deprecated)" })]
    : []
}

const locationIssues = (body: Body): Array<FieldIssue> =>
  present(body, "location") && present(body, "uule")
    ? [new FieldIssue({ field: "uule", message: "Cannot set both location and uule; provide only one" })]
    : []

/** A Google URL carries its own `gl`, which then stands in for `country`/`gl`. */
const urlHasGl = (u: unknown): boolean =>
  Predicate.isString(u) && URL.canParse(u) && (new URL(u).searchParams.get("gl") ?? "").length > 0

const urlOwnedFields = ["query", "location", "uule", "pages"] as const

const googleIssues = (body: Body): Array<FieldIssue> => {
  if (!present(body, "url")) {
    return [
      ...(present(body, "query")
        ? []
        : [new FieldIssue({ field: "query", message: "Provide either query or url" })]),
      ...geoIssues(body, { requirePresence: true }),
      ...locationIssues(body)
    ]
  }
  return [
    ...urlOwnedFields.filter((field) => present(body, field)).map((field) =>
      new FieldIssue({ field, message: `Cannot set both url and ${field}; the URL owns this value` })
    ),
    ...geoIssues(body, { requirePresence: !urlHasGl(body.url) }),
    ...locationIssues(body)
  ]
}

// ---------------------------------------------------------------------------
// the registry
// ---------------------------------------------------------------------------

/** @internal */
export const registry: Registry = {
  chatgpt: {
    name: "chatgpt",
    taskType: "CHATGPT",
    path: "/v1/monitor/chatgpt",
    request: ChatGPT.Request,
    result: ChatGPT.Result,
    crossFieldIssues: stateIssues
  },
  perplexity: {
    name: "perplexity",
    taskType: "PERPLEXITY",
    path: "/v1/monitor/perplexity",
    request: Perplexity.Request,
    result: Perplexity.Result,
    crossFieldIssues: stateIssues
  },
  gemini: {
    name: "gemini",
    taskType: "GEMINI",
    path: "/v1/monitor/gemini",
    request: Gemini.Request,
    result: Gemini.Result,
    crossFieldIssues: stateIssues
  },
  copilot: {
    name: "copilot",
    taskType: "COPILOT",
    path: "/v1/monitor/copilot",
    request: Copilot.Request,
    result: Copilot.Result,
    crossFieldIssues: stateIssues
  },
  grok: {
    name: "grok",
    taskType: "GROK",
    path: "/v1/monitor/grok",
    request: Grok.Request,
    result: Grok.Result,
    crossFieldIssues: stateIssues
  },
  aimode: {
    name: "aimode",
    taskType: "AIMODE",
    path: "/v1/monitor/aimode",
    request: AiMode.Request,
    result: AiMode.Result,
    crossFieldIssues: (body) => [...geoIssues(body, { requirePresence: true }), ...locationIssues(body)]
  },
  google: {
    name: "google",
    taskType: "GOOGLE",
    path: "/v1/monitor/google",
    request: Google.Request,
    result: Google.Result,
    crossFieldIssues: googleIssues
  },
  googleNews: {
    name: "googleNews",
    taskType: "GOOGLE_NEWS",
    path: "/v1/monitor/google/news",
    request: GoogleNews.Request,
    result: GoogleNews.Result,
    crossFieldIssues: (body) => geoIssues(body, { requirePresence: true })
  }
}

/** @internal */
export const names: ReadonlyArray<Name> = [
  "chatgpt",
  "perplexity",
  "gemini",
  "copilot",
  "grok",
  "aimode",
  "google",
  "googleNews"
]

/** @internal */
export const byTaskType: ByTaskType = {
  CHATGPT: registry.chatgpt,
  PERPLEXITY: registry.perplexity,
  GEMINI: registry.gemini,
  COPILOT: registry.copilot,
  GROK: registry.grok,
  AIMODE: registry.aimode,
  GOOGLE: registry.google,
  GOOGLE_NEWS: registry.googleNews
}
