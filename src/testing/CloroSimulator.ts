/**
 * A faithful local cloro, for tests, demos and benchmarks.
 *
 * It answers every documented endpoint with cloro's wire format: the same
 * request validation (it uses the library's own engine schemas), the same
 * error envelope and codes, the usage headers (either spelling of the
 * concurrency ones), per-key concurrency and per-second limits, a credit
 * balance charged from the real price table, an async queue with priorities,
 * idempotency, polling and signed webhooks, latency distributions, and
 * injectable faults. Answers are deterministic for a seed.
 *
 * It runs two ways with the same core: as an in-memory `HttpClient` layer (no
 * sockets; time is Effect's `Clock`, so `TestClock` drives latency, queues
 * and webhook retries) and as a real HTTP server on loopback.
 *
 * This module is the public surface (configuration, the service, its layers);
 * the workings are in `internal/`: `core.ts` (the order of one request) and
 * the modules it names, `service.ts` (the controls and counters over a core),
 * `inMemory.ts` and `loopback.ts` (the two transports), `configError.ts`.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 * import { CloroSimulator } from "cloro-effect/testing"
 *
 * const program = Effect.gen(function* () {
 *   const client = yield* HttpClient.HttpClient // answered by the simulator
 *   const sim = yield* CloroSimulator.CloroSimulator
 *   // ... call cloro through `client`, then assert on what the simulator saw:
 *   const counters = yield* sim.counters
 *   return counters.creditsCharged.total
 * }).pipe(
 *   Effect.provide(CloroSimulator.layer({
 *     seed: 42,
 *     accounts: [{ apiKey: "sk_test_a", plan: { concurrency: 2, credits: 100 } }],
 *     latency: { default: CloroSimulator.fixed(1_000) }
 *   }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internalConfig from "./internal/config.js"
import { decodeStrict, type SimulatorConfigError } from "./internal/configError.js"
import * as Core from "./internal/core.js"
import * as InMemory from "./internal/inMemory.js"
import * as Loopback from "./internal/loopback.js"
import * as ServiceImpl from "./internal/service.js"
import type * as State from "./internal/state.js"

// ---------------------------------------------------------------------------
// configuration
// ---------------------------------------------------------------------------

/**
 * The simulator's configuration schema. Every field is optional; decoding
 * fills cloro's defaults (one account `sk_test_simulator` with 10 slots and
 * 37,500 credits, 1000 requests/s per endpoint in a fixed window,
 * `CONCURRENCY_LIMIT_EXCEEDED` and `X-Concurrency-*`, zero latency, a
 * 100,000-task queue, webhooks retried 4 times 2/4/8/16 minutes apart).
 *
 * @since 0.1.0
 */
export const Config = internalConfig.Config

/**
 * What `make` and the layers accept (`Config`'s encoded side).
 *
 * @since 0.1.0
 */
export type ConfigInput = internalConfig.ConfigInput

/**
 * A configuration with every default filled in.
 *
 * @since 0.1.0
 */
export type ResolvedConfig = internalConfig.Config

/**
 * A latency distribution: `Fixed`, `Uniform` or `LogNormal`.
 *
 * @since 0.1.0
 */
export type Distribution = Schema.Schema.Encoded<typeof internalConfig.Distribution>

/**
 * One entry of a fault script: the next `times` requests matching `path`,
 * `engine` and `method` (or, with `on: "task"`, the next async tasks of
 * `engine`) get `fault`.
 *
 * @since 0.1.0
 */
export type FaultScriptEntry = Schema.Schema.Encoded<typeof internalConfig.FaultScriptEntry>

/**
 * Faults drawn at random (from the seed) for a share `rate` of matching requests.
 *
 * @since 0.1.0
 */
export type FaultRate = Schema.Schema.Encoded<typeof internalConfig.FaultRate>

/**
 * The faults the simulator can inject. `500`, `502`, `503` (with
 * `Retry-After`) and `429` answer at once; `reset` drops the connection;
 * `stall` holds the request (5 minutes by default) and then answers 500;
 * `malformedHeaders`, `missingHeaders` and `garbageBody` mangle an answer that
 * was otherwise processed (and charged) normally, as a broken proxy would.
 *
 * @since 0.1.0
 */
export type FaultKind = internalConfig.FaultKind

/**
 * The engines, by the names the latency table and fault scripts use.
 *
 * @since 0.1.0
 */
export type EngineName = internalConfig.EngineName

/**
 * Always `millis`.
 *
 * @since 0.1.0
 */
export const fixed = (millis: number): Distribution => ({ _tag: "Fixed", millis })

/**
 * Evenly between `min` and `max` milliseconds.
 *
 * @since 0.1.0
 */
export const uniform = (min: number, max: number): Distribution => ({ _tag: "Uniform", min, max })

