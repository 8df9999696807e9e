/**
 * Scenario (d), rate: `CloroSimulator.layerServer` in its own process allows
 * 500 requests a second (shared across paths) in its fixed, then its sliding
 * window mode; 5,000 cheap calls (`account.credits`, free and answered at
 * once) are fired at once through the full client, told the limit. Achieved
 * rate is calls / wall time, the median of 3 rounds (a fresh client each round,
 * a 1.1 s pause between rounds so no window carries over); the simulator counts
 * the `RATE_LIMIT_EXCEEDED` answers.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import { childMain, type Check, median, quick, runChild, type Row, type ScenarioResult, startSimulator } from "./lib.js"

const LIMIT = 500
const CALLS = quick ? 300 : 5_000
const KEY = "sk_bench_rate"
const windows = ["fixed", "sliding"] as const

interface Round {
  readonly millis: number
  readonly failed: number
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

childMain(async ([url, count]) => {
  if (url === undefined) throw new Error("usage: --child <url> <count>")
  const n = Number(count)
  const rounds: Array<Round> = []
  for (let r = 0; r < 3; r++) {
    const layer = Cloro.layer({ apiKey: KEY, baseUrl: url }, { monitor: "silent", rateLimit: { limit: LIMIT } }).pipe(
      Layer.provide(NodeHttpClient.layerUndici)
    )
    let failed = 0
    const started = performance.now()
    await Effect.runPromise(
      Effect.gen(function*() {
        const client = yield* CloroClient.CloroClient
        yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => i),
          () => Effect.catchAll(client.account.credits(), () => Effect.sync(() => failed++)),
          { concurrency: "unbounded", discard: true }
        )
      }).pipe(Effect.provide(layer))
    )
    rounds.push({ millis: performance.now() - started, failed })
    await sleep(1_100)
  }
  return rounds
})

const rateRejections = (counters: unknown): number => {
  if (typeof counters !== "object" || counters === null || !("rejections" in counters)) return Number.NaN
  const rejections = counters.rejections
  if (typeof rejections !== "object" || rejections === null) return Number.NaN
  const count = "RATE_LIMIT_EXCEEDED" in rejections ? rejections.RATE_LIMIT_EXCEEDED : 0
  return typeof count === "number" ? count : Number.NaN
}

export const run = async (): Promise<ScenarioResult> => {
  const started = performance.now()
  const rows: Array<Row> = []
  const checks: Array<Check> = []
  const notes: Array<string> = []
  for (const window of windows) {
    process.stdout.write(`  (d) ${window} window...\n`)
    const sim = await startSimulator({
      accounts: [{ apiKey: KEY, plan: { concurrency: 10_000, credits: 1_000_000_000 } }],
      rateLimit: { mode: "shared", limit: LIMIT, window },
      requestLogLimit: 0
    })
    const outcome = await runChild<ReadonlyArray<Round>>(fileURLToPath(import.meta.url), [sim.url, String(CALLS)], {
      budgetMillis: 120_000
    })
    const rejected = rateRejections(await sim.counters())
    sim.close()
    if (outcome._tag !== "Done") {
      notes.push(`${window} window: ${outcome.why}`)
      rows.push({ subject: `cloro-effect full, ${window} window`, cells: { "RATE_LIMIT_EXCEEDED (all rounds)": rejected } })
      checks.push({ target: `${window} window: ≥ 0.95 × ${LIMIT}/s, 0 RATE_LIMIT_EXCEEDED`, value: "not measured", met: undefined })
      continue
    }
    const perSecond = median(outcome.value.map((r) => (CALLS / r.millis) * 1000))
    rows.push({
      subject: `cloro-effect full (\`Cloro.layer\`, rate told), ${window} window`,
      cells: {
        "calls/s": perSecond,
        "share of 500/s": perSecond / LIMIT,
        "RATE_LIMIT_EXCEEDED (all rounds)": rejected,
        "failed calls": outcome.value.reduce((sum, r) => sum + r.failed, 0)
      }
    })
    checks.push({
      target: `${window} window: ≥ 0.95 × ${LIMIT}/s, 0 RATE_LIMIT_EXCEEDED`,
      value: `${(perSecond / LIMIT).toFixed(3)}, ${rejected} rejected`,
      met: perSecond / LIMIT >= 0.95 && rejected === 0
    })
  }
  notes.push(
    CALLS <= LIMIT ? "calls / wall time from the first call to the last answer." : `calls / wall time from the first call to the last answer. A perfect limiter starts ${LIMIT} at once and ${LIMIT} more each second, so ${CALLS.toLocaleString("en-US")} calls end after about ${CALLS / LIMIT - 1} s: the ideal share is ${(CALLS / (CALLS / LIMIT - 1) / LIMIT).toFixed(2)}, not 1.`
  )
  return {
    name: "rate",
    title: `(d) Rate: simulator limit ${LIMIT}/s shared, ${CALLS.toLocaleString("en-US")} calls fired at once (median of 3 rounds)`,
    columns: ["calls/s", "share of 500/s", "RATE_LIMIT_EXCEEDED (all rounds)", "failed calls"],
    rows,
    checks,
    notes,
    millis: performance.now() - started
  }
}
