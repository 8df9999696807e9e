/**
 * The data behind `Engine`: one spec per engine and the cross-field rules of
 * their requests.
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import { FieldIssue } from "../CloroError.js"
import type * as Schema from "effect/Schema"
import type { EngineSpec } from "../Engine.js"
import * as AiMode from "../engines/AiMode.js"
import * as ChatGPT from "../engines/ChatGPT.js"
import * as Copilot from "../engines/Copilot.js"
import * as Gemini from "../engines/Gemini.js"
import * as Google from "../engines/Google.js"
import * as GoogleNews from "../engines/GoogleNews.js"
import * as Grok from "../engines/Grok.js"
import * as Perplexity from "../engines/Perplexity.js"
import * as Prices from "./prices.js"

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
// the registry: the one place an engine is named
// ---------------------------------------------------------------------------

/**
 * Everything the library derives from an engine: the public `EngineSpec`
 * plus its prices. The client's `monitor.*` methods, the task types and
 * task schemas, the price table, the simulator's routes and answers and the
 * CLI all read these entries.
 *
 * @internal
 */
export interface Entry<N extends string, T extends string, Req, Res, ResEncoded>
  extends EngineSpec<N, T, Req, Res, ResEncoded>
{
  /** A small valid request, for the registry's coverage test and the docs. */
  // `NoInfer`: the request type comes from the `request` schema alone, so these are checked against it
  readonly example: NoInfer<Req>
  readonly pricing: {
    /** Credits per async request, before add-ons. */
    readonly base: number
    /** The add-ons known before sending (pages, state targeting, paid flags...). */
    readonly addOns: (request: NoInfer<Req>) => number
    /** Whether the answer may be charged per product cluster returned (AI Mode's `expandProducts`). */
    readonly perProductCluster?: ((request: NoInfer<Req>) => boolean) | undefined
  }
}

/** Keeps the literal types of an entry (name, task type) and ties its rules to its request type. */
const define = <const N extends string, const T extends string, Req, Res, ResEncoded>(
  entry: Entry<N, T, Req, Res, ResEncoded>
): Entry<N, T, Req, Res, ResEncoded> => entry

const definitions = {
  chatgpt: define({
    name: "chatgpt",
    taskType: "CHATGPT",
    path: "/v1/monitor/chatgpt",
    request: ChatGPT.Request,
    result: ChatGPT.Result,
    crossFieldIssues: stateIssues,
    example: { prompt: "Best CRM for startups?", country: "US" },
    pricing: { base: 5, addOns: Prices.chatgptAddOns }
  }),
  perplexity: define({
    name: "perplexity",
    taskType: "PERPLEXITY",
    path: "/v1/monitor/perplexity",
    request: Perplexity.Request,
    result: Perplexity.Result,
    crossFieldIssues: stateIssues,
    // 3 until 2026-08-25
    example: { prompt: "Best CRM for startups?", country: "US" },
    pricing: { base: 4, addOns: Prices.stateAddOn }
  }),
  gemini: define({
    name: "gemini",
    taskType: "GEMINI",
    path: "/v1/monitor/gemini",
    request: Gemini.Request,
    result: Gemini.Result,
    crossFieldIssues: stateIssues,
    example: { prompt: "Best CRM for startups?", country: "US" },
    pricing: { base: 4, addOns: Prices.stateAddOn }
  }),
  copilot: define({
    name: "copilot",
    taskType: "COPILOT",
    path: "/v1/monitor/copilot",
    request: Copilot.Request,
    result: Copilot.Result,
    crossFieldIssues: stateIssues,
    // older pages say 3
    example: { prompt: "Best CRM for startups?", country: "US" },
    pricing: { base: 5, addOns: Prices.stateAddOn }
  }),
  grok: define({
    name: "grok",
    taskType: "GROK",
    path: "/v1/monitor/grok",
    request: Grok.Request,
    result: Grok.Result,
    crossFieldIssues: stateIssues,
    example: { prompt: "Best CRM for startups?", country: "US" },
    pricing: { base: 4, addOns: Prices.stateAddOn }
  }),
  aimode: define({
    name: "aimode",
    taskType: "AIMODE",
    path: "/v1/monitor/aimode",
    request: AiMode.Request,
    result: AiMode.Result,
    crossFieldIssues: (body) => [...geoIssues(body, { requirePresence: true }), ...locationIssues(body)],
    example: { prompt: "Best running shoes", gl: "us" },
    pricing: { base: 4, addOns: () => 0, perProductCluster: Prices.expandsProducts }
  }),
  google: define({
    name: "google",
    taskType: "GOOGLE",
    path: "/v1/monitor/google",
    request: Google.Request,
    result: Google.Result,
    crossFieldIssues: googleIssues,
    example: { query: "best crm", gl: "us" },
    pricing: { base: 3, addOns: Prices.googleAddOns }
  }),
  googleNews: define({
    name: "googleNews",
    taskType: "GOOGLE_NEWS",
    path: "/v1/monitor/google/news",
    request: GoogleNews.Request,
    result: GoogleNews.Result,
    crossFieldIssues: (body) => geoIssues(body, { requirePresence: true }),
    example: { query: "crm", gl: "us" },
    pricing: { base: 3, addOns: Prices.pagesAddOn }
  })
}