/**
 * Log-normal around `median` milliseconds (`sigma` is the spread of the
 * logarithm; 0.5 gives a realistic tail), optionally capped at `max`.
 *
 * @since 0.1.0
 */
export const logNormal = (median: number, sigma: number, max?: number): Distribution =>
  max === undefined ? { _tag: "LogNormal", median, sigma } : { _tag: "LogNormal", median, sigma, max }

/**
 * Latencies close to what the engines take in production (medians of a few
 * to tens of seconds, long tails), for demos and benchmarks.
 *
 * @since 0.1.0
 */
export const realisticLatency = {
  default: logNormal(15_000, 0.5, 300_000),
  engines: {
    chatgpt: logNormal(25_000, 0.5, 300_000),
    perplexity: logNormal(12_000, 0.45, 300_000),
    gemini: logNormal(15_000, 0.5, 300_000),
    copilot: logNormal(20_000, 0.5, 300_000),
    grok: logNormal(20_000, 0.5, 300_000),
    aimode: logNormal(10_000, 0.45, 300_000),
    google: logNormal(5_000, 0.4, 120_000),
    googleNews: logNormal(4_000, 0.4, 120_000)
  },
  goto: logNormal(800, 0.3, 10_000)
} satisfies NonNullable<ConfigInput["latency"]>

/**
 * cloro's self-serve plans (cloro-api.md §11): concurrency and monthly credits.
 *
 * @since 0.1.0
 */
export const plans = {
  free: { concurrency: 1, credits: 500 },
  lite: { concurrency: 10, credits: 37_500 },
  hobby: { concurrency: 20, credits: 250_000 },
  starter: { concurrency: 50, credits: 650_000 },
  growth: { concurrency: 75, credits: 1_350_000 },
  business: { concurrency: 100, credits: 2_800_000 }
} as const

// The error class is defined beside the strict decoder (`internal/configError.ts`)
// so that the service's internals can fail with it without importing this module.
export { SimulatorConfigError } from "./internal/configError.js"

// ---------------------------------------------------------------------------
// the service
// ---------------------------------------------------------------------------

/**
 * A request as the core sees it. Header names are lower-case.
 *
 * @since 0.1.0
 */
export type SimRequest = Core.SimRequest

/**
 * A response as the core produces it.
 *
 * @since 0.1.0
 */
export type SimResponse = Core.SimResponse

/**
 * The core's way of saying "drop the connection" (an injected `reset`).
 *
 * @since 0.1.0
 */
export const ConnectionReset = Core.ConnectionReset

/**
 * @since 0.1.0
 */
export type ConnectionReset = Core.ConnectionReset

/**
 * One answered request. It names the account by id, never by its key.
 *
 * @since 0.1.0
 */
export type RequestLogEntry = State.LogEntry

/**
 * One webhook delivery attempt, with the exact headers and body sent.
 *
 * @since 0.1.0
 */
export type WebhookAttempt = State.WebhookAttempt

/**
 * What the simulator has seen, for assertions.
 *
 * @since 0.1.0
 */
export interface Counters {
  /** The most slots each account held at once (sync requests and PROCESSING tasks). */
  readonly peakConcurrency: Readonly<Record<string, number>>
  /** Slots each account holds now. */
  readonly inFlight: Readonly<Record<string, number>>
  /** 429 answers by `error.code`. */
  readonly rejections: Readonly<Record<string, number>>
  /** Answers by endpoint template and status (`0` = connection reset). */
  readonly requests: Readonly<Record<string, Readonly<Record<string, number>>>>
  readonly creditsCharged: { readonly total: number; readonly byAccount: Readonly<Record<string, number>> }
  readonly balances: Readonly<Record<string, number>>
  readonly requestLog: ReadonlyArray<RequestLogEntry>
}

/**
 * An async task as the simulator holds it.
 *
 * @since 0.1.0
 */
export interface TaskInfo {
  readonly id: string
  readonly accountId: string
  readonly taskType: string
  readonly status: State.TaskStatus
  readonly priority: number
  readonly idempotencyKey: string | null
  readonly createdAt: number
  readonly startedAt: number | null
  readonly finishedAt: number | null
  readonly creditsToCharge: number
  readonly creditsCharged: number | null
  readonly webhook: State.WebhookState | null
}

/**
 * The simulator's controls and inspection.
 *
 * @since 0.1.0
 */
