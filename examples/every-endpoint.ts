/**
 * Calls every cloro endpoint once through the typed client, with the config
 * from the environment (CLORO_API_KEY, CLORO_BASE_URL) and undici for HTTP.
 *
 * Type-checked in CI (`npm run typecheck`); run it with
 * `CLORO_API_KEY=sk_live_... npx tsx examples/every-endpoint.ts` (it spends
 * about 50 credits), or point CLORO_BASE_URL at a loopback simulator.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"

const program = Effect.gen(function*() {
  const cloro = yield* CloroClient.CloroClient

  // Sync monitor endpoints: each result is typed by its engine.
  const chatgpt = yield* cloro.monitor.chatgpt({ prompt: "Best CRM for startups?", country: "US", include: { markdown: true } })
  yield* Effect.log(`chatgpt: ${chatgpt.result.sources.length} sources, ${chatgpt.usage.credits.charged} credits`)
  const perplexity = yield* cloro.monitor.perplexity({ prompt: "Best CRM for startups?", country: "US" })
  yield* Effect.log(`perplexity: ${perplexity.result.text.slice(0, 60)}`)
  const gemini = yield* cloro.monitor.gemini({ prompt: "Best CRM for startups?", country: "US" })
  yield* Effect.log(`gemini: ${gemini.result.sources.length} sources`)
  const copilot = yield* cloro.monitor.copilot({ prompt: "Best CRM for startups?", country: "US", state: "CA" })
  yield* Effect.log(`copilot: ${copilot.result.text.length} characters`)
  const grok = yield* Effect.either(cloro.monitor.grok({ prompt: "Best CRM for startups?", country: "US" }))
  yield* Effect.log(`grok: ${grok._tag === "Right" ? "answered" : grok.left._tag}`)
  const aimode = yield* cloro.monitor.aimode({ prompt: "Best CRM for startups?", gl: "us", hl: "en" })
  yield* Effect.log(`aimode: ${aimode.result.sources.length} sources`)
  const google = yield* cloro.monitor.google({ query: "best crm", country: "US", pages: 2, include: { aioverview: true } })
  yield* Effect.log(`google: ${google.result.organicResults?.length ?? 0} organic results`)
  const news = yield* cloro.monitor.googleNews({ query: "crm funding", country: "US" })
  yield* Effect.log(`google news: ${news.result.newsResults?.length ?? 0} stories`)
  const link = google.result.organicResults?.find((r) => r.redirectLink !== undefined)?.redirectLink
  if (link !== undefined) {
    const resolved = yield* cloro.monitor.googleGoto({ url: link })
    yield* Effect.log(`goto: ${resolved.result.url}`)
  }

  // Async tasks.
  const submitted = yield* cloro.tasks.submit({ taskType: "PERPLEXITY", payload: { prompt: "CRM pricing", country: "US" }, priority: 5 })
  const batch = yield* cloro.tasks.submitBatch([
    { taskType: "GOOGLE", payload: { query: "crm", country: "US" } },
    { taskType: "CHATGPT", payload: { prompt: "crm", country: "US" } }
  ])
  yield* Effect.log(`batch: ${batch.result.summary.succeeded} of ${batch.result.summary.total} queued`)
  const state = yield* cloro.tasks.get(submitted.result.task.id)
  if (state.result.status === "COMPLETED" && state.result.taskType === "PERPLEXITY") {
    yield* Effect.log(`task done: ${state.result.result.text.slice(0, 60)}`)
  }
  const status = yield* cloro.tasks.status()
  yield* Effect.log(`queue: ${status.result.queuedTasks} queued, ${status.result.processingTasks} processing`)
  const cleared = yield* cloro.tasks.clearQueue()
  yield* Effect.log(`cleared ${cleared.result.cleared} queued tasks`)

  // Reference endpoints.
  const credits = yield* cloro.account.credits()
  const countries = yield* cloro.account.countries("chatgpt")
  const states = yield* cloro.account.states("US")
  yield* Effect.log(`${credits.result.remaining} credits; ${countries.result.length} countries; ${states.result.length} states`)
})

// Each call sent once, no limits: every pipeline service opted out of explicitly.
const ClientLive = CloroClient.layerConfig.pipe(Layer.provide(Layer.merge(NodeHttpClient.layerUndici, Cloro.layerBare)))

NodeRuntime.runMain(program.pipe(Effect.provide(ClientLive)))
