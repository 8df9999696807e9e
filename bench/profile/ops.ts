/**
 * Profiling harness (not a scenario): how many Effect operations and fibers
 * one call costs, counted by a supervisor over the in-process fake client: a
 * figure the machine's load does not move. `tsx bench/profile/ops.ts [http|free|bare|full|composed-bare|composed-full]`
 * (the composed ones: Effect's own pieces for the same call, `bench/composed.ts`);
 * `OPS_DETAIL=1` also lists the operations by kind and continuation;
 * `FAKE_CHUNKED=1` has the fake answer without a `Content-Length`, as the
 * bench's stand-in server and compressed answers do (a path the framed fake
 * did not show: its body read cost 680 operations until 0.8.0).
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as RuntimeFlagsPatch from "effect/RuntimeFlagsPatch"
import { OpCounter } from "./counting.js"
import { isSubjectName, subjectNames, withSubject } from "./fakeClient.js"

const names = process.argv.length > 2 ? process.argv.slice(2).filter(isSubjectName) : subjectNames
for (const name of names) {
  await withSubject(name, async (layer, call) => {
    const runtime = ManagedRuntime.make(layer)
    await runtime.runPromise(call(0)) // warm: the layer built, the connection and modules ready
    const counter = new OpCounter()
    await runtime.runPromise(call(1).pipe(
      Effect.supervised(counter),
      Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
    ))
    console.log(`${name}: ${counter.ops} operations, ${counter.fibers} fibers started`)
    for (const [key, count] of [...counter.byKind].sort((a, b) => b[1] - a[1])) console.log(String(count).padStart(4), key)
    await runtime.dispose()
  })
}