export interface Service {
  /** Base URL to send requests to (in memory any host works; this is cloro's). */
  readonly url: string
  readonly config: ResolvedConfig
  /** The shared core: one request in, one response out. */
  readonly handle: (request: SimRequest) => Effect.Effect<SimResponse, ConnectionReset>
  readonly counters: Effect.Effect<Counters>
  /**
   * Back to the configured state: balances, tasks, windows, faults, counters.
   * Meant for between tests; requests and tasks still running finish against
   * the fresh state.
   */
  readonly reset: Effect.Effect<void>
  /** Sets an account's balance, by API key or account id. */
  readonly setBalance: (account: string, credits: number) => Effect.Effect<void, SimulatorConfigError>
  /** Changes an account's concurrency cap, as a plan change would. */
  readonly setConcurrency: (account: string, limit: number) => Effect.Effect<void, SimulatorConfigError>
  readonly balance: (account: string) => Effect.Effect<number, SimulatorConfigError>
  /** Appends entries to the fault script. */
  readonly injectFaults: (script: ReadonlyArray<FaultScriptEntry>) => Effect.Effect<void, SimulatorConfigError>
  /** Sets (or with `undefined` clears) the random fault rate. */
  readonly setFaultRate: (rate: FaultRate | undefined) => Effect.Effect<void, SimulatorConfigError>
  readonly tasks: Effect.Effect<ReadonlyArray<TaskInfo>>
  readonly webhooks: Effect.Effect<ReadonlyArray<WebhookAttempt>>
}

/**
 * The running simulator.
 *
 * @since 0.1.0
 */
export class CloroSimulator extends Context.Tag("cloro-effect/testing/CloroSimulator")<CloroSimulator, Service>() {}

/**
 * How the simulator reaches the outside world.
 *
 * @since 0.1.0
 */
export interface Options {
  /**
   * Sends webhooks. Without it deliveries are only captured (see
   * `Service.webhooks`) and count as acknowledged.
   */
  readonly webhookClient?: HttpClient.HttpClient | undefined
}

/**
 * Decodes a configuration, filling defaults, or fails with every problem found.
 *
 * @since 0.1.0
 */
export const decodeConfig = (input: unknown): Effect.Effect<ResolvedConfig, SimulatorConfigError> =>
  decodeStrict(Config, "simulator configuration")(input)

const makeCore = (config: ConfigInput, options: Options) =>
  Effect.flatMap(decodeConfig(config), (resolved) => Core.make(resolved, { webhookClient: options.webhookClient }))

/**
 * Starts a simulator in the current scope (its queue workers and webhook
 * deliveries run until the scope closes). Talk to it through `handle` or
 * `httpClient`.
 *
 * @since 0.1.0
 */
export const make = (
  config: ConfigInput = {},
  options: Options = {}
): Effect.Effect<Service, SimulatorConfigError, Scope.Scope> =>
  Effect.map(makeCore(config, options), (core) => ServiceImpl.fromCore(core, "https://api.cloro.dev"))

// ---------------------------------------------------------------------------
// in memory
// ---------------------------------------------------------------------------

/**
 * An `HttpClient` answered by `handle`, without sockets. A `reset` fault
 * fails the call with a transport `RequestError`, as a dropped connection does.
 *
 * @since 0.1.0
 */
export const httpClient: (
  handle: (request: SimRequest) => Effect.Effect<SimResponse, ConnectionReset>
) => HttpClient.HttpClient = InMemory.httpClient

/**
 * The simulator and an in-memory `HttpClient` that it answers.
 *
 * @since 0.1.0
 */
export const layer = (
  config: ConfigInput = {},
  options: Options = {}
): Layer.Layer<CloroSimulator | HttpClient.HttpClient, SimulatorConfigError> =>
  Layer.scopedContext(
    Effect.map(make(config, options), (service) =>
      Context.make(CloroSimulator, service).pipe(Context.add(HttpClient.HttpClient, httpClient(service.handle))))
  )

// ---------------------------------------------------------------------------
// on loopback
// ---------------------------------------------------------------------------

/**
 * Where the loopback server listens.
 *
 * @since 0.1.0
 */
export interface ServerOptions extends Options {
  /** 0 (the default) picks a free port. */
  readonly port?: number | undefined
}

/**
 * The simulator as a real HTTP server on 127.0.0.1 (port 0 = a free port);
 * `url` is where it listens. The server stops when the layer's scope closes.
 * Needs the optional peer dependency `@effect/platform-node`, loaded only here.
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { CloroSimulator } from "cloro-effect/testing"
 *
 * const program = Effect.gen(function* () {
 *   const sim = yield* CloroSimulator.CloroSimulator
 *   console.log(`cloro simulator on ${sim.url}`)
 * }).pipe(Effect.provide(CloroSimulator.layerServer({ seed: 1 })))
 * ```
 *
 * @since 0.1.0
 */
export const layerServer = (
  config: ConfigInput = {},
  options: ServerOptions = {}
): Layer.Layer<CloroSimulator, SimulatorConfigError | HttpServerError.ServeError> =>
  Loopback.layer(CloroSimulator, makeCore(config, options), options.port ?? 0)
