/**
 * How many cloro requests may be in flight at once.
 *
 * cloro answers a `/v1/monitor/*` request over the plan's concurrency cap with
 * an immediate 429 instead of queueing it, so the client queues instead: a
 * request holds one slot while it is on the wire, and the others wait for a
 * slot in arrival order.
 *
 * Effect's `Semaphore` is not used underneath: it wakes every waiter on each
 * release, which costs seconds and gigabytes with a few thousand waiters. Here
 * a release hands its slot to exactly one waiter, the first in line, at O(1)
 * cost, so 20,000 waiting requests cost little more than their fibers.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as MutableRef from "effect/MutableRef"
import type * as Scope from "effect/Scope"
import type { LimiterUnavailable } from "./CloroError.js"
import { AdmissionQueueFull, AdmissionTimeout } from "./CloroError.js"
import * as LimiterConfig from "./internal/limits/limiterConfig.js"
import * as WaitQueue from "./internal/limits/waitQueue.js"
import {
  drain,
  type HandOver,
  HandOverId,
  type HasHandOver,
  noWake,
  release,
  type Restore,
  sizeOf,
  type State,
  type Waiter,
  wakeAll
} from "./internal/limits/waitQueueSlots.js"
import * as Slots from "./internal/limits/waitQueueSlots.js"

/**
 * Options that a limiter could not use: a limit below 1 or not a whole
 * number, a negative `maxWaiting`, a `maxWait` that is not a duration.
 *
 * @since 0.1.0
 * @category Errors
 */
export { LimiterConfigError } from "./internal/limits/limiterConfig.js"

/**
 * @since 0.1.0
 * @category Type IDs
 */
export const TypeId: TypeId = "~cloro-effect/ConcurrencyLimiter"

/**
 * @since 0.1.0
 * @category Type IDs
 */
export type TypeId = "~cloro-effect/ConcurrencyLimiter"

/**
 * Slots for concurrent requests, taken in FIFO order.
 *
 * The interface holds nothing specific to one process, so a shared (Redis)
 * implementation can stand in for the in-memory one.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ConcurrencyLimiterShape {
  readonly [TypeId]: TypeId
  /**
   * Runs `effect` holding one slot, after waiting for one in arrival order.
   * The slot is given back when `effect` succeeds, fails, dies or is
   * interrupted, and also when the wait itself is interrupted or times out.
   * A shared (Redis) limiter fails with `LimiterUnavailable` when its store
   * cannot be reached; the in-memory one never does.
   */
  readonly withPermit: <A, E, R>(
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | AdmissionTimeout | AdmissionQueueFull | LimiterUnavailable, R>
  /**
   * Optional: takes one slot, after waiting in the same line as `withPermit`,
   * and holds it until the current `Scope` closes. With it a caller can wait
   * in its own fiber and hand the held slot to another fiber (which closes
   * the scope), so the client forks a billed call's background fiber only
   * once the call is admitted: a waiting call costs one fiber, not two. A
   * limiter without it still works; its billed calls wait in that background
   * fiber instead.
   */
  readonly permit?: Effect.Effect<void, AdmissionTimeout | AdmissionQueueFull | LimiterUnavailable, Scope.Scope>
  /**
   * Sets the number of slots, as an explicit configuration: it replaces what
   * was configured and learned, and later learned limits cannot exceed it.
   * Growing admits waiters at once; shrinking below the slots in use lets the
   * running requests finish and admits no one until fewer than `size` run.
   */
  readonly resize: (size: number) => Effect.Effect<void, LimiterConfig.LimiterConfigError>
  /**
   * Feeds a limit the server reported (`X-Concurrency-Limit`, or a 429's
   * `details.limit`). Without a configured limit it becomes the size; with
   * one, the size is the smaller of the two, so a plan downgrade is honoured
   * and a header can never raise the size above what the caller allowed.
   * Without a configured limit a reported one is believed up to
   * `MAX_LEARNED_LIMIT` (500). A limit below 1 or not a number is ignored.
   */
  readonly learn: (limit: number) => Effect.Effect<void>
  /** A snapshot of the limiter's size and use. */
  readonly stats: Effect.Effect<ConcurrencyLimiter.Stats>
}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace ConcurrencyLimiter {
  /**
   * Where the current size came from: the `initialLimit` used before anything
   * is known, the configured limit (or the last `resize`), a limit the server
   * reported, or no limit at all.
   *
   * @since 0.1.0
   * @category Models
   */
  export type Source = "initial" | "configured" | "learned" | "unlimited"

  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Stats {
    /**
     * the number of slots now; `undefined` when unlimited (not `Infinity`,
     * which JSON would turn into `null`)
     */
    readonly size: number | undefined
    /** slots held; above `size` for a while after a shrink */
    readonly inUse: number
    /** requests waiting for a slot */
    readonly waiting: number
    /** the most slots ever held at once */
    readonly peakInUse: number
    readonly source: Source
  }

  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Options {
    /**
     * The plan's limit (Free 1, Lite 10, Hobby 20, ...). A server-reported
     * limit can lower the size below it but never raise it above.
     */
    readonly limit?: number | undefined
    /**
     * The size used until the server reports a limit, when `limit` is not
     * given. Defaults to 1: too small is slow, too large draws 429s.
     */
    readonly initialLimit?: number | undefined
    /** Fail with `AdmissionTimeout` a request that waited this long for a slot. */
    readonly maxWait?: Duration.DurationInput | undefined
    /** Fail with `AdmissionQueueFull` a request arriving when this many already wait. */
    readonly maxWaiting?: number | undefined
  }
}

