/**
 * The simulator's configuration as a Schema, so that a bad setting (a
 * negative limit, NaN, an unknown engine in a fault script) is reported as a
 * typed error with every issue, before anything starts.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import * as Engine from "../../Engine.js"

/** The registry's engines. @internal */
export const engineNames: ReadonlyArray<Engine.EngineName> = Engine.names

/** @internal */
export type EngineName = Engine.EngineName

/** @internal */
export const EngineName: Schema.Schema<EngineName> = Schema.Literal(...engineNames)

const Millis = Schema.Number.pipe(
  Schema.finite({ message: () => "Expected a finite number of milliseconds" }),
  Schema.nonNegative({ message: () => "Expected a non-negative number of milliseconds" })
)

const PositiveInt = Schema.Int.pipe(Schema.positive({ message: () => "Expected a positive integer" }))
const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative({ message: () => "Expected a non-negative integer" }))

/**
 * Always the same delay.
 *
 * @internal
 */
export const Fixed = Schema.TaggedStruct("Fixed", { millis: Millis })

/**
 * A delay drawn evenly between `min` and `max`.
 *
 * @internal
 */
export const Uniform = Schema.TaggedStruct("Uniform", { min: Millis, max: Millis }).pipe(
  Schema.filter((u) => u.min <= u.max || { path: ["max"], message: "max must be at least min" })
)

/**
 * A right-skewed delay as real answer engines show: most answers near the
 * median, a long tail of slow ones, optionally capped at `max`.
 *
 * @internal
 */
export const LogNormal = Schema.TaggedStruct("LogNormal", {
  median: Millis,
  sigma: Schema.Number.pipe(Schema.finite(), Schema.nonNegative()),
  max: Schema.optionalWith(Millis, { exact: true })
})

/** @internal */
export const Distribution = Schema.Union(Fixed, Uniform, LogNormal)

/** @internal */
export type Distribution = Schema.Schema.Type<typeof Distribution>

/** @internal */
export const Latency = Schema.Struct({
  default: Schema.optionalWith(Distribution, { default: () => ({ _tag: "Fixed", millis: 0 }) as const }),
  engines: Schema.optionalWith(Schema.partial(Schema.Record({ key: EngineName, value: Distribution })), {
    default: () => ({})
  }),
  /** `POST /v1/monitor/google/goto`, which resolves one link (Google gets at most 10 s). */
  goto: Schema.optionalWith(Distribution, { default: () => ({ _tag: "Fixed", millis: 0 }) as const })
})

/** @internal */
export const Plan = Schema.Struct({
  concurrency: Schema.optionalWith(PositiveInt, { default: () => 10 }),
  credits: Schema.optionalWith(NonNegativeInt, { default: () => 37_500 }),
  perCycle: Schema.optionalWith(Schema.NullOr(NonNegativeInt), { default: () => null }),
  cycleResetsAt: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
})

/** @internal */
export const apiKeyPattern = /^[A-Za-z0-9_.-]+$/

/** @internal */
export const Account = Schema.Struct({
  apiKey: Schema.String.pipe(
    Schema.minLength(1, { message: () => "An API key cannot be empty" }),
    Schema.maxLength(512),
    Schema.pattern(apiKeyPattern, { message: () => "An API key holds only letters, digits, '_', '.' and '-'" })
  ),
  /** Names the account in counters and logs, which never show the key itself. */
  id: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), { exact: true }),
  plan: Schema.optionalWith(Plan, { default: () => Plan.make({}) })
})

/** @internal */
export const RateLimit = Schema.Struct({
  /** `shared`: one budget across every `/v1/*` path (older docs, 500/s); `perEndpoint`: one per path (newest, 1000/s). */
  mode: Schema.optionalWith(Schema.Literal("shared", "perEndpoint"), { default: () => "perEndpoint" as const }),
  limit: Schema.optionalWith(PositiveInt, { exact: true }),
  /** `fixed`: a one-second window opened by the first request; `sliding`: the last 1000 ms. */
  window: Schema.optionalWith(Schema.Literal("fixed", "sliding"), { default: () => "fixed" as const })
})

/** @internal */
export const FaultKind = Schema.Literal(
  "500",
  "502",
  "503",
  "429",
  "reset",
  "stall",
  "malformedHeaders",
  "missingHeaders",
  "garbageBody"
)

/** @internal */
export type FaultKind = Schema.Schema.Type<typeof FaultKind>

const taskFaults: ReadonlyArray<FaultKind> = ["500", "502", "503"]

const Path = Schema.String.pipe(Schema.startsWith("/v1/", { message: () => "A path starts with /v1/" }))

const faultFields = {
  /** Match requests to this path only (`/v1/async/task/{taskId}` matches every task id). */
  path: Schema.optionalWith(Path, { exact: true }),
  /** Match this engine's monitor endpoint, or (with `on: "task"`) its async tasks. */
  engine: Schema.optionalWith(EngineName, { exact: true }),
  method: Schema.optionalWith(Schema.Literal("GET", "POST", "DELETE"), { exact: true }),
  /** `request` (default): an HTTP answer; `task`: an async task of the engine ends FAILED. */
  on: Schema.optionalWith(Schema.Literal("request", "task"), { default: () => "request" as const }),
  /** Seconds in the `Retry-After` of a 503. */
  retryAfter: Schema.optionalWith(NonNegativeInt, { exact: true }),
  /** How long a `stall` holds the request before answering 500 (default 5 minutes, cloro's own cut-off). */
  stallMillis: Schema.optionalWith(Millis, { exact: true }),
  /** The code of an injected 429 (default `RATE_LIMIT_EXCEEDED`). */
  code: Schema.optionalWith(
    Schema.Literal("RATE_LIMIT_EXCEEDED", "CONCURRENT_LIMIT_EXCEEDED", "CONCURRENCY_LIMIT_EXCEEDED", "QUEUE_LIMIT_EXCEEDED"),
    { exact: true }
  )
}

