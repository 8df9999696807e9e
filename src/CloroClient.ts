/**
 * The typed cloro client: every endpoint as an `Effect`, requests validated
 * before they are sent, answers decoded, failures in the `CloroError` union,
 * and the usage headers of every answer returned alongside its result.
 *
 * Calls go through the `ConcurrencyLimiter`, `RateLimiter`, `Credits`,
 * `UsageMonitor` and `RetryPolicy` services, and the client's layer requires
 * each of them: `Cloro.layer` provides them all, and doing without one is an
 * explicit choice (`ConcurrencyLimiter.layerUnlimited`,
 * `RateLimiter.layerUnlimited`, `RetryPolicy.layerNone`, ...), never an
 * accident of a forgotten layer.
 *
 * Every method takes any JS value: input outside its declared type fails as
 * a typed `InvalidRequest`, never a throw or a defect.
 *
 * This file owns the service, its method table and its layers; the monitor
 * calls (one per engine of the registry) are built in
 * `internal/request/monitorCalls.ts`, the reference calls in
 * `accountCalls.ts`, the task calls and their credit reservations in
 * `taskCalls.ts`, the options guard in `callOptions.ts`, the mock in
 * `mock.ts`; every call runs through `internal/request/pipeline.ts`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as FiberSet from "effect/FiberSet"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Schema from "effect/Schema"
import * as Account from "./Account.js"
import type { CloroError } from "./CloroError.js"
import { CloroConfig, type CloroConfigOptions } from "./CloroConfig.js"
import * as CloroConfigModule from "./CloroConfig.js"
import * as ConcurrencyLimiter from "./ConcurrencyLimiter.js"
import * as Credits from "./Credits.js"
import * as Engine from "./Engine.js"
import * as GoogleGoto from "./engines/GoogleGoto.js"
import * as Engines from "./internal/engines.js"
import { handOverOf } from "./internal/limits/waitQueueSlots.js"
import { type CheckedOptions, checkOptionsEither, guarded, isPolicy } from "./internal/request/callOptions.js"
import * as AccountCalls from "./internal/request/accountCalls.js"
import * as MonitorCalls from "./internal/request/monitorCalls.js"
import * as Http from "./internal/request/http.js"
import { Deadlines } from "./internal/request/deadlines.js"
import { makeMock, type MockHandlers } from "./internal/request/mock.js"
import * as TaskCalls from "./internal/request/taskCalls.js"
import * as Pipeline from "./internal/request/pipeline.js"
import * as Telemetry from "./internal/request/telemetry.js"
import * as RateLimiter from "./RateLimiter.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as Task from "./Task.js"
import type { Usage } from "./Usage.js"
import * as UsageMonitor from "./UsageMonitor.js"

/**
 * A decoded answer with what its headers said about the account.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CloroResponse<A> {
  readonly result: A
  readonly usage: Usage
  /**
   * The whole JSON body as cloro sent it, fields this library does not know
   * yet included (`result` drops them). Set on every answer the client
   * receives; absent only where no answer was received (a mock, or a batch
   * whose every task was refused locally).
   */
  readonly raw?: unknown
}

/**
 * Per-call options.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CallOptions {
  /** Tags the call's spend in the `Credits` ledger (e.g. a customer id). */
  readonly tag?: string | undefined
  /** Overrides the configured timeout for this call. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Overrides the retry policy for this call (`RetryPolicy.none`: sent exactly once). */
  readonly retry?: RetryPolicy.RetryPolicyShape | undefined
  /**
   * Request fields this library does not know yet, sent as they are beside
   * the validated request (monitor calls and `googleGoto`). A name the
   * request schema knows is refused: set it on the request, where it is checked.
   */
  readonly unknownFields?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The services every client call goes through, besides its config and an
 * `HttpClient`: the requirements of `CloroClient.layer`.
 *
 * @since 0.2.0
 * @category Models
 */
export type PipelineServices =
  | ConcurrencyLimiter.ConcurrencyLimiter
  | RateLimiter.RateLimiter
  | Credits.Credits
  | UsageMonitor.UsageMonitor
  | RetryPolicy.RetryPolicy

