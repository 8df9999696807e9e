import { Context, Effect, Layer } from "effect"
import { CloroSimulator } from "../src/testing/index.js"
Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const context = yield* Layer.build(CloroSimulator.layerServer({
    accounts: [{ apiKey: "sk_test_redis_workers", plan: { concurrency: 20, credits: 10_000_000 } }],
    latency: { default: CloroSimulator.fixed(50) }
  }))
  const sim = Context.get(context, CloroSimulator.CloroSimulator)
  console.log(sim.url)
  yield* Effect.never
})))
