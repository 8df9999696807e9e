/**
 * The in-memory concurrency limiter's state and its pure steps: admission
 * (a free slot, a full line, or a place in line), handing freed slots to the
 * first waiters (`drain`), and the size from a configured and a learned
 * limit. `ConcurrencyLimiter.make` runs them inside one `Ref.modify` each and
 * wakes the waiters it was told to afterwards.
 *
 * A waiter is what to run once it is handed a slot (`Waiter`): completing a
 * `Deferred` for `withPermit`, or starting the call itself for a call handed
 * its slot (`ConcurrencyLimiter.handOverOf`), so that a slot freed goes to
 * the next call's request with no fiber woken in between.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { AdmissionQueueFull } from "../../CloroError.js"
import type { ConcurrencyLimiter } from "../../ConcurrencyLimiter.js"
import * as WaitQueue from "./waitQueue.js"

export interface State {
  /** the configured limit, or the last `resize` */
  readonly ceiling: number | undefined
  /** the last limit the server reported */
  readonly learned: number | undefined
  readonly size: number
  readonly source: ConcurrencyLimiter.Source
  readonly inUse: number
  readonly peakInUse: number
  /**
   * Mutated in place, only inside `Ref.modify`: see `internal/waitQueue.ts`
   * for why a persistent queue would not do.
   */
  readonly waiters: WaitQueue.WaitQueue<Waiter>
}

/**
 * What runs once a waiter is handed its slot, synchronously, in the step
 * that handed it over: completing a `withPermit` waiter's `Deferred`, or
 * starting a handed-over call (`HandOver`).
 */
export type Waiter = () => void

export type Admission =
  | { readonly _tag: "Acquired" }
  | { readonly _tag: "Full" }
  | { readonly _tag: "Queued"; readonly node: WaitQueue.Node<Waiter> }

const acquired: Admission = { _tag: "Acquired" }
const full: Admission = { _tag: "Full" }

/** What `Effect.uninterruptibleMask` hands its body. */
export type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** Waiters that were just handed a slot; they are run right after the step that handed it. */
export type Wake = ReadonlyArray<Waiter>

export const noWake: Wake = []

export const sizeOf = (
  ceiling: number | undefined,
  learned: number | undefined,
  initial: number
): Pick<State, "size" | "source"> => {
  if (ceiling === undefined) {
    return learned === undefined ? { size: initial, source: "initial" } : { size: learned, source: "learned" }
  }
  return learned === undefined || learned >= ceiling
    ? { size: ceiling, source: "configured" }
    : { size: learned, source: "learned" }
}

/** Hands free slots to waiters, first in line first. */
export const drain = (state: State): readonly [Wake, State] => {
  if (state.inUse >= state.size || state.waiters.length === 0) {
    return [noWake, state]
  }
  const wake: Array<Waiter> = []
  let inUse = state.inUse
  while (inUse < state.size) {
    const next = WaitQueue.shift(state.waiters)
    if (next === undefined) {
      break
    }
    wake.push(next)
    inUse++
  }
  return [wake, { ...state, inUse, peakInUse: Math.max(state.peakInUse, inUse) }]
}

export const release = (state: State): readonly [Wake, State] => drain({ ...state, inUse: state.inUse - 1 })

export const wakeAll = (wake: Wake): void => {
  for (const waiter of wake) waiter()
}

/**
 * Admits a waiter: a slot at once when one is free and nobody waits, `Full`
 * when `maxWaiting` already wait, otherwise a place at the end of the line.
 */
export const admit = (maxWaiting: number | undefined) =>
(waiter: Waiter) =>
(state: State): readonly [Admission, State] => {
  if (state.waiters.length === 0 && state.inUse < state.size) {
    const inUse = state.inUse + 1
    return [acquired, { ...state, inUse, peakInUse: Math.max(state.peakInUse, inUse) }]
  }
  if (maxWaiting !== undefined && state.waiters.length >= maxWaiting) {
    return [full, state]
  }
  return [{ _tag: "Queued", node: WaitQueue.push(state.waiters, waiter) }, state]
}

/**
 * A slot handed over without a `Scope` (internal to the client, offered by
 * the in-memory limiter without `maxWait`): a billed call joins the line as
 * a plain entry, `onSlot`, which whoever frees a slot runs at once in its own
 * fiber, so the slot goes straight to the next call's request with no fiber
 * woken and no scope in between. The public `permit` stays what other
 * limiters implement; this is the in-memory limiter's shortcut.
 */
export interface HandOver {
  /**
   * Joins the line, synchronously. `Acquired`: a slot was free and is now
   * held, and the caller starts its call itself. `Queued`: `onSlot` runs
   * once a slot is handed over. `Full`: `maxWaiting` already wait.
   */
  readonly join: (onSlot: Waiter) => Joined
  /**
   * Steps out of the line if still in it. A waiter handed its slot in the
   * same instant is not told here: its `onSlot` runs, and must give the slot
   * back if its caller has gone.
   */
  readonly leave: (node: WaitQueue.Node<Waiter>) => void
  /** Gives back a slot that `join` or `onSlot` handed over, handing it on to the next in line. */
  readonly release: () => void
}

/** Where `HandOver.join` left a caller. */
export type Joined =
  | { readonly _tag: "Acquired" }
  | { readonly _tag: "Queued"; readonly node: WaitQueue.Node<Waiter> }
  | { readonly _tag: "Full"; readonly error: AdmissionQueueFull }

/** The key under which the in-memory limiter offers its `HandOver`. */
export const HandOverId: unique symbol = Symbol.for("cloro-effect/ConcurrencyLimiter/HandOver")

/** A limiter object that offers a `HandOver`. */
export interface HasHandOver {
  readonly [HandOverId]: HandOver
}

const hasHandOver = (limiter: object): limiter is HasHandOver => HandOverId in limiter

/** The limiter's `HandOver`, when it offers one (the in-memory limiter without `maxWait`). */
export const handOverOf = (limiter: object): HandOver | undefined =>
  hasHandOver(limiter) ? limiter[HandOverId] : undefined
