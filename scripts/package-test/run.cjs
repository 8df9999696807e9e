// CommonJS: require the package and call the in-memory simulator.
const { Cloro, CloroClient, Pricing } = require("cloro-effect")
const { CloroSimulator } = require("cloro-effect/testing")
const { Effect, Layer } = require("effect")

const KEY = "sk_test_package"
const Live = Cloro.layer({ apiKey: KEY }).pipe(
  Layer.provideMerge(CloroSimulator.layer({ accounts: [{ apiKey: KEY }] }))
)
Effect.runPromise(
  Effect.flatMap(CloroClient.CloroClient, (cloro) => cloro.monitor.perplexity({ prompt: "Best CRM?", country: "US" }))
    .pipe(Effect.map((a) => a.usage.credits.charged), Effect.provide(Live))
).then((charged) => {
  const price = Pricing.estimate("perplexity", { prompt: "Best CRM?", country: "US" }, { mode: "sync" })
  if (charged !== price) throw new Error(`CJS: expected ${price} credits charged, got ${charged}`)
  console.log(`CJS require: perplexity answered by the in-memory simulator, ${charged} credits charged`)
})
