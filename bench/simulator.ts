/**
 * `CloroSimulator.layerServer` in its own process, for the scenarios that need
 * what only the simulator has (the fixed and sliding rate windows, the async
 * queue). Started by `startSimulator` in ./lib.ts with its configuration as a
 * JSON argument; it says where it listens and answers `counters` over IPC.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { CloroSimulator } from "../src/testing/index.js"

const config = Schema.decodeUnknownSync(Schema.parseJson(Schema.encodedSchema(CloroSimulator.Config)))(process.argv[2] ?? "{}")

const isCountersRequest = (message: unknown): boolean =>
  typeof message === "object" && message !== null && "type" in message && message.type === "counters"

Effect.runFork(
  Effect.gen(function*() {
    const sim = yield* CloroSimulator.CloroSimulator
    process.on("message", (message: unknown) => {
      if (!isCountersRequest(message)) return
      Effect.runPromise(sim.counters).then((c) =>
        process.send?.({
          type: "counters",
          counters: { rejections: c.rejections, requests: c.requests, peakConcurrency: c.peakConcurrency }
        })
      )
    })
    process.on("disconnect", () => process.exit(0))
    process.send?.({ type: "listening", url: sim.url })
    yield* Effect.never
  }).pipe(Effect.provide(CloroSimulator.layerServer(config)))
)