/**
 * A sync monitor call for one engine.
 *
 * @since 0.1.0
 * @category Models
 */
export type MonitorMethod<N extends Engine.EngineName> = (
  request: Engine.Request<N>,
  options?: CallOptions
) => Effect.Effect<CloroResponse<Engine.Result<N>>, CloroError>

/** `MonitorMethod` as a function of the engine, for the registry's `perEngine`. */
interface MonitorMethodOf extends Engines.PerEngine {
  readonly Out: MonitorMethod<Engines.EngineOf<this>>
}

/**
 * The client's endpoints.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CloroClientShape {
  /** Sync scrapes (`POST /v1/monitor/*`): a concurrency slot each, billed with the +2 sync surcharge. */
  readonly monitor: { readonly [N in Engine.EngineName]: MonitorMethod<N> } & {
    /** Resolves a Google `/goto` or `/url` redirect (free, no concurrency slot). */
    readonly googleGoto: (
      request: GoogleGoto.Request,
      options?: CallOptions
    ) => Effect.Effect<CloroResponse<GoogleGoto.Response>, CloroError>
  }
  /** The async task API (`/v1/async/*`): cheaper, queued instead of refused for concurrency. */
  readonly tasks: {
    readonly submit: (
      task: Task.SubmitTask,
      options?: CallOptions
    ) => Effect.Effect<CloroResponse<Task.SubmitResponse>, CloroError>
    /** Submits 1–500 tasks at once; each item succeeds or fails on its own. */
    readonly submitBatch: (
      tasks: ReadonlyArray<Task.SubmitTask>,
      options?: CallOptions
    ) => Effect.Effect<CloroResponse<Task.BatchResponse>, CloroError>
    /** The task's state; a COMPLETED task carries its engine's typed result. */
    readonly get: (taskId: string, options?: CallOptions) => Effect.Effect<CloroResponse<Task.TaskState>, CloroError>
    /** Queue metrics of the organization. */
    readonly status: (options?: CallOptions) => Effect.Effect<CloroResponse<Task.AsyncStatus>, CloroError>
    /** Deletes every still-QUEUED task. */
    readonly clearQueue: (options?: CallOptions) => Effect.Effect<CloroResponse<Task.ClearQueueResponse>, CloroError>
    /**
     * Feeds a task state seen outside `get` (a webhook delivery) to the
     * client's ledger; a finished task is settled once however it is seen.
     * A value that is not a task state is ignored with a warning log line.
     */
    readonly settle: (state: Task.TaskState, tag?: string | undefined) => Effect.Effect<void>
  }
  /** Free reference endpoints. */
  readonly account: {
    readonly credits: (options?: CallOptions) => Effect.Effect<CloroResponse<Account.CreditsBalance>, CloroError>
    readonly countries: (
      model?: CountriesModel | undefined,
      options?: CallOptions
    ) => Effect.Effect<CloroResponse<Account.Countries>, CloroError>
    readonly states: (
      country?: string | undefined,
      options?: CallOptions
    ) => Effect.Effect<CloroResponse<Account.States>, CloroError>
  }
}

/**
 * The engines `GET /v1/countries?model=` accepts.
 *
 * @since 0.1.0
 * @category Models
 */
export type CountriesModel = "aimode" | "aioverview" | "chatgpt" | "copilot" | "gemini" | "google" | "grok" | "perplexity"

/**
 * The client service.
 *
 * @example
 * ```ts
 * import { Cloro, CloroClient } from "cloro-effect"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const cloro = yield* CloroClient.CloroClient
 *   const answer = yield* cloro.monitor.chatgpt({ prompt: "Best CRM for startups?", country: "US" })
 *   yield* Effect.log(answer.result.text, answer.usage.credits.remaining)
 * })
 *
 * // The client and every service it uses (limits, retries, ledger, monitor):
 * program.pipe(Effect.provide(Cloro.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))))
 * ```
 *
 * @since 0.1.0
 * @category Tags
 */
