/**
 * One line of set-up for the common case: the client with every limit,
 * the ledger, the monitor and the retry policy wired in sensible defaults.
 * Each piece stays its own service, so any one can be replaced.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as CloroClient from "./CloroClient.js"
import * as CloroConfig from "./CloroConfig.js"
import * as ConcurrencyLimiter from "./ConcurrencyLimiter.js"
import * as Credits from "./Credits.js"
import * as ConfigIssues from "./internal/configIssues.js"
import * as Input from "./internal/request/input.js"
import * as RateLimiter from "./RateLimiter.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as UsageMonitor from "./UsageMonitor.js"

/**
 * How to set up each piece; every field is optional.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CloroOptions {
  /** Concurrency slots for `/v1/monitor/*`: options, or `"unlimited"`. Default: learn the plan's limit, starting at 1. */
  readonly concurrency?: ConcurrencyLimiter.ConcurrencyLimiter.Options | "unlimited" | undefined
  /** Per-second admission: options, or `"unlimited"`. Default: 500/s shared across `/v1/*`. */
  readonly rateLimit?: RateLimiter.RateLimiter.Options | "unlimited" | undefined
  /** Retries: options, or `"none"`. Default: `RetryPolicy.defaults`. */
  readonly retry?: RetryPolicy.RetryOptionsInput | "none" | undefined
  /** The ledger: a budget, a starting balance. */
  readonly credits?: Credits.CreditsOptions | undefined
  /** Warning thresholds, or `"silent"` to turn the log lines off. */
  readonly monitor?: UsageMonitor.UsageMonitorOptions | "silent" | undefined
}

/**
 * Every service `Cloro.layer` provides.
 *
 * @since 0.1.0
 * @category Models
 */
export type Services =
  | CloroClient.CloroClient
  | CloroConfig.CloroConfig
  | ConcurrencyLimiter.ConcurrencyLimiter
  | RateLimiter.RateLimiter
  | Credits.Credits
  | UsageMonitor.UsageMonitor
  | RetryPolicy.RetryPolicy

/**
 * Any configuration error of the pieces.
 *
 * @since 0.1.0
 * @category Models
 */
export type SetupError =
  | CloroConfig.CloroConfigError
  | ConcurrencyLimiter.LimiterConfigError
  | RetryPolicy.RetryPolicyError
  | Credits.CreditsConfigError
  | UsageMonitor.UsageMonitorConfigError

/**
 * The pipeline services alone, for a client built with `CloroClient.layer`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerServices = (options: CloroOptions = {}): Layer.Layer<
  | ConcurrencyLimiter.ConcurrencyLimiter
  | RateLimiter.RateLimiter
  | Credits.Credits
  | UsageMonitor.UsageMonitor
  | RetryPolicy.RetryPolicy,
  SetupError
> =>
  // Options from plain JS (`null`, a number, a throwing getter) fail the layer, typed, instead of throwing here.
  Layer.unwrapEffect(Input.guard(
    () =>
      !Input.isRecord(options)
        ? Effect.fail(
          new CloroConfig.CloroConfigError(ConfigIssues.one("Cloro", "options", `must be an object, got ${Input.show(options)}`))
        )
        : Effect.succeed(Layer.mergeAll(
          options.concurrency === "unlimited"
            ? ConcurrencyLimiter.layerUnlimited
            : ConcurrencyLimiter.layer(options.concurrency ?? {}),
          options.rateLimit === "unlimited"
            ? RateLimiter.layerUnlimited
            // the limiter's own default pace ("burst"): the pipeline counts each start until its answer
            // (`permit`), so however bunched requests reach cloro, its window never holds more than the limit
            : RateLimiter.layer(options.rateLimit ?? {}),
          options.retry === "none" ? RetryPolicy.layerNone : RetryPolicy.layer(options.retry ?? {}),
          Credits.layer(options.credits ?? {}),
          options.monitor === "silent" ? UsageMonitor.layerSilent() : UsageMonitor.layer(options.monitor ?? {})
        )),
    (cause) => new CloroConfig.CloroConfigError(ConfigIssues.unreadable("Cloro", cause))
  ))

/**
 * Every pipeline service, opted out of explicitly: no concurrency or rate
 * limit, no resend (`RetryPolicy.layerNone`), a ledger without budget, a
 * monitor without log lines. For a client that must send each call exactly
 * once (tests, tools, traffic limited elsewhere):
 * `CloroClient.layerWith(connection).pipe(Layer.provide(Cloro.layerBare))`.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerBare: Layer.Layer<
  | ConcurrencyLimiter.ConcurrencyLimiter
  | RateLimiter.RateLimiter
  | Credits.Credits
  | UsageMonitor.UsageMonitor
  | RetryPolicy.RetryPolicy
> = Layer.mergeAll(
  ConcurrencyLimiter.layerUnlimited,
  RateLimiter.layerUnlimited,
  RetryPolicy.layerNone,
  Layer.orDie(Credits.layer()),
  Layer.orDie(UsageMonitor.layerSilent())
)

/**
 * The client and every service it uses, from explicit connection options.
 * Needs an `HttpClient` (e.g. `NodeHttpClient.layerUndici`).
 *
 * @example
 * ```ts
 * import { Cloro } from "cloro-effect"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Layer } from "effect"
 *
 * const CloroLive = Cloro.layer({ apiKey: "sk_live_..." }, { credits: { budget: 50_000 } }).pipe(
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  connection: CloroConfig.CloroConfigOptions,
  options: CloroOptions = {}
): Layer.Layer<Services, SetupError, HttpClient.HttpClient> =>
  CloroClient.layer.pipe(
    Layer.provideMerge(Layer.merge(CloroConfig.layer(connection), layerServices(options)))
  )

/**
 * The client and every service it uses, with the connection read from the
 * environment (`CLORO_API_KEY`, `CLORO_BASE_URL`, ...).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  options: CloroOptions = {}
): Layer.Layer<Services, SetupError | ConfigError.ConfigError, HttpClient.HttpClient> =>
  CloroClient.layer.pipe(
    Layer.provideMerge(Layer.merge(CloroConfig.layerConfig(), layerServices(options)))
  )
