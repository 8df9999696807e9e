/**
 * `npm start`: a batch of requests through the whole pipeline, and a report of
 * what the limits did.
 *
 * Without CLORO_API_KEY it starts the embedded cloro simulator on loopback
 * (plan limit 10, 200 ms per answer, 5,000 credits), does NOT tell the client
 * the plan's limit, fires 200 requests across engines at once, and shows that
 * the client learned the limit and caused no 429. With CLORO_API_KEY it sends
 * a small real batch (5 requests) instead.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import type { CloroError } from "../src/CloroError.js"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"
import * as Credits from "../src/Credits.js"
import * as UsageMonitor from "../src/UsageMonitor.js"
import { CloroSimulator } from "../src/testing/index.js"

const SIM_KEY = "sk_demo_simulator"
const PLAN_LIMIT = 10
const LATENCY_MS = 200
const REQUESTS = 200

type Job = (client: CloroClient.CloroClientShape, i: number) => Effect.Effect<unknown, CloroError>

/** A mix of engines, each call tagged with its engine so the ledger splits spend by engine. */
const jobs: ReadonlyArray<readonly [string, Job]> = [
  ["chatgpt", (c, i) => c.monitor.chatgpt({ prompt: `Best CRM for startups, take ${i}?`, country: "US" }, { tag: "chatgpt" })],
  ["perplexity", (c, i) => c.monitor.perplexity({ prompt: `Top EV makers ${i}`, country: "DE" }, { tag: "perplexity" })],
  ["gemini", (c, i) => c.monitor.gemini({ prompt: `Cheapest flights to Rome ${i}`, country: "IT" }, { tag: "gemini" })],
  ["copilot", (c, i) => c.monitor.copilot({ prompt: `Laptop for students ${i}`, country: "US", state: "CA" }, { tag: "copilot" })],
  ["aimode", (c, i) => c.monitor.aimode({ prompt: `Running shoes ${i}`, gl: "us" }, { tag: "aimode" })],
  ["google", (c, i) => c.monitor.google({ query: `project management software ${i}`, country: "US", include: { aioverview: true } }, { tag: "google" })],
  ["googleNews", (c, i) => c.monitor.googleNews({ query: `AI regulation ${i}`, country: "GB" }, { tag: "googleNews" })]
]

const runBatch = (count: number) =>
  Effect.gen(function*() {
    const client = yield* CloroClient.CloroClient
    const started = Date.now()
    const outcomes = yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => {
        const [, job] = jobs[i % jobs.length]!
        return Effect.either(job(client, i))
      },
      { concurrency: "unbounded" }
    )
    return { outcomes, wallMillis: Date.now() - started }
  })

/** `["A", "A", "B"]` as `"A ×2, B"`. */
const summarize = (tags: ReadonlyArray<string>): string =>
  [...new Set(tags)].map((tag) => {
    const count = tags.filter((t) => t === tag).length
    return count === 1 ? tag : `${tag} ×${count}`
  }).join(", ")

const report = (outcomes: ReadonlyArray<Either.Either<unknown, CloroError>>, wallMillis: number) =>
  Effect.gen(function*() {
    const ledger = yield* Credits.Credits
    const limiter = yield* ConcurrencyLimiter.ConcurrencyLimiter
    const monitor = yield* UsageMonitor.UsageMonitor
    const failures = outcomes.filter(Either.isLeft).map((e) => e.left)
    const seen429 = failures.filter((e) =>
      e._tag === "ConcurrentLimitExceeded" || e._tag === "RateLimitExceeded" || e._tag === "QueueLimitExceeded"
    )
    const snapshot = yield* ledger.snapshot
    const stats = yield* limiter.stats
    const warnings = yield* monitor.warnings
    const lines = [
      `ok:                 ${outcomes.length - failures.length} of ${outcomes.length}`,
      `failed:             ${failures.length}${failures.length > 0 ? ` (${[...new Set(failures.map((f) => f._tag))].join(", ")})` : ""}`,
      `429s seen by caller: ${seen429.length}`,
      `concurrency:        limiter ${stats.source} a limit of ${stats.size}; peak in use ${stats.peakInUse}`,
      `credits spent:      ${snapshot.spent} (${Object.entries(snapshot.spentByTag).map(([k, v]) => `${k} ${v}`).join(", ")})`,
      `credits remaining:  ${snapshot.balance ?? "unknown"}`,
      `warnings raised:    ${warnings.length === 0 ? "none" : summarize(warnings.map((w) => w._tag))}`,
      `wall time:          ${(wallMillis / 1000).toFixed(2)} s`
    ]
    return lines
  })

const simulated = Effect.gen(function*() {
  yield* Effect.log(
    `CLORO_API_KEY is not set: running against the embedded cloro simulator on loopback ` +
      `(plan limit ${PLAN_LIMIT}, ${LATENCY_MS} ms per answer, 5,000 credits). The client is NOT told the limit.`
  )
  const sim = yield* CloroSimulator.CloroSimulator
  const { outcomes, wallMillis } = yield* runBatch(REQUESTS)
  const lines = yield* report(outcomes, wallMillis)
  const counters = yield* sim.counters
  const bound = (REQUESTS * LATENCY_MS) / PLAN_LIMIT / 1000
  const sent429 = Object.entries(counters.rejections)
  console.log(
    [
      "",
      `cloro-effect demo: ${REQUESTS} requests across ${jobs.length} engines, fired at once`,
      ...lines,
      `429s sent by server: ${sent429.length === 0 ? 0 : sent429.map(([code, n]) => `${n} ${code}`).join(", ")}`,
      `peak at the server: ${counters.peakConcurrency["demo"] ?? 0} (plan limit ${PLAN_LIMIT})`,
      `server charged:     ${counters.creditsCharged.total}; balance ${counters.balances["demo"]}`,
      `lower bound:        ${REQUESTS} × ${LATENCY_MS / 1000} s / ${PLAN_LIMIT} = ${bound} s (plus learning the limit)`,
      ""
    ].join("\n")
  )
}).pipe(
  Effect.provide(
    Layer.unwrapEffect(Effect.gen(function*() {
      const simulator = CloroSimulator.layerServer({
        seed: 7,
        accounts: [{ apiKey: SIM_KEY, id: "demo", plan: { concurrency: PLAN_LIMIT, credits: 5_000 } }],
        latency: { default: CloroSimulator.fixed(LATENCY_MS), goto: CloroSimulator.fixed(20) }
      })
      return Layer.unwrapEffect(
        Effect.map(CloroSimulator.CloroSimulator, (sim) =>
          Cloro.layer({ apiKey: SIM_KEY, baseUrl: sim.url }, { monitor: "silent" }).pipe(
            Layer.provide(NodeHttpClient.layerUndici)
          ))
      ).pipe(Layer.provideMerge(simulator))
    }))
  )
)

const real = Effect.gen(function*() {
  yield* Effect.log("CLORO_API_KEY is set: sending a small real batch (5 requests) to cloro.")
  const { outcomes, wallMillis } = yield* runBatch(5)
  const lines = yield* report(outcomes, wallMillis)
  console.log(["", "cloro-effect demo against the real API: 5 requests", ...lines, ""].join("\n"))
}).pipe(Effect.provide(Cloro.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))))

const main = Effect.gen(function*() {
  const key = yield* Config.option(Config.redacted("CLORO_API_KEY"))
  yield* Option.isSome(key) ? real : simulated
})

NodeRuntime.runMain(main)