export class CloroClient extends Context.Tag("cloro-effect/CloroClient")<CloroClient, CloroClientShape>() {}

/**
 * A per-fiber override of the retry policy, set by `withRetry`.
 */
const currentRetryOverride = FiberRef.unsafeMake<Option.Option<RetryPolicy.RetryPolicyShape>>(Option.none())

/**
 * Runs `effect` with every cloro call inside it using `policy` for retries.
 *
 * @example
 * ```ts
 * import { CloroClient, RetryPolicy } from "cloro-effect"
 * import { Effect } from "effect"
 *
 * const once = Effect.flatMap(CloroClient.CloroClient, (cloro) =>
 *   cloro.account.credits()).pipe(CloroClient.withRetry(RetryPolicy.none))
 * ```
 *
 * @since 0.1.0
 * @category Functions
 */
export const withRetry: {
  (policy: RetryPolicy.RetryPolicyShape): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(effect: Effect.Effect<A, E, R>, policy: RetryPolicy.RetryPolicyShape): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(effect: Effect.Effect<A, E, R>, policy: RetryPolicy.RetryPolicyShape): Effect.Effect<A, E, R> =>
    Effect.locally(effect, currentRetryOverride, Option.some(policy))
)

// `makeMock` and `MockHandlers` live in internal/request/mock.ts, documented there
export { makeMock, type MockHandlers }

