/**
 * Profiling harness (not a scenario): how many Effect operations and fibers
 * one call costs, counted by a supervisor over the in-process fake client: a
 * figure the machine's load does not move. `tsx bench/profile/ops.ts [http|bare|full]`;
 * `OPS_DETAIL=1` also lists the operations by kind and continuation.
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Predicate from "effect/Predicate"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as RuntimeFlagsPatch from "effect/RuntimeFlagsPatch"
import * as Supervisor from "effect/Supervisor"
import { isSubjectName, subjectNames, withSubject } from "./fakeClient.js"

/** A supervisor that counts what it is told of: fibers started and operations run. */
class Counter extends Supervisor.AbstractSupervisor<void> {
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

const names = process.argv.length > 2 ? process.argv.slice(2).filter(isSubjectName) : subjectNames
for (const name of names) {
  await withSubject(name, async (layer, call) => {
    const runtime = ManagedRuntime.make(layer)
    await runtime.runPromise(call(0)) // warm: the layer built, the connection and modules ready
    const counter = new Counter()
    await runtime.runPromise(call(1).pipe(
      Effect.supervised(counter),
      Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
    ))
    console.log(`${name}: ${counter.ops} operations, ${counter.fibers} fibers started`)
    for (const [key, count] of [...counter.byKind].sort((a, b) => b[1] - a[1])) console.log(String(count).padStart(4), key)
    await runtime.dispose()
  })
}