/**
 * The largest limit a limiter without a configured `limit` adopts from the
 * server (`X-Concurrency-Limit`, a 429's `details.limit`): above every plan
 * cloro sells (the largest, 255 × 1.3), far below what a mangled header could
 * say. Configure `limit` to go higher.
 *
 * @since 0.2.0
 * @category Constants
 */
export const MAX_LEARNED_LIMIT = 500

/**
 * @since 0.1.0
 * @category Tags
 */
export class ConcurrencyLimiter extends Context.Tag("cloro-effect/ConcurrencyLimiter")<ConcurrencyLimiter, ConcurrencyLimiterShape>() {}

/**
 * Builds an in-memory limiter.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ConcurrencyLimiter } from "cloro-effect"
 *
 * const program = Effect.gen(function* () {
 *   const limiter = yield* ConcurrencyLimiter.make({ limit: 10, maxWait: "30 seconds" })
 *   yield* limiter.withPermit(Effect.log("at most 10 of these at once"))
 * })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options: ConcurrencyLimiter.Options = {}
): Effect.Effect<ConcurrencyLimiterShape, LimiterConfig.LimiterConfigError> =>
  LimiterConfig.guardOptions("concurrency", () => Effect.gen(function*() {
    const given = yield* LimiterConfig.optionsOf("concurrency", options)
    const checked = yield* Effect.all({
      limit: LimiterConfig.integerAtLeast("limit", given.limit, 1),
      initialLimit: LimiterConfig.integerAtLeast("initialLimit", given.initialLimit, 1),
      maxWaiting: LimiterConfig.integerAtLeast("maxWaiting", given.maxWaiting, 0),
      maxWait: LimiterConfig.duration("maxWait", given.maxWait, { zero: true, infinite: true })
    }, { mode: "validate" }).pipe(Effect.mapError(LimiterConfig.collectIssues("concurrency")))
    const initial = checked.initialLimit ?? 1
    const maxWaiting = checked.maxWaiting
    const maxWait = checked.maxWait !== undefined && Duration.isFinite(checked.maxWait) ? checked.maxWait : undefined

    // A `MutableRef`, changed only by `step`: every change is one synchronous
    // read-modify-write (atomic on one thread, as `Ref.modify` is), so a slot
    // can be handed over, and the call it goes to started, in the same step
    // (`HandOver`), with no effect built or fiber woken in between.
    const ref = MutableRef.make<State>({
      ceiling: checked.limit,
      learned: undefined,
      ...sizeOf(checked.limit, undefined, initial),
      inUse: 0,
      peakInUse: 0,
      waiters: WaitQueue.make()
    })
    const step = <B>(f: (state: State) => readonly [B, State]): B => {
      const [result, next] = f(MutableRef.get(ref))
      MutableRef.set(ref, next)
      return result
    }

    const admit = Slots.admit(maxWaiting)

    // A waiter that leaves the line before being served just steps out; one
    // that was handed a slot in the same instant it gave up passes it on.
    const cancel = (node: WaitQueue.Node<Waiter>) =>
      Effect.sync(() => wakeAll(step((state) => WaitQueue.remove(state.waiters, node) ? [noWake, state] : release(state))))

    const releaseNow = () => wakeAll(step(release))
    const giveBack = Effect.sync(releaseNow)

    const awaitTurn = LimiterConfig.awaitTurn("concurrency", "a concurrency slot", maxWait)

    const queueFull = () =>
      new AdmissionQueueFull({
        message: `The line for a concurrency slot is full (maxWaiting: ${maxWaiting})`,
        limiter: "concurrency",
        maxWaiting: maxWaiting ?? 0
      })

    // Runs inside `withPermit`'s uninterruptible region: only the wait itself
    // is restored to interruptible, and leaving it early always settles the
    // place in line, so no slot is ever lost or held twice.
    // No generator here: a waiting call keeps this frame alive for as long as it waits.
    const acquire = (restore: Restore): Effect.Effect<void, AdmissionTimeout | AdmissionQueueFull> =>
      Effect.flatMap(Deferred.make<void>(), (deferred) =>
        Effect.suspend((): Effect.Effect<void, AdmissionTimeout | AdmissionQueueFull> => {
          const admission = step(admit(() => Deferred.unsafeDone(deferred, Exit.void)))
          switch (admission._tag) {
            case "Acquired":
              return Effect.void
            case "Full":
              return Effect.fail(queueFull())
            case "Queued":
              return restore(awaitTurn(deferred)).pipe(
                Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : cancel(admission.node))
              )
          }
        }))

    const withPermit = <A, E, R>(
      effect: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | AdmissionTimeout | AdmissionQueueFull, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(acquire(restore), Effect.ensuring(restore(effect), giveBack))
      )

    // The slot and its finalizer are taken in one uninterruptible step, so a
    // slot taken is always given back when the scope closes.
    const permit: Effect.Effect<void, AdmissionTimeout | AdmissionQueueFull, Scope.Scope> = Effect
      .uninterruptibleMask((restore) => Effect.zipRight(acquire(restore), Effect.addFinalizer(() => giveBack)))

    // Sizing steps wake the waiters they hand slots to in the same step.
    const setLimits = (f: (state: State) => Pick<State, "ceiling" | "learned">) =>
      Effect.sync(() =>
        wakeAll(step((state) => {
          const limits = f(state)
          return drain({ ...state, ...limits, ...sizeOf(limits.ceiling, limits.learned, initial) })
        }))
      )

    const resize = (size: number): Effect.Effect<void, LimiterConfig.LimiterConfigError> =>
      LimiterConfig.integerAtLeast("size", size, 1).pipe(
        Effect.mapError((issue) => LimiterConfig.collectIssues("concurrency")({ size: Option.some(issue) })),
        Effect.zipRight(setLimits(() => ({ ceiling: size, learned: undefined })))
      )

    const learn = (limit: number): Effect.Effect<void> => {
      const reported = LimiterConfig.sanitizeLimit(limit)
      return reported === undefined
        ? Effect.void
        : setLimits((state) => ({
          ceiling: state.ceiling,
          // A configured limit already caps the size; without one a header is
          // believed only up to MAX_LEARNED_LIMIT.
          learned: LimiterConfig.clampLearned(reported, { min: 1, max: MAX_LEARNED_LIMIT })
        }))
    }

    const stats = Effect.sync((): ConcurrencyLimiter.Stats => {
      const state = MutableRef.get(ref)
      return {
      size: state.size,
      inUse: state.inUse,
      waiting: state.waiters.length,
      peakInUse: state.peakInUse,
      source: state.source
      }
    })

    // The client's Scope-free hand-over (internal/limits/waitQueueSlots.ts): a
    // waiter is a plain entry whose `onSlot` the releasing fiber runs. With
    // `maxWait` the wait needs a timer of its own, so it is not offered then.
    const handOver: HandOver = {
      join: (onSlot) => {
        const admission = step(admit(onSlot))
        return admission._tag === "Full" ? { _tag: "Full", error: queueFull() } : admission
      },
      leave: (node) => {
        step((state) => [WaitQueue.remove(state.waiters, node), state])
      },
      release: releaseNow
    }

    const limiter: ConcurrencyLimiterShape & Partial<HasHandOver> = {
      [TypeId]: TypeId,
      withPermit,
      permit,
      resize,
      learn,
      stats,
      ...(maxWait === undefined ? { [HandOverId]: handOver } : {})
    }
    return ConcurrencyLimiter.of(limiter)
  }))

/** `unlimited`, with the hand-over the pipeline starts billed calls through. */
const unlimitedLimiter: ConcurrencyLimiterShape & HasHandOver = {
  [TypeId]: TypeId,
  withPermit: (effect) => effect,
  permit: Effect.void,
  resize: () => Effect.void,
  learn: () => Effect.void,
  stats: Effect.succeed({ size: undefined, inUse: 0, waiting: 0, peakInUse: 0, source: "unlimited" }),
  // Every call is admitted at once, so a billed call starts on the pipeline's cheapest path.
  [HandOverId]: { join: () => ({ _tag: "Acquired" }), leave: () => {}, release: () => {} }
}

/**
 * A limiter that admits everything at once: `withPermit` runs the effect as
 * it is, `learn` and `resize` do nothing, and `stats` reports an infinite size.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const unlimited: ConcurrencyLimiterShape = ConcurrencyLimiter.of(unlimitedLimiter)

/**
 * An in-memory limiter built from `options`; fails with `LimiterConfigError`
 * when they make no sense.
 *
 * @example
 * ```ts
 * import { ConcurrencyLimiter } from "cloro-effect"
 *
 * // Hobby plan: 20 at once; wait at most a minute, queue at most 10,000.
 * const Limits = ConcurrencyLimiter.layer({ limit: 20, maxWait: "1 minute", maxWaiting: 10_000 })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: ConcurrencyLimiter.Options = {}
): Layer.Layer<ConcurrencyLimiter, LimiterConfig.LimiterConfigError> => Layer.effect(ConcurrencyLimiter, make(options))

/**
 * A limiter that never makes a request wait, for accounts whose concurrency
 * is enforced elsewhere, and for tests.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerUnlimited: Layer.Layer<ConcurrencyLimiter> = Layer.succeed(ConcurrencyLimiter, unlimited)