/**
 * Builds a client from the config, an `HttpClient`, and the pipeline
 * services, all of them required. Run in a `Scope` (as `layer` does), the
 * background fiber of a billed call whose caller was interrupted belongs to
 * that scope: closing it waits for an exchange still on the wire (within its
 * timeout) and books it. Without a scope that fiber is a daemon, bounded by
 * the call's timeout only.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: Effect.Effect<
  CloroClientShape,
  never,
  CloroConfig | HttpClient.HttpClient | PipelineServices
> = Effect.gen(
  function*() {
    const config = yield* CloroConfig
    const httpClient = yield* HttpClient.HttpClient
    const concurrency = yield* ConcurrencyLimiter.ConcurrencyLimiter
    const rate = yield* RateLimiter.RateLimiter
    const credits = yield* Credits.Credits
    const monitor = yield* UsageMonitor.UsageMonitor
    const defaultRetry = yield* RetryPolicy.RetryPolicy

    const slots: Pipeline.SlotGate = {
      withPermit: concurrency.withPermit,
      permit: concurrency.permit,
      handOver: handOverOf(concurrency),
      learn: concurrency.learn,
      size: Effect.map(concurrency.stats, (stats) => stats.size)
    }
    const envDebug = yield* Telemetry.envDebug
    const scope = yield* Effect.serviceOption(Scope.Scope)
    // With a scope, one fiber keeps every exchange's timeout instead of a timer fiber each.
    // Made before the background fibers' set, so it is closed after them: an exchange still on the
    // wire when the layer closes keeps its timeout.
    const deadlines = yield* Option.match(scope, {
      onNone: () => Effect.succeed(undefined),
      onSome: (scope) => Scope.extend(Deadlines.make, scope)
    })
    // A billed call's background fiber lives in the layer's scope when there is one:
    // closing the layer waits for an exchange still on the wire instead of leaving it running.
    const background = yield* Option.match(scope, {
      onNone: () => Effect.succeed(undefined),
      onSome: (scope) => Scope.extend(FiberSet.make<unknown, unknown>(), scope)
    })
    const send = Http.makeSend(httpClient, config, deadlines)
    const fork: Pipeline.Fork | undefined = background && ((effect) => FiberSet.run(background, effect))
    const adopt = background && ((fiber: Fiber.RuntimeFiber<unknown, unknown>) => FiberSet.unsafeAdd(background, fiber))

    /** Runs a call through the pipeline (internal/request/pipeline.ts) with this call's retry policy and timeout. */
    const execute = <A>(
      call: Http.Call<A>,
      options: CheckedOptions,
      billing: Pipeline.Billing
    ): Effect.Effect<CloroResponse<A>, CloroError> =>
      // The override read in the fiber's own step: this runs on every call.
      Effect.withFiberRuntime((fiber) => {
        const override = fiber.getFiberRef(currentRetryOverride)
        const retry = options.retry ?? Option.getOrElse(Option.filter(override, isPolicy), () => defaultRetry)
        const timed: Http.Call<A> = options.timeout === undefined ? call : { ...call, timeout: options.timeout }
        return Effect.flatMap(
          Pipeline.run({ slots, rate, credits, monitor, retry, fork, adopt, envDebug }, send, timed, billing, options),
          (answer) => Effect.succeed<CloroResponse<A>>({ result: answer.body, usage: answer.usage, raw: answer.raw })
        )
      })

    const free = { estimate: 0, maxCost: 0, tag: undefined, engine: undefined }

    /** A public method: options checked, any input turned into a typed failure. */
    const method = <A>(
      name: string,
      options: unknown,
      body: (options: CheckedOptions) => Effect.Effect<A, CloroError>
    ): Effect.Effect<A, CloroError> =>
      guarded(name, () =>
        Either.match(checkOptionsEither(options), {
          onLeft: Effect.fail,
          onRight: (checked) => body({ ...checked, operation: name })
        }))

    const referenceCall = <A, I>(
      method: "GET" | "POST" | "DELETE",
      path: string,
      schema: Schema.Schema<A, I>,
      extra: Partial<Pick<Http.Call<A>, "body" | "urlParams">> = {}
    ): Http.Call<A> => ({
      method,
      path,
      kind: "free",
      decode: Http.decodeWith(schema),
      timeout: config.referenceTimeout,
      ...extra
    })

    const { get, settle: settleFinished, submit, submitBatch } = TaskCalls.make({
      credits,
      execute,
      method,
      referenceCall,
      free
    })

    const { countries, credits: accountCredits, googleGoto, states } = AccountCalls.make({
      credits,
      execute,
      method,
      referenceCall,
      free
    })

    return {
      monitor: { ...Engines.perEngine<MonitorMethodOf>(MonitorCalls.make({ config, execute, method })), googleGoto },
      tasks: {
        submit,
        submitBatch,
        get,
        status: (options) =>
          method("tasks.status", options, (checked) =>
            execute(referenceCall("GET", "/v1/async/status", Task.AsyncStatus), checked, free)),
        clearQueue: (options) =>
          method("tasks.clearQueue", options, (checked) =>
            execute(referenceCall("DELETE", "/v1/async/queue", Task.ClearQueueResponse), checked, free)),
        settle: settleFinished
      },
      account: { credits: accountCredits, countries, states }
    }
  }
)

/**
 * The client, given a `CloroConfig`, an `HttpClient` and every pipeline
 * service (`PipelineServices`); `Cloro.layer` wires them all.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<CloroClient, never, CloroConfig | HttpClient.HttpClient | PipelineServices> = Layer
  .scoped(CloroClient, make)

/**
 * The client with its config from options; needs an `HttpClient` and every
 * pipeline service.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerWith = (
  options: CloroConfigOptions
): Layer.Layer<CloroClient, CloroConfigModule.CloroConfigError, HttpClient.HttpClient | PipelineServices> =>
  layer.pipe(Layer.provide(CloroConfigModule.layer(options)))

/**
 * The client with its config from the environment (`CLORO_API_KEY`,
 * `CLORO_BASE_URL`, ...); needs an `HttpClient` and every pipeline service.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig: Layer.Layer<
  CloroClient,
  CloroConfigModule.CloroConfigError | ConfigError.ConfigError,
  HttpClient.HttpClient | PipelineServices
> = layer.pipe(Layer.provide(CloroConfigModule.layerConfig()))


/**
 * `makeMock` as a layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerMock = (handlers: MockHandlers): Layer.Layer<CloroClient> =>
  Layer.succeed(CloroClient, makeMock(handlers))
