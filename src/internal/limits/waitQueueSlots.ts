/**
 * The in-memory concurrency limiter's state and its pure steps: admission
 * (a free slot, a full line, or a place in line), handing freed slots to the
 * first waiters (`drain`), and the size from a configured and a learned
 * limit. `ConcurrencyLimiter.make` runs them inside one `Ref.modify` each and
 * wakes the waiters it was told to afterwards.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
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
  readonly waiters: WaitQueue.WaitQueue<Deferred.Deferred<void>>
}

export type Admission =
  | { readonly _tag: "Acquired" }
  | { readonly _tag: "Full" }
  | { readonly _tag: "Queued"; readonly node: WaitQueue.Node<Deferred.Deferred<void>> }

const acquired: Admission = { _tag: "Acquired" }
const full: Admission = { _tag: "Full" }

/** What `Effect.uninterruptibleMask` hands its body. */
export type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** Deferreds of waiters that were just handed a slot; they are woken after the `Ref.modify`. */
export type Wake = ReadonlyArray<Deferred.Deferred<void>>

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
  const wake: Array<Deferred.Deferred<void>> = []
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

export const wakeAll = (wake: Wake): Effect.Effect<void> =>
  wake.length === 0 ? Effect.void : Effect.forEach(wake, (deferred) => Deferred.succeed(deferred, undefined), {
    discard: true
  })

/**
 * Admits a waiter: a slot at once when one is free and nobody waits, `Full`
 * when `maxWaiting` already wait, otherwise a place at the end of the line.
 */
export const admit = (maxWaiting: number | undefined) =>
(deferred: Deferred.Deferred<void>) =>
(state: State): readonly [Admission, State] => {
  if (state.waiters.length === 0 && state.inUse < state.size) {
    const inUse = state.inUse + 1
    return [acquired, { ...state, inUse, peakInUse: Math.max(state.peakInUse, inUse) }]
  }
  if (maxWaiting !== undefined && state.waiters.length >= maxWaiting) {
    return [full, state]
  }
  return [{ _tag: "Queued", node: WaitQueue.push(state.waiters, deferred) }, state]
}
