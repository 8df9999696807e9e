/**
 * How many cloro requests may start per second.
 *
 * cloro counts requests per second, per API key (older accounts: 500/s shared
 * by every `/v1/*` path) or per key and path (newer: 1,000/s each), and it may
 * count in fixed or in sliding windows. The only schedule safe under both is
 * one that never lets more than `limit` requests reach it in any rolling
 * window. A request reaches cloro somewhere between its admission and its
 * answer, so this limiter counts each start from its admission until one
 * window after it finished (`permit`: its answer is back; `take`: its fiber
 * ran again) and admits a start only while fewer than `limit` are counted.
 * Unlike a token bucket that starts full, it never admits twice the limit in
 * the first second. An answer's `X-RateLimit-Remaining`, handed to
 * `withPermit`, can admit more at once: the server's count when the request
 * arrived, plus every start of ours that may have arrived since, bounds any
 * of its windows from then on (`creditFrom` in internal/limits/rateWindows.ts
 * has the argument, the README's "Rate limits" the summary).
 *
 * Requests that must wait queue in arrival order, and one timer per window
 * wakes them, exactly as many as may start, at O(1) cost each.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as MutableRef from "effect/MutableRef"
import * as Scope from "effect/Scope"
import type { LimiterUnavailable } from "./CloroError.js"
import { AdmissionQueueFull, AdmissionTimeout } from "./CloroError.js"
import * as Input from "./internal/request/input.js"
import * as LimiterConfig from "./internal/limits/limiterConfig.js"
import * as RateWindows from "./internal/limits/rateWindows.js"
import type { Reading, State, Ticket, Waiter, Window } from "./internal/limits/rateWindows.js"
import { checkMode, checkPace, millisOf, nowMillis, routeOf } from "./internal/limits/rateWindows.js"
import * as WaitQueue from "./internal/limits/waitQueue.js"

/**
 * Options that a limiter could not use: a limit below 1 or not a whole
 * number, a window that is not a positive duration, a negative `maxWaiting`.
 *
 * @since 0.1.0
 * @category Errors
 */
export { LimiterConfigError } from "./internal/limits/limiterConfig.js"

/**
 * @since 0.1.0
 * @category Type IDs
 */
export const TypeId: TypeId = "~cloro-effect/RateLimiter"

/**
 * @since 0.1.0
 * @category Type IDs
 */
export type TypeId = "~cloro-effect/RateLimiter"

