/**
 * Limits shared across processes and machines through Redis
 * (`cloro-effect/redis`). ioredis is an optional peer dependency, loaded only
 * by this entry point.
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
 * A sliding log of starts shared through Redis (at most `limit` in any rolling window), as the `RateLimiter` service.
 *
 * @since 0.2.0
 * @category Constants
 */
export * as RedisRateLimiter from "./RedisRateLimiter.js"

/**
 * Both shared limits built together, the rate check folded into the slot's take (one round trip to be admitted).
 *
 * @since 0.4.0
 * @category Constants
 */
export * as RedisLimits from "./RedisLimits.js"

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

/**
 * Webhook receivers shared by several workers: one replay memory, and every delivery seen by every worker's run.
 *
 * @since 0.2.0
 */
export * as RedisWebhooks from "./RedisWebhooks.js"
