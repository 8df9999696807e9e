/**
 * The README's ten lines, kept here so CI type-checks them.
 * Run with `CLORO_API_KEY=sk_live_... npx tsx examples/quickstart.ts`.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Cloro, CloroClient } from "../src/index.js"

const program = Effect.gen(function*() {
  const cloro = yield* CloroClient.CloroClient
  const answer = yield* cloro.monitor.chatgpt({ prompt: "Best CRM for startups?", country: "US" })
  yield* Effect.log(answer.result.text, `credits left: ${answer.usage.credits.remaining}`)
}).pipe(Effect.catchTag("ConcurrentLimitExceeded", (e) => Effect.log(`plan limit ${e.limit}`)))

Effect.runPromise(program.pipe(Effect.provide(Cloro.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici)))))
