// Type-checked under moduleResolution NodeNext as CommonJS: the `require` condition's declarations.
import { Cloro, CloroClient } from "cloro-effect"
import { CloroSimulator } from "cloro-effect/testing"
import { Effect, Layer } from "effect"

const Live = Cloro.layer({ apiKey: "sk_test_package" }).pipe(
  Layer.provideMerge(CloroSimulator.layer({ accounts: [{ apiKey: "sk_test_package" }] }))
)
export const charged = Effect.flatMap(CloroClient.CloroClient, (cloro) =>
  Effect.map(cloro.monitor.perplexity({ prompt: "Best CRM?", country: "US" }), (a) => a.usage.credits.charged)
).pipe(Effect.provide(Live))
