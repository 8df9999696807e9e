/**
 * Limits shared across processes and machines through Redis
 * (`cloro-effect/redis`). ioredis and @effect/experimental are optional peer
 * dependencies, loaded only by this entry point.
 *
 * @since 0.2.0
 */

/**
 * The Redis connection every shared layer uses; `layerConfig` reads `CLORO_REDIS_URL`.
 *
 * @since 0.2.0
 * @category Constants
 */
export * as RedisStore from "./RedisStore.js"

/**
 * A distributed counting semaphore with leases, as the `ConcurrencyLimiter` service.
 *
 * @since 0.2.0
 * @category Constants
 */
export * as RedisConcurrencyLimiter from "./RedisConcurrencyLimiter.js"

/**
 * A per-window admission count shared through @effect/experimental's Redis store, as the `RateLimiter` service.
 *
 * @since 0.2.0
 * @category Constants
 */
export * as RedisRateLimiter from "./RedisRateLimiter.js"

/**
 * A credit ledger (spend per tag, reservations, budget, balance) shared by every worker, as the `Credits` service.
 *
 * @since 0.2.0
 * @category Constants
 */
export * as RedisCredits from "./RedisCredits.js"

/**
 * Async runs shared by several workers: a journal in Redis and a claim on each input.
 *
 * @since 0.2.0
 * @category Constants
 */
export * as RedisAsyncTasks from "./RedisAsyncTasks.js"
