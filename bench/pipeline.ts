/**
 * What the pipeline costs per request, as ratios against a baseline measured
 * in the same run:
 *
 * - baseline: the bare client (no limiter, ledger, monitor or retry) over an
 *   in-memory HttpClient that returns one pre-built answer;
 * - pipeline: `Cloro.layer` (every service) over the same HttpClient;
 * - simulator: `Cloro.layer` over the in-memory CloroSimulator (zero latency),
 *   which validates, prices, counts and generates every answer.
 *
 * Run with `npm run bench`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import { CloroSimulator } from "../src/testing/index.js"
import { chatgptAnswer } from "./answer.js"

const KEY = "sk_bench"
const REQUESTS = 5_000
const CONCURRENCY = 50

const answerBody = chatgptAnswer

const answerHeaders = {
  "content-type": "application/json",
  "x-ratelimit-limit": "1000",
  "x-ratelimit-remaining": "999",
  "x-credits-charged": "7",
  "x-credits-remaining": "1000000000",
  "x-concurrency-limit": "100",
  "x-concurrency-current": "1",
  "x-concurrency-remaining": "99"
}

const fixedAnswer = HttpClient.make((request) =>
  Effect.succeed(HttpClientResponse.fromWeb(request, new Response(answerBody, { status: 200, headers: answerHeaders })))
)

const fire = Effect.gen(function*() {
  const client = yield* CloroClient.CloroClient
  const started = performance.now()
  yield* Effect.forEach(
    Array.from({ length: REQUESTS }, (_, i) => i),
    (i) => client.monitor.chatgpt({ prompt: `question ${i}`, country: "US" }),
    { concurrency: CONCURRENCY, discard: true }
  )
  return performance.now() - started
})

const measure = <E>(name: string, layer: Layer.Layer<CloroClient.CloroClient, E>) =>
  Effect.gen(function*() {
    // one warm-up round so the JIT has seen every path, then the median of three timed rounds
    yield* Effect.provide(fire, layer)
    const rounds = [yield* Effect.provide(fire, layer), yield* Effect.provide(fire, layer), yield* Effect.provide(fire, layer)]
    const millis = rounds.sort((a, b) => a - b)[1] ?? Number.NaN
    return { name, millis, perSecond: (REQUESTS / millis) * 1000 }
  })

const bare = CloroClient.layer.pipe(
  Layer.provide(Layer.merge(CloroConfig.layer({ apiKey: KEY }), Cloro.layerBare)),
  Layer.provide(Layer.succeed(HttpClient.HttpClient, fixedAnswer))
)

const full = Cloro.layer({ apiKey: KEY }, { monitor: "silent", concurrency: { limit: 100 }, rateLimit: "unlimited" }).pipe(
  Layer.provide(Layer.succeed(HttpClient.HttpClient, fixedAnswer))
)

const simulated = Cloro.layer({ apiKey: KEY }, { monitor: "silent", rateLimit: "unlimited" }).pipe(
  Layer.provide(
    CloroSimulator.layer({
      accounts: [{ apiKey: KEY, plan: { concurrency: 100, credits: 1_000_000_000 } }],
      rateLimit: { mode: "perEndpoint", limit: 1_000_000 },
      requestLogLimit: 0
    })
  )
)

/** Runs the pipeline benchmark and prints its table. */
export const run = () =>
  Effect.runPromise(Effect.gen(function*() {
    const baseline = yield* measure("bare client, fixed answer (baseline)", bare)
    const rows = [
      baseline,
      yield* measure("full pipeline, fixed answer", full),
      yield* measure("full pipeline, in-memory simulator", simulated)
    ]
    console.log(`\nPipeline cost: ${REQUESTS} chatgpt calls, ${CONCURRENCY} at a time, median wall time of three rounds after a warm-up`)
    console.log("| scenario | wall | requests/s | time vs baseline |")
    console.log("| --- | --- | --- | --- |")
    for (const row of rows) {
      console.log(
        `| ${row.name} | ${row.millis.toFixed(0)} ms | ${row.perSecond.toFixed(0)} | ${(row.millis / baseline.millis).toFixed(2)}× |`
      )
    }
  }))