type Definitions = typeof definitions

/** @internal */
export type Name = keyof Definitions

/** @internal */
export type Requests = { readonly [N in Name]: Schema.Schema.Type<Definitions[N]["request"]> }

/** @internal */
export type Results = { readonly [N in Name]: Schema.Schema.Type<Definitions[N]["result"]> }

/** @internal */
export type ResultsEncoded = { readonly [N in Name]: Schema.Schema.Encoded<Definitions[N]["result"]> }

/** @internal */
export type TaskTypes = { readonly [N in Name]: Definitions[N]["taskType"] }

/**
 * A mapped type, so that indexing it with a generic name still yields an
 * entry whose request and result types follow the name.
 *
 * @internal
 */
export type Registry = {
  readonly [N in Name]: Entry<N, TaskTypes[N], Requests[N], Results[N], ResultsEncoded[N]>
}

/** @internal */
export type ByTaskType = {
  readonly [N in Name as TaskTypes[N]]: Registry[N]
}

/** @internal */
export const registry: Registry = definitions

const isName = (key: string): key is Name => Object.hasOwn(registry, key)

/**
 * Every engine name, in the registry's order.
 *
 * @internal
 */
export const names: ReadonlyArray<Name> = Object.keys(registry).filter(isName)

/**
 * A type that depends on an engine's name, for `perEngine`: extend it with
 * `readonly Out: SomeType<EngineOf<this>>` (the encoding Effect's `HKT` uses).
 *
 * @internal
 */
export interface PerEngine {
  readonly Name: unknown
  readonly Out: unknown
}

/** The engine a `PerEngine` is applied to. @internal */
export type EngineOf<F extends PerEngine> = F["Name"] & Name

/** `F` applied to the engine `N`. @internal */
export type Apply<F extends PerEngine, N extends Name> = F extends { readonly Out: unknown } ?
  (F & { readonly Name: N })["Out"]
  : never

/** A table with one `F` per engine. @internal */
export type Table<F extends PerEngine> = { readonly [N in Name]: Apply<F, N> }

/**
 * One value per engine, typed per engine: `perEngine<MonitorLambda>(monitorCall)`
 * is the client's `monitor` table, `perEngine<SubmitOfLambda>(submitOf)` the
 * members of `SubmitTask`. TypeScript cannot build a mapped object from a
 * generic function without a cast, so this lists the names once more; its
 * return type makes the compiler ask for a new engine's line here as soon as
 * the engine has a registry entry.
 *
 * @internal
 */
export const perEngine = <F extends PerEngine>(f: <N extends Name>(name: N) => Apply<F, N>): Table<F> => ({
  chatgpt: f("chatgpt"),
  perplexity: f("perplexity"),
  gemini: f("gemini"),
  copilot: f("copilot"),
  grok: f("grok"),
  aimode: f("aimode"),
  google: f("google"),
  googleNews: f("googleNews")
})

/** @internal */
export type TaskType = TaskTypes[Name]

/**
 * Each entry under its task type. Written out for the reason `perEngine` is
 * (TypeScript cannot key a mapped object by another field without a cast);
 * its type makes the compiler ask for a new engine's line here too, and the
 * keys are read from the entries, so a renamed task type follows.
 */
const byTaskType: ByTaskType = {
  [registry.chatgpt.taskType]: registry.chatgpt,
  [registry.perplexity.taskType]: registry.perplexity,
  [registry.gemini.taskType]: registry.gemini,
  [registry.copilot.taskType]: registry.copilot,
  [registry.grok.taskType]: registry.grok,
  [registry.aimode.taskType]: registry.aimode,
  [registry.google.taskType]: registry.google,
  [registry.googleNews.taskType]: registry.googleNews
}

/**
 * The entry of a task type: total over `TaskType`, so nothing to fail.
 *
 * @internal
 */
export const fromTaskType = <T extends TaskType>(taskType: T): ByTaskType[T] => byTaskType[taskType]

const isTaskType = (value: unknown): value is TaskType => typeof value === "string" && Object.hasOwn(byTaskType, value)

/**
 * The entry of any value that may be a task type (a string read from the
 * wire, a CLI argument), or `None`.
 *
 * @internal
 */
export const findByTaskType = (taskType: unknown): Option.Option<Registry[Name]> =>
  isTaskType(taskType) ? Option.some(byTaskType[taskType]) : Option.none()

/**
 * Every task type, in the registry's order (non-empty, for `Schema.Literal`).
 *
 * @internal
 */
export const taskTypes: readonly [TaskType, ...Array<TaskType>] = [
  registry.chatgpt.taskType,
  ...names.filter((name) => name !== "chatgpt").map((name) => registry[name].taskType)
]
