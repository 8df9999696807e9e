// Profiling only: the continuation stack of one waiting call's fiber (full client, cap 1, 3 calls).
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Supervisor from "effect/Supervisor"
import * as Cloro from "../../src/Cloro.js"
import * as CloroClient from "../../src/CloroClient.js"

const layer = Cloro.layer({ apiKey: "sk_bench", baseUrl: "http://127.0.0.1:9" }, { monitor: "silent", concurrency: { limit: 1 } }).pipe(
  Layer.provide(NodeHttpClient.layerUndici)
)
const program = Effect.gen(function*() {
  const supervisor = yield* Supervisor.track
  const client = yield* CloroClient.CloroClient
  yield* Effect.fork(Effect.supervised(Effect.forEach([1, 2, 3], (i) => client.monitor.chatgpt({ prompt: `q ${i}`, country: "US" }), { concurrency: "unbounded" }), supervisor))
  yield* Effect.sleep("50 millis")
  const fibers = yield* supervisor.value
  for (const fiber of fibers) {
    // the fiber runtime's private continuation stack, read for profiling only
    const stack: ReadonlyArray<Record<string, unknown>> = Reflect.get(fiber, "_stack")
    console.log(`fiber ${fiber.id().id}: ${stack.length} frames`)
    for (const frame of stack) {
      const f = frame["effect_instruction_i1"] ?? frame["effect_instruction_i0"]
      console.log(`  ${String(frame["_op"])} ${String(typeof f === "function" ? f.toString() : f).replace(/\s+/g, " ").slice(0, 160)}`)
    }
  }
})
Effect.runPromise(Effect.scoped(Effect.provide(program, layer))).then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })
