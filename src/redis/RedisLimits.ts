/**
 * Both shared limits at once, the rate check folded into the concurrency
 * limiter's take: the script that grants a request its slot also records its
 * start in the shared rate log, so a request is admitted in one round trip
 * instead of paying a second trip for the rate check (and gives its slot back
 * in one more as it ends). A slot taken through `permit` carries the start to
 * the fibers its holder forks, where the request's rate check uses it once. Requests that take no slot (async submits,
 * status polls) pay the rate check's own trip as before.
 *
 * In `perEndpoint` rate mode the slot cannot know which path its request
 * will call, so the start is recorded for the path the process last called;
 * a request for another path takes its start by its own trip, and the unused
 * one only makes later starts of that path wait (never lets more in).
 *
 * @example
 * ```ts
 * import { RedisLimits, RedisStore } from "cloro-effect/redis"
 * import { Layer } from "effect"
 *
 * const Limits = RedisLimits.layer({ concurrency: { lease: "30 seconds" }, rate: { mode: "perEndpoint" } }).pipe(
 *   Layer.provide(RedisStore.layerConfig())
 * )
 * ```
 *
 * @since 0.4.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ConcurrencyLimiter from "../ConcurrencyLimiter.js"
import type * as LimiterConfig from "../internal/limits/limiterConfig.js"
import * as RateLimiter from "../RateLimiter.js"
import * as RedisConcurrencyLimiter from "./RedisConcurrencyLimiter.js"
import * as RedisRateLimiter from "./RedisRateLimiter.js"
import type { RedisStore } from "./RedisStore.js"

/**
 * @since 0.4.0
 * @category Models
 */
export interface Options {
  readonly concurrency?: RedisConcurrencyLimiter.Options | undefined
  readonly rate?: RedisRateLimiter.Options | undefined
}

/**
 * The shared `ConcurrencyLimiter` and `RateLimiter`, built together.
 *
 * @since 0.4.0
 * @category Layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<ConcurrencyLimiter.ConcurrencyLimiter | RateLimiter.RateLimiter, LimiterConfig.LimiterConfigError, RedisStore> =>
  Layer.scopedContext(Effect.gen(function*() {
    const rate = yield* RedisRateLimiter.makeFoldable(options.rate)
    const concurrency = yield* RedisConcurrencyLimiter.make(options.concurrency, rate.fold)
    return Context.make(RateLimiter.RateLimiter, rate.limiter).pipe(
      Context.add(ConcurrencyLimiter.ConcurrencyLimiter, concurrency)
    )
  }))
