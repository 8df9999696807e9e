/**
 * Profiling only: what the harnesses count. `OpCounter` is a supervisor told
 * of every fiber started and every Effect operation run (with
 * `OPS_DETAIL=1`, also by kind and continuation); `minorCollections` counts
 * the young generation's collections from now on.
 */
import { constants, PerformanceObserver } from "node:perf_hooks"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Supervisor from "effect/Supervisor"

/** A supervisor that counts what it is told of: fibers started and operations run. */
export class OpCounter extends Supervisor.AbstractSupervisor<void> {
  ops = 0
  fibers = 0
  readonly byKind = new Map<string, number>()
  get value() {
    return Effect.void
  }
  override onStart() {
    this.fibers++
  }
  override onEffect(_fiber: unknown, effect: unknown) {
    this.ops++
    if (process.env.OPS_DETAIL === undefined || !Predicate.isRecord(effect)) return
    // An operation's continuation is its first or second instruction; its source text names it well enough.
    const continuation = [effect.effect_instruction_i1, effect.effect_instruction_i0].find(Predicate.isFunction)
    const key = `${String(effect._op)} ${continuation === undefined ? "" : continuation.toString().replace(/\s+/g, " ").slice(0, 110)}`
    this.byKind.set(key, (this.byKind.get(key) ?? 0) + 1)
  }
}

/** Starts counting minor (young generation) collections; the returned function reads the count so far. */
export const minorCollections = (): () => number => {
  let count = 0
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail: unknown = "detail" in entry ? entry.detail : undefined
      if (Predicate.hasProperty(detail, "kind") && detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) count++
    }
  }).observe({ entryTypes: ["gc"] })
  return () => count
}