/**
 * Admission of requests per rolling window, in FIFO order.
 *
 * The interface holds nothing specific to one process, so a shared (Redis)
 * implementation can stand in for the in-memory one.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RateLimiterShape {
  readonly [TypeId]: TypeId
  /**
   * Waits until one request to `path` (e.g. `"/v1/monitor/chatgpt"`) may
   * start. In `"shared"` mode every path counts against one window; in
   * `"perEndpoint"` mode each path has its own. A take interrupted while
   * waiting gives its place in line back to the ones behind it. A shared
   * (Redis) limiter fails with `LimiterUnavailable` when its store cannot be
   * reached; the in-memory one never does.
   */
  readonly take: (path: string) => Effect.Effect<void, AdmissionTimeout | AdmissionQueueFull | LimiterUnavailable>
  /**
   * Like `take`, for a request whose answer the caller waits for: its start
   * occupies the window until the scope closes (the answer is back) and one
   * window more, instead of one window from its admission. The server counts
   * a request when it arrives, somewhere between the two; counted this way,
   * the server's window (fixed or sliding) can never hold more than the limit,
   * however late or bunched the requests reached it. A slow call holds its
   * place until it is answered. Optional: a limiter without it (a shared one)
   * is used through `take`.
   *
   * @since 0.5.0
   */
  readonly permit?: (
    path: string
  ) => Effect.Effect<void, AdmissionTimeout | AdmissionQueueFull | LimiterUnavailable, Scope.Scope>
  /**
   * `permit` around one effect: the start counts until `effect` ends (and one
   * window more). The client's pipeline uses it when offered, because it
   * needs no `Scope`, which costs more than the rest of a call's admission.
   *
   * `read`, when given, says what the answer's `X-RateLimit-Limit` and
   * `X-RateLimit-Remaining` were (`undefined` without an answer). The
   * server's count when the request reached it lets more requests start at
   * once than the start's own occupancy would, where that provably keeps the
   * server's window within the limit (see the README's "Rate limits").
   *
   * @since 0.5.0
   */
  readonly withPermit?: <A, E, R>(
    path: string,
    effect: Effect.Effect<A, E, R>,
    read?: ((exit: Exit.Exit<A, E>) => RateLimiter.Reading | undefined) | undefined
  ) => Effect.Effect<A, E | AdmissionTimeout | AdmissionQueueFull | LimiterUnavailable, R>
  /**
   * Feeds what a response to `path` said in `X-RateLimit-Limit` and
   * `X-RateLimit-Remaining`. A reported limit is adopted within bounds: at
   * most the configured limit (or `MAX_LEARNED_RATE` without one), at least a
   * tenth of that; `remaining: 0` holds new starts on that window for one
   * window from now, because the server's count may be ahead of ours (another
   * process on the same key, or a fixed window about to reset). With even
   * pace or `permit`, a `remaining: 0` that the limiter's own last `limit` starts explain
   * (all within a window and a quarter) holds nothing: the log already
   * spaces the next start.
   */
  readonly learn: (
    path: string,
    rate: { readonly limit?: number | undefined; readonly remaining?: number | undefined }
  ) => Effect.Effect<void>
  /** A snapshot of the limiter's limit and use. */
  readonly stats: Effect.Effect<RateLimiter.Stats>
}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace RateLimiter {
  /**
   * `"shared"`: one window for every path (older accounts, 500/s).
   * `"perEndpoint"`: one window per path (newer accounts, 1,000/s each).
   *
   * @since 0.1.0
   * @category Models
   */
  export type Mode = "shared" | "perEndpoint"

  /**
   * Where the current limit came from: the mode's default, the configured
   * limit, a limit the server reported, or no limit at all.
   *
   * @since 0.1.0
   * @category Models
   */
  export type Source = "default" | "configured" | "learned" | "unlimited"

  /**
   * What an answer said in `X-RateLimit-Limit` and `X-RateLimit-Remaining`.
   *
   * @since 0.6.0
   * @category Models
   */
  export interface Reading {
    readonly limit?: number | undefined
    readonly remaining?: number | undefined
  }

  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Stats {
    readonly mode: Mode
    /**
     * starts allowed per window, for each window; `undefined` when unlimited
     * (not `Infinity`, which JSON would turn into `null`)
     */
    readonly limit: number | undefined
    readonly source: Source
    /** requests waiting to start, over all windows */
    readonly waiting: number
    /** requests admitted so far */
    readonly admitted: number
  }

  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Options {
    /**
     * Starts allowed per window. Defaults to 500 in `"shared"` mode and 1,000
     * in `"perEndpoint"` mode, and then follows what the server reports; when
     * given, a reported limit can lower it but never raise it above.
     */
    readonly limit?: number | undefined
    /** Defaults to `"shared"`, which is safe for both kinds of account. */
    readonly mode?: Mode | undefined
    /** Defaults to one second, cloro's window. */
    readonly window?: Duration.DurationInput | undefined
    /**
     * A request that would wait this long fails with `AdmissionTimeout`: at
     * once, without taking a place in line, when its turn is already known to
     * be at least this far away; otherwise when its wait has lasted this long
     * (a `learn` that holds admissions can push a turn further).
     */
    readonly maxWait?: Duration.DurationInput | undefined
    /** Fail with `AdmissionQueueFull` a request arriving when this many already wait. */
    readonly maxWaiting?: number | undefined
    /**
     * `"burst"` (the default, `Cloro.layer`'s too since 0.5.0) starts
     * `limit` requests at once and more as earlier ones leave the window.
     * `"even"` spaces starts evenly (after a burst of a twentieth of the
     * limit), which smooths the client's own load; a bare `take` then counts
     * its window 3 % longer, so requests that reach the server a little later
     * or bunched than they were admitted still fit its window. Through
     * `permit` (the client's pipeline) neither needs a margin: a start counts
     * until its answer.
     *
     * @since 0.3.0
     */
    readonly pace?: "burst" | "even" | undefined
  }
}

