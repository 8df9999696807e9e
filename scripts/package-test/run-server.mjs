// With @effect/platform-node installed: the real client over real HTTP at the simulator's loopback server.
import { NodeHttpClient } from "@effect/platform-node"
import { Cloro, CloroClient, Pricing } from "cloro-effect"
import { CloroSimulator } from "cloro-effect/testing"
import { Effect, Layer } from "effect"

const KEY = "sk_test_package"
const OverHttp = Layer.unwrapEffect(
  Effect.map(CloroSimulator.CloroSimulator, (sim) => Cloro.layer({ apiKey: KEY, baseUrl: sim.url }))
).pipe(
  Layer.provideMerge(CloroSimulator.layerServer({ accounts: [{ apiKey: KEY }] })),
  Layer.provide(NodeHttpClient.layerUndici)
)
const { charged, served } = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const cloro = yield* CloroClient.CloroClient
  const sim = yield* CloroSimulator.CloroSimulator
  const answer = yield* cloro.monitor.gemini({ prompt: "Best CRM?", country: "US" })
  const counters = yield* sim.counters
  return { charged: answer.usage.credits.charged, served: counters.creditsCharged.total }
}).pipe(Effect.provide(OverHttp))))
const price = Pricing.estimate("gemini", { prompt: "Best CRM?", country: "US" }, { mode: "sync" })
if (charged !== price || served !== price) {
  throw new Error(`server: expected ${price} credits, got ${charged} (simulator ${served})`)
}
console.log(`ESM over loopback HTTP: gemini answered by CloroSimulator.layerServer, ${charged} credits charged`)