const taskFaultRule = <A extends { readonly on: "request" | "task"; readonly path?: string }>(
  entry: A,
  kinds: ReadonlyArray<FaultKind>
) =>
  entry.on === "request" ||
  (kinds.every((k) => taskFaults.includes(k)) && entry.path === undefined) ||
  "A task fault is one of 500, 502, 503 and matches by engine, not path"

/** @internal */
export const FaultScriptEntry = Schema.Struct({
  fault: FaultKind,
  ...faultFields,
  /** How many matching requests in a row get this fault (a burst). */
  times: Schema.optionalWith(PositiveInt, { default: () => 1 })
}).pipe(Schema.filter((entry) => taskFaultRule(entry, [entry.fault])))

/** @internal */
export type FaultScriptEntry = Schema.Schema.Type<typeof FaultScriptEntry>

/** @internal */
export const FaultRate = Schema.Struct({
  /** Probability in [0, 1] that a matching request gets a fault. */
  rate: Schema.Number.pipe(Schema.between(0, 1, { message: () => "A fault rate is a probability between 0 and 1" })),
  /** Which faults, drawn evenly. */
  faults: Schema.NonEmptyArray(FaultKind),
  ...faultFields
}).pipe(Schema.filter((entry) => taskFaultRule(entry, entry.faults)))

/** @internal */
export type FaultRate = Schema.Schema.Type<typeof FaultRate>

/** @internal */
export const FaultScript = Schema.Array(FaultScriptEntry)

/** @internal */
export const Config = Schema.Struct({
  seed: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  accounts: Schema.optionalWith(Schema.NonEmptyArray(Account), {
    default: () => [Account.make({ apiKey: "sk_test_simulator", plan: Plan.make({}) })] as const
  }),
  rateLimit: Schema.optionalWith(RateLimit, { default: () => RateLimit.make({}) }),
  concurrencyCode: Schema.optionalWith(Schema.Literal("CONCURRENT_LIMIT_EXCEEDED", "CONCURRENCY_LIMIT_EXCEEDED"), {
    default: () => "CONCURRENCY_LIMIT_EXCEEDED" as const
  }),
  concurrencyHeaderPrefix: Schema.optionalWith(Schema.Literal("X-Concurrent", "X-Concurrency"), {
    default: () => "X-Concurrency" as const
  }),
  latency: Schema.optionalWith(Latency, { default: () => Latency.make({}) }),
  webhookSecret: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), { exact: true }),
  /** Waits between webhook attempts; attempts = delays + 1 (cloro: 5 attempts, ~2, 4, 8, 16 min apart). */
  webhookRetryDelays: Schema.optionalWith(Schema.Array(Millis), {
    default: () => [120_000, 240_000, 480_000, 960_000]
  }),
  /** How long one webhook attempt may take before it counts as failed. */
  webhookTimeout: Schema.optionalWith(Millis, { default: () => 30_000 }),
  /** QUEUED tasks per account (cloro: 100,000). */
  queueLimit: Schema.optionalWith(PositiveInt, { default: () => 100_000 }),
  /** Tasks PROCESSING at once across all accounts, on top of each account's concurrency cap. */
  asyncWorkers: Schema.optionalWith(PositiveInt, { default: () => 10_000 }),
  /** How long a task can be polled after its creation (cloro: ~24 h). */
  taskRetention: Schema.optionalWith(Millis, { default: () => 24 * 60 * 60 * 1000 }),
  /** Entries kept in the request log (the oldest are dropped). */
  requestLogLimit: Schema.optionalWith(NonNegativeInt, { default: () => 10_000 }),
  faults: Schema.optionalWith(
    Schema.Struct({
      script: Schema.optionalWith(FaultScript, { default: () => [] }),
      rate: Schema.optionalWith(FaultRate, { exact: true })
    }),
    { default: () => ({ script: [] }) }
  )
}).pipe(
  Schema.filter((config) => {
    const keys = config.accounts.map((a) => a.apiKey)
    const ids = config.accounts.map((a, i) => a.id ?? accountId(i))
    if (new Set(keys).size !== keys.length) return { path: ["accounts"], message: "API keys must be unique" }
    if (new Set(ids).size !== ids.length) return { path: ["accounts"], message: "Account ids must be unique" }
    return true
  })
)

/** @internal */
export type Config = Schema.Schema.Type<typeof Config>

/** @internal */
export type ConfigInput = Schema.Schema.Encoded<typeof Config>

/** The id of an account the configuration did not name. @internal */
export const accountId = (index: number): string => `account_${index + 1}`

/** @internal */
export const defaultRateLimit = (mode: "shared" | "perEndpoint"): number => (mode === "shared" ? 500 : 1000)
