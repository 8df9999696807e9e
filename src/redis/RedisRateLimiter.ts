/**
 * A `RateLimiter` shared by every process on the same Redis: at most `limit`
 * starts per window across all of them.
 *
 * It is @effect/experimental's `RateLimiter` on its Redis store (fixed
 * window, `onExceeded: "delay"`): each start takes the next place in the
 * shared count in one round trip and learns how long to wait for its window,
 * so waiting costs no further round trips. A fixed window lets up to
 * `2 × limit` start in a rolling second that straddles two windows; cloro's
 * per-second limit (500 or 1,000 per second) is far above what concurrency
 * lets through in practice, and a configured `limit` below the plan's keeps a
 * margin where that matters.
 *
 * @since 0.2.0
 */
import * as ExperimentalRateLimiter from "@effect/experimental/RateLimiter"
import * as ExperimentalRedis from "@effect/experimental/RateLimiter/Redis"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { AdmissionQueueFull } from "../CloroError.js"
import { AdmissionQueueFull as QueueFull, AdmissionTimeout, LimiterUnavailable } from "../CloroError.js"
import * as LimiterConfig from "../internal/limits/limiterConfig.js"
import * as RateLimiter from "../RateLimiter.js"
import { RedisStore } from "./RedisStore.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options extends RateLimiter.RateLimiter.Options {
  /** Names the shared count; workers with the same key share it. Default `"rate"`. */
  readonly key?: string | undefined
}

interface State {
  readonly ceiling: number | undefined
  readonly learned: number | undefined
  readonly waiting: number
  readonly admitted: number
  /** per window key: no start before this time (ms), after a response said none remain */
  readonly holds: ReadonlyMap<string, number>
}

/**
 * Builds a shared rate limiter on the `RedisStore`'s server.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<RateLimiter.RateLimiterShape, LimiterConfig.LimiterConfigError, RedisStore | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* RedisStore
    const checked = yield* Effect.all({
      limit: LimiterConfig.integerAtLeast("limit", options.limit, 1),
      maxWaiting: LimiterConfig.integerAtLeast("maxWaiting", options.maxWaiting, 0),
      maxWait: LimiterConfig.duration("maxWait", options.maxWait, { zero: true, infinite: true }),
      window: LimiterConfig.duration("window", options.window, { zero: false, infinite: false })
    }, { mode: "validate" }).pipe(Effect.mapError(LimiterConfig.collectIssues("rate")))
    const mode = options.mode ?? "shared"
    const defaultLimit = mode === "shared" ? 500 : 1000
    const window = checked.window ?? Duration.seconds(1)
    const windowMs = Duration.toMillis(window)
    const maxWait = checked.maxWait !== undefined && Duration.isFinite(checked.maxWait) ? checked.maxWait : undefined
    const prefix = `${store.prefix}${options.key ?? "rate"}:`

    const experimental = yield* ExperimentalRateLimiter.make.pipe(
      Effect.provideServiceEffect(
        ExperimentalRateLimiter.RateLimiterStore,
        ExperimentalRedis.make({ ...store.connection, prefix })
      )
    )
    const fallback = store.onUnavailable === "fail" ? undefined : store.onUnavailable.fallback.workers
    const local = fallback === undefined ? undefined : yield* RateLimiter.make({
      ...options,
      limit: Math.max(1, Math.floor((checked.limit ?? defaultLimit) / Math.max(1, fallback)))
    })

    const state = yield* Ref.make<State>({
      ceiling: checked.limit,
      learned: undefined,
      waiting: 0,
      admitted: 0,
      holds: new Map()
    })
    const limitOf = (s: State) =>
      s.learned === undefined ? s.ceiling ?? defaultLimit : Math.min(s.learned, s.ceiling ?? s.learned)

    const take = (path: string): Effect.Effect<void, AdmissionTimeout | AdmissionQueueFull | LimiterUnavailable> =>
      Effect.gen(function*() {
        const key = mode === "shared" ? "all" : path
        const s = yield* Ref.get(state)
        if (checked.maxWaiting !== undefined && s.waiting >= checked.maxWaiting) {
          return yield* new QueueFull({
            message: `The line for a rate-limit token is full (maxWaiting: ${checked.maxWaiting})`,
            limiter: "rate",
            maxWaiting: checked.maxWaiting
          })
        }
        const hold = Math.max(0, (s.holds.get(key) ?? 0) - Date.now())
        const consumed = yield* Effect.either(Effect.zipRight(
          store.countRoundTrip,
          experimental.consume({ algorithm: "fixed-window", onExceeded: "delay", window, limit: limitOf(s), key })
        ))
        if (consumed._tag === "Left") {
          const unavailable = new LimiterUnavailable({
            message: "The shared rate store (Redis) could not be reached",
            limiter: "rate",
            reason: consumed.left.message
          })
          return yield* local === undefined ? Effect.fail(unavailable) : local.take(path)
        }
        const delay = Math.max(hold, Duration.toMillis(consumed.right.delay))
        if (maxWait !== undefined && delay >= Duration.toMillis(maxWait)) {
          return yield* new AdmissionTimeout({
            message: "Waited too long for a rate-limit token",
            limiter: "rate",
            waited: maxWait
          })
        }
        if (delay > 0) {
          yield* Effect.acquireUseRelease(
            Ref.update(state, (s) => ({ ...s, waiting: s.waiting + 1 })),
            () => Effect.sleep(Duration.millis(delay)),
            () => Ref.update(state, (s) => ({ ...s, waiting: s.waiting - 1 }))
          )
        }
        yield* Ref.update(state, (s) => ({ ...s, admitted: s.admitted + 1 }))
      })

    const learn = (
      path: string,
      rate: { readonly limit?: number | undefined; readonly remaining?: number | undefined }
    ): Effect.Effect<void> =>
      Ref.update(state, (s) => {
        const learned = LimiterConfig.sanitizeLimit(rate.limit) ?? s.learned
        const key = mode === "shared" ? "all" : path
        // The server's count may be ahead of ours (a fixed window about to reset): hold for one window.
        const holds = rate.remaining === 0 ? new Map(s.holds).set(key, Date.now() + windowMs) : s.holds
        return { ...s, learned, holds }
      })

    const stats = Effect.map(Ref.get(state), (s): RateLimiter.RateLimiter.Stats => ({
      mode,
      limit: limitOf(s),
      source: s.learned !== undefined && s.learned < (s.ceiling ?? Infinity)
        ? "learned"
        : s.ceiling !== undefined
        ? "configured"
        : "default",
      waiting: s.waiting,
      admitted: s.admitted
    }))

    return RateLimiter.RateLimiter.of({ [RateLimiter.TypeId]: RateLimiter.TypeId, take, learn, stats })
  })

/**
 * The shared limiter as the `RateLimiter` service.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<RateLimiter.RateLimiter, LimiterConfig.LimiterConfigError, RedisStore> =>
  Layer.scoped(RateLimiter.RateLimiter, make(options))
