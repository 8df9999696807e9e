/**
 * A `RateLimiter` shared by every process on the same Redis: at most `limit`
 * starts in any rolling window (1 s by default) across all of them.
 *
 * A sliding log in Lua, not @effect/experimental's `RateLimiter`: its Redis
 * store offers a fixed window, which lets up to `2 × limit` start in a
 * rolling second that straddles two windows, and a token bucket, which lets a
 * full bucket start at once and the refill follow within the same second (up
 * to `2 × limit` too); cloro counts per rolling second, so either would draw
 * 429s at full speed. Here each start is a member of a sorted set scored by
 * its start time: one script (one round trip) finds the earliest time at
 * which the window behind it holds fewer than `limit` starts, no earlier than
 * the last start given out (first come, first served), records it and
 * answers how long to wait, so waiting costs no further round trips.
 *
 * Built with the shared concurrency limiter (`RedisLimits.layer`), a request
 * that takes a slot has its start recorded by the slot's own script, and
 * `take` costs no round trip at all: it finds the start the slot came with
 * and waits it out.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { AdmissionQueueFull } from "../CloroError.js"
import { AdmissionQueueFull as QueueFull, AdmissionTimeout, LimiterUnavailable } from "../CloroError.js"
import * as LimiterConfig from "../internal/limits/limiterConfig.js"
import * as RateLimiter from "../RateLimiter.js"
import * as LuaScript from "./internal/luaScript.js"
import * as RateFold from "./internal/rateFold.js"
import { RedisStore } from "./RedisStore.js"

// KEYS: log (zset: start id → start time, ms), seq (counter)
// ARGV: window ms, limit, hold ms, max wait ms ("" for none)
// Returns the wait in ms before this start, or -1 when it is beyond max wait (nothing recorded).
const takeScript = LuaScript.make(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - window))
local at = now + tonumber(ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
if last and tonumber(last) > at then at = tonumber(last) end
if redis.call('ZCARD', KEYS[1]) >= limit then
  -- the limit-th latest start must leave the window (closed at both ends) first
  local kth = tonumber(redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')[2])
  if kth + window + 1 > at then at = kth + window + 1 end
end
if ARGV[4] ~= '' and at > now and at - now >= tonumber(ARGV[4]) then return -1 end
redis.call('ZADD', KEYS[1], at, redis.call('INCR', KEYS[2]))
redis.call('PEXPIRE', KEYS[1], at - now + window + 1000)
redis.call('PEXPIRE', KEYS[2], at - now + window + 1000)
return at - now
`)

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
  /** the window key of the last take: where a slot's folded start is recorded (`perEndpoint` mode) */
  readonly lastKey: string | undefined
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
  Effect.map(makeFoldable(options), (built) => built.limiter)

/**
 * `make`, with the `fold` that lets `RedisConcurrencyLimiter.make` record
 * this limiter's starts as it grants slots (what `RedisLimits` does).
 *
 * @since 0.4.0
 * @category Constructors
 */
export const makeFoldable = (
  options: Options = {}
): Effect.Effect<
  { readonly limiter: RateLimiter.RateLimiterShape; readonly fold: RateFold.Fold },
  LimiterConfig.LimiterConfigError,
  RedisStore | Scope.Scope
> =>
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
      holds: new Map(),
      lastKey: mode === "shared" ? "all" : undefined
    })
    const limitOf = (s: State) =>
      s.learned === undefined ? s.ceiling ?? defaultLimit : Math.min(s.learned, s.ceiling ?? s.learned)

    const logOf = (key: string) => `${prefix}${key}:log`

    /** Waits out `delayMs` (counted as waiting), then counts the start. */
    const startAfter = (delayMs: number) =>
      Effect.zipRight(
        delayMs > 0
          ? Effect.acquireUseRelease(
            Ref.update(state, (s) => ({ ...s, waiting: s.waiting + 1 })),
            () => Effect.sleep(Duration.millis(delayMs)),
            () => Ref.update(state, (s) => ({ ...s, waiting: s.waiting - 1 }))
          )
          : Effect.void,
        Ref.update(state, (s) => ({ ...s, admitted: s.admitted + 1 }))
      )

    const tooLong = () =>
      new AdmissionTimeout({
        message: "Waited too long for a rate-limit token",
        limiter: "rate",
        waited: maxWait ?? Duration.zero
      })

    const take = (path: string): Effect.Effect<void, AdmissionTimeout | AdmissionQueueFull | LimiterUnavailable> =>
      Effect.gen(function*() {
        const key = mode === "shared" ? "all" : path
        // A start recorded with this fiber's slot (`RedisLimits`): used once, for its own log only.
        const recorded = yield* FiberRef.getAndSet(RateFold.current, undefined)
        const prepaid = recorded === undefined || (yield* Ref.getAndSet(recorded.claimed, true)) ? undefined : recorded
        const s = yield* Ref.modify(state, (s) => [s, s.lastKey === key ? s : { ...s, lastKey: key }])
        if (prepaid !== undefined && prepaid.log === logOf(key) && (s.holds.get(key) ?? 0) <= Date.now()) {
          const delay = prepaid.readyAt - (yield* Clock.currentTimeMillis)
          if (maxWait !== undefined && delay >= Duration.toMillis(maxWait)) return yield* tooLong()
          return yield* startAfter(delay)
        }
        if (checked.maxWaiting !== undefined && s.waiting >= checked.maxWaiting) {
          return yield* new QueueFull({
            message: `The line for a rate-limit token is full (maxWaiting: ${checked.maxWaiting})`,
            limiter: "rate",
            maxWaiting: checked.maxWaiting
          })
        }
        // The breaker is open: straight to the fallback, without a trip that would fail.
        if (local !== undefined && (yield* store.down) !== undefined) return yield* local.take(path)
        const hold = Math.max(0, (s.holds.get(key) ?? 0) - Date.now())
        const consumed = yield* Effect.either(store.run("rate", (redis) =>
          LuaScript.run(redis, takeScript, [logOf(key), `${prefix}${key}:seq`], [
            windowMs,
            limitOf(s),
            hold,
            maxWait === undefined ? "" : Duration.toMillis(maxWait)
          ])))
        if (consumed._tag === "Left") {
          return yield* local === undefined ? Effect.fail(consumed.left) : local.take(path)
        }
        const delay = Number(consumed.right)
        if (maxWait !== undefined && delay < 0) return yield* tooLong()
        yield* startAfter(delay)
      })

    const learn = (
      path: string,
      rate: { readonly limit?: number | undefined; readonly remaining?: number | undefined }
    ): Effect.Effect<void> =>
      Ref.update(state, (s) => {
        const learned = LimiterConfig.sanitizeLimit(rate.limit) ?? s.learned
        const key = mode === "shared" ? "all" : path
        // The server's count may be ahead of ours: hold this process's starts for one window.
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

    // No start is folded in while the server says to hold off, nor before a path is known (`perEndpoint`).
    const fold: RateFold.Fold = {
      spec: Effect.map(Ref.get(state), (s) =>
        s.lastKey === undefined || (s.holds.get(s.lastKey) ?? 0) > Date.now()
          ? ""
          : `${Math.ceil(windowMs)} ${limitOf(s)} ${logOf(s.lastKey)}`)
    }

    return {
      limiter: RateLimiter.RateLimiter.of({ [RateLimiter.TypeId]: RateLimiter.TypeId, take, learn, stats }),
      fold
    }
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
