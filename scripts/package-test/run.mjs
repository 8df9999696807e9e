// ESM: import the package and call the in-memory simulator (without @effect/platform-node installed).
import { Cloro, CloroClient, Pricing } from "cloro-effect"
import { CloroSimulator } from "cloro-effect/testing"
import { Effect, Layer } from "effect"

const KEY = "sk_test_package"
const Live = Cloro.layer({ apiKey: KEY }).pipe(
  Layer.provideMerge(CloroSimulator.layer({ accounts: [{ apiKey: KEY }] }))
)
const charged = await Effect.runPromise(
  Effect.flatMap(CloroClient.CloroClient, (cloro) => cloro.monitor.chatgpt({ prompt: "Best CRM?", country: "US" }))
    .pipe(Effect.map((a) => a.usage.credits.charged), Effect.provide(Live))
)
const price = Pricing.estimate("chatgpt", { prompt: "Best CRM?", country: "US" }, { mode: "sync" })
if (charged !== price) throw new Error(`ESM: expected ${price} credits charged, got ${charged}`)
console.log(`ESM import: chatgpt answered by the in-memory simulator, ${charged} credits charged`)
