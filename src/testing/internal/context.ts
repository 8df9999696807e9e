/**
 * The one context every part of the simulator's core shares: the config,
 * the state in a `Ref`, the wake-up queue of the async dispatcher, the
 * account keys and the small derived helpers (rate limit, concurrency
 * headers, latency and result randomness). Built once per simulator by
 * `core.make`; the endpoint, fault and background modules are functions of
 * it.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { Config, Distribution, EngineName } from "./config.js"
import { accountId, defaultRateLimit } from "./config.js"
import * as Prng from "./prng.js"
import * as State from "./state.js"

/** @internal */
export interface Context {
  readonly config: Config
  readonly state: Ref.Ref<State.State>
  /** Where the background fibers (dispatcher, tasks, webhook deliveries) live. */
  readonly scope: Scope.Scope
  /** Taken by the dispatcher; sliding, so many wake-ups fold into one. */
  readonly wakes: Queue.Dequeue<void>
  /** Starts any QUEUED task that has a free slot. */
  readonly wake: Effect.Effect<void>
  /** API key to account id. */
  readonly keys: ReadonlyMap<string, string>
  readonly accountIdOf: (apiKeyOrId: string) => string | undefined
  /** Requests per window per bucket. */
  readonly rateLimit: number
  readonly concurrencyHeaders: (limit: number, current: number) => Record<string, string>
  readonly latencyOf: (engine: EngineName) => Distribution
  /** The same engine and body give the same answer, whatever the order of requests. */
  readonly resultPrng: (engine: EngineName, body: unknown) => Prng.Prng
  /** Where webhooks are posted; without one they are only captured. */
  readonly webhookClient: HttpClient.HttpClient | undefined
}

/** @internal */
export const make = (
  config: Config,
  webhookClient: HttpClient.HttpClient | undefined
): Effect.Effect<Context, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const state = yield* Ref.make(State.initial(config))
    const wakes = yield* Queue.sliding<void>(1)
    const keys: ReadonlyMap<string, string> = new Map(config.accounts.map((a, i) => [a.apiKey, a.id ?? accountId(i)]))
    const ids: ReadonlySet<string> = new Set(keys.values())
    const prefix = config.concurrencyHeaderPrefix
    return {
      config,
      state,
      scope,
      wakes,
      wake: Queue.offer(wakes, undefined).pipe(Effect.asVoid),
      keys,
      accountIdOf: (apiKeyOrId) => keys.get(apiKeyOrId) ?? (ids.has(apiKeyOrId) ? apiKeyOrId : undefined),
      rateLimit: config.rateLimit.limit ?? defaultRateLimit(config.rateLimit.mode),
      concurrencyHeaders: (limit, current) => ({
        [`${prefix}-Limit`]: String(limit),
        [`${prefix}-Current`]: String(current),
        [`${prefix}-Remaining`]: String(Math.max(0, limit - current))
      }),
      latencyOf: (engine) => config.latency.engines[engine] ?? config.latency.default,
      resultPrng: (engine, body) => Prng.make(config.seed, `${engine}:${Prng.canonical(body)}`),
      webhookClient
    }
  })

/** One draw of a latency distribution, in milliseconds. @internal */
export const sample = (distribution: Distribution, prng: Prng.Prng): number => {
  switch (distribution._tag) {
    case "Fixed":
      return distribution.millis
    case "Uniform":
      return Math.round(distribution.min + prng.float("u") * (distribution.max - distribution.min))
    case "LogNormal": {
      // Box-Muller: one standard normal draw from two uniforms.
      const u1 = Math.max(prng.float("u1"), Number.EPSILON)
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * prng.float("u2"))
      const value = Math.round(distribution.median * Math.exp(distribution.sigma * z))
      return distribution.max === undefined ? value : Math.min(value, distribution.max)
    }
  }
}