/**
 * @since 0.1.0
 * @category Tags
 */
export class RateLimiter extends Context.Tag("cloro-effect/RateLimiter")<RateLimiter, RateLimiterShape>() {}

/**
 * Without a configured `limit`, the largest limit adopted from
 * `X-RateLimit-Limit`: cloro's largest documented limit (1,000/s per path).
 * Learned limits stay between a tenth of the ceiling (the configured limit, or
 * this) and the ceiling.
 *
 * @since 0.2.0
 * @category Constants
 */
export const MAX_LEARNED_RATE = 1000

/**
 * The bounds of a limit learned from `X-RateLimit-Limit`: between a tenth of
 * the ceiling and the ceiling, where the ceiling is the configured limit or,
 * without one, `MAX_LEARNED_RATE` (cloro's largest documented limit). A
 * header saying 1 must not slow every call to a crawl, nor one saying 10⁹
 * lift the limit.
 */
const learnedBounds = (configured: number | undefined) => {
  const max = configured ?? MAX_LEARNED_RATE
  return { min: Math.max(1, Math.ceil(max / 10)), max }
}

/**
 * Builds an in-memory limiter. Its timers run in the given scope, so close it
 * only when no one waits any longer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimiter } from "cloro-effect"
 *
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const limiter = yield* RateLimiter.make({ limit: 1000, mode: "perEndpoint" })
 *   yield* limiter.take("/v1/monitor/chatgpt")
 *   // ...send the request
 * }))
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options: RateLimiter.Options = {}
): Effect.Effect<RateLimiterShape, LimiterConfig.LimiterConfigError, Scope.Scope> =>
  LimiterConfig.guardOptions("rate", () => Effect.gen(function*() {
    const given = yield* LimiterConfig.optionsOf("rate", options)
    const checked = yield* Effect.all({
      limit: LimiterConfig.integerAtLeast("limit", given.limit, 1),
      mode: checkMode(given.mode),
      window: LimiterConfig.duration("window", given.window, { zero: false, infinite: false }),
      maxWait: LimiterConfig.duration("maxWait", given.maxWait, { zero: true, infinite: true }),
      maxWaiting: LimiterConfig.integerAtLeast("maxWaiting", given.maxWaiting, 0),
      pace: checkPace(given.pace)
    }, { mode: "validate" }).pipe(Effect.mapError(LimiterConfig.collectIssues("rate")))
    const maxWait = checked.maxWait !== undefined && Duration.isFinite(checked.maxWait) ? checked.maxWait : undefined
    const windows = RateWindows.make({
      mode: checked.mode,
      configured: checked.limit,
      configuredWindow: Duration.toMillis(checked.window ?? Duration.seconds(1)),
      even: checked.pace === "even",
      maxWaiting: checked.maxWaiting,
      maxWaitMillis: maxWait === undefined ? undefined : Duration.toMillis(maxWait)
    })
    const { even, keyOf, tick } = windows
    const mode = checked.mode
    const maxWaiting = checked.maxWaiting
    const bounds = learnedBounds(checked.limit)
    const scope = yield* Effect.scope
    // Every change is a pure function of the state applied in one synchronous step (`modify`), which
    // nothing can interleave with on the one JS thread: as atomic as `Ref.modify`, without an effect per
    // step, so that an admission that need not wait and the finish of a start cost no Effect operation.
    const state = MutableRef.make<State>(windows.initial)
    const modify = <B>(f: (state: State) => readonly [B, State]): B => {
      const [result, next] = f(MutableRef.get(state))
      MutableRef.set(state, next)
      return result
    }
    const wakeAll = (wake: ReadonlyArray<Waiter>): void => {
      for (const waiter of wake) Deferred.unsafeDone(waiter.deferred, Exit.void)
    }

    // One timer per window with waiters, sleeping until its first waiter may
    // start. Each step is uninterruptible so that waiters taken off the line
    // are always woken; only the sleep can be interrupted (by the scope).
    const runTimer = (window: Window): Effect.Effect<void> =>
      Effect.gen(function*() {
        while (true) {
          const now = yield* nowMillis
          // One synchronous step: the waiters taken off the line are always woken.
          const pumped = modify(windows.pump(window, now))
          wakeAll(pumped.wake)
          const next = pumped.next
          if (next === undefined) {
            return
          }
          // Even pace wakes at most every few milliseconds and catches up from
          // its slack, instead of a timer per start (500 a second at 500/s).
          // in whole milliseconds, as timers count, rounded up (never early; a
          // rounding error below a nanosecond is not a millisecond more): a
          // window 3 % longer makes fractions of a millisecond
          const delay = even ? Math.max(next - now, tick) : next - now
          yield* Effect.sleep(Duration.millis(Math.max(0, Math.ceil(delay - 1e-6))))
        }
      })

    // A waiter that gives up leaves the line. One that was admitted in the
    // same instant finishes its start at once, as a take would have: the
    // window cannot tell whether it was about to be sent.
    const cancel = (window: Window, node: WaitQueue.Node<Waiter>) =>
      Effect.withFiberRuntime<void>((fiber) => {
        const now = millisOf(fiber)
        modify((state) => {
          if (WaitQueue.remove(window.waiters, node)) return [undefined, { ...state, waiting: state.waiting - 1 }]
          const start = node.value.start
          // a take's finish wakes nobody (only an answer's reading can)
          return [undefined, start === undefined ? state : windows.finish({ window, start, path: node.value.path }, "take", now)(state)[1]]
        })
        return Effect.void
      })

    const awaitTurn = LimiterConfig.awaitTurn("rate", "a rate-limit admission", maxWait)

    /**
     * Ends a start's time in flight at the current time (see
     * `RateWindows.Finish`), and wakes the waiters an answer's reading lets
     * start at once.
     */
    const finish = (ticket: Ticket, how: RateWindows.Finish, reading?: Reading | undefined) =>
      Effect.withFiberRuntime<void>((fiber) => {
        wakeAll(modify(windows.finish(ticket, how, millisOf(fiber), reading)))
        return Effect.void
      })

    /** What `read` makes of an answer; a reader that throws reads nothing. */
    const readingOf = <A, E>(
      read: ((exit: Exit.Exit<A, E>) => Reading | undefined) | undefined,
      exit: Exit.Exit<A, E>
    ): Reading | undefined => {
      if (read === undefined) return undefined
      try {
        return read(exit)
      } catch {
        return undefined
      }
    }

    /**
     * Waits for a start on `path`'s window and goes on with it, unfinished,
     * to `then`. Run uninterruptibly, with `restore` around the wait: a start
     * handed out is always given to a caller that will finish it. A start
     * free at once is taken in the same step as the call, with no effect of
     * its own.
     */
    const admit = <X, E2, R>(
      path: string,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
      then: (ticket: Ticket) => Effect.Effect<X, E2, R>
    ): Effect.Effect<X, E2 | AdmissionTimeout | AdmissionQueueFull, R> =>
      Effect.withFiberRuntime((fiber) => {
        const waiter: Waiter = { deferred: Deferred.unsafeMake<void>(fiber.id()), path: routeOf(path), start: undefined }
        const admission = modify(windows.admit(keyOf(path), waiter, millisOf(fiber)))
        switch (admission._tag) {
          case "Admitted":
            return then(admission.ticket)
          case "Full":
            return Effect.fail(
              new AdmissionQueueFull({
                message: `The line for a rate-limit admission is full (maxWaiting: ${maxWaiting})`,
                limiter: "rate",
                maxWaiting: maxWaiting ?? 0
              })
            )
          case "TooLate":
            return Effect.fail(
              new AdmissionTimeout({
                message: `The next admission is ${Math.ceil(admission.wait)} ms away, more than maxWait (${
                  Duration.format(maxWait ?? Duration.zero)
                }); failed without waiting`,
                limiter: "rate",
                waited: Duration.zero
              })
            )
          case "Queued": {
            const { node, window } = admission
            const waited = restore(awaitTurn(waiter.deferred)).pipe(
              Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : cancel(window, node)),
              Effect.flatMap(() => {
                const start = waiter.start
                return start === undefined
                  ? Effect.dieMessage("RateLimiter: a waiter was woken without a start")
                  : then({ window, start, path: waiter.path })
              })
            )
            // The timer is forked from the uninterruptible region, so made interruptible
            // explicitly: closing the scope must be able to stop it.
            return admission.startTimer
              ? Effect.zipRight(Effect.forkIn(Effect.interruptible(runTimer(window)), scope), waited)
              : waited
          }
        }
      })

    // A take's start is counted from when its fiber runs again: an admission
    // handed to a waiter starts then, which a busy event loop or a GC pause
    // can delay by tens of milliseconds.
    const take = (path: string): Effect.Effect<void, AdmissionTimeout | AdmissionQueueFull> =>
      Effect.uninterruptibleMask((restore) => admit(path, restore, (ticket) => finish(ticket, "take")))

    const permit = (path: string): Effect.Effect<void, AdmissionTimeout | AdmissionQueueFull, Scope.Scope> =>
      Effect.uninterruptibleMask((restore) =>
        admit(path, restore, (ticket) => Effect.flatMap(Effect.scope, (scope) => Scope.addFinalizer(scope, finish(ticket, "answer"))))
      )

    const withPermit = <A, E, R>(
      path: string,
      effect: Effect.Effect<A, E, R>,
      read?: ((exit: Exit.Exit<A, E>) => Reading | undefined) | undefined
    ): Effect.Effect<A, E | AdmissionTimeout | AdmissionQueueFull, R> =>
      Effect.uninterruptibleMask((restore) =>
        admit(path, restore, (ticket) =>
          read === undefined
            ? Effect.ensuring(restore(effect), finish(ticket, "answer"))
            : Effect.onExit(restore(effect), (exit) => finish(ticket, "answer", readingOf(read, exit)))))

    const learn = (
      path: string,
      rate: { readonly limit?: number | undefined; readonly remaining?: number | undefined }
    ): Effect.Effect<void> => Input.orWarn(() => {
      const sane = LimiterConfig.sanitizeLimit(rate?.limit)
      const reported = sane === undefined ? undefined : LimiterConfig.clampLearned(sane, bounds)
      const exhausted = rate?.remaining === 0
      if (reported === undefined && !exhausted) {
        return Effect.void
      }
      return Effect.withFiberRuntime<void>((fiber) => {
        const now = millisOf(fiber)
        MutableRef.update(state, windows.learn(path, reported, exhausted, now))
        return Effect.void
      })
    }, "RateLimiter.learn")

    const stats = Effect.sync((): RateLimiter.Stats => {
      const now = MutableRef.get(state)
      return { mode, limit: now.limit, source: now.source, waiting: now.waiting, admitted: now.admitted }
    })

    return RateLimiter.of({ [TypeId]: TypeId, take, permit, withPermit, learn, stats })
  }))

/**
 * A limiter that admits every request at once; `learn` does nothing and
 * `stats` reports an infinite limit.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const unlimited: RateLimiterShape = RateLimiter.of({
  [TypeId]: TypeId,
  take: () => Effect.void,
  learn: () => Effect.void,
  stats: Effect.succeed({ mode: "shared", limit: undefined, source: "unlimited", waiting: 0, admitted: 0 })
})

/**
 * An in-memory limiter built from `options`; fails with `LimiterConfigError`
 * when they make no sense.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "cloro-effect"
 *
 * // A newer account: 1,000 requests per second on each path.
 * const Rate = RateLimiter.layer({ mode: "perEndpoint", maxWait: "10 seconds" })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: RateLimiter.Options = {}
): Layer.Layer<RateLimiter, LimiterConfig.LimiterConfigError> => Layer.scoped(RateLimiter, make(options))

/**
 * A limiter that never makes a request wait, for tests and for traffic
 * limited elsewhere.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerUnlimited: Layer.Layer<RateLimiter> = Layer.succeed(RateLimiter, unlimited)
