// Type-checked in the scratch project under moduleResolution NodeNext (as ESM) and Bundler.
import { Cloro, CloroClient, type CloroError, CloroLog, Usage } from "cloro-effect"
import { CloroSimulator } from "cloro-effect/testing"
import { Effect, Layer } from "effect"

const KEY = "sk_test_package"

export const Live = Cloro.layer({ apiKey: KEY }).pipe(
  Layer.provideMerge(CloroSimulator.layer({ accounts: [{ apiKey: KEY, plan: { concurrency: 2 } }] })),
  Layer.merge(CloroLog.layer("off"))
)

export const program: Effect.Effect<number, CloroError.CloroError, CloroClient.CloroClient> = Effect.gen(function*() {
  const cloro = yield* CloroClient.CloroClient
  const answer = yield* cloro.monitor.chatgpt({ prompt: "Best CRM for startups?", country: "US" })
  const text: string = answer.result.text
  const usage: Usage.Usage = answer.usage
  return text.length > 0 ? usage.credits.charged ?? 0 : 0
})
