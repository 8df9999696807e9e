/**
 * Scenario (d), rate: `CloroSimulator.layerServer` in its own process allows
 * 500 requests a second (shared across paths), one simulator in its fixed and
 * one in its sliding window mode, both started at once. 5,000 cheap calls
 * (`GET /v1/credits`, free and answered at once) are fired at once, first
 * against the fixed window, then (after more than a window, so nothing carries
 * over) against the sliding one, by two subjects, each in its own child:
 *
 * - the full client (`Cloro.layer`, told the limit, its default pace);
 * - when named (`BENCH_SUBJECTS=full,pacer npm run bench -- rate`), the rate
 *   limiter alone (`RateLimiter.make`, same options) in front of raw undici,
 *   which costs about a tenth of the full client's CPU a call: it tells a
 *   pacing loss from the client's own CPU.
 *
 * `BENCH_READ=0` keeps the answers' `X-RateLimit-*` from both limiters (the
 * occupancy alone, as before 0.6), for a before/after on the same machine.
 *
 * Achieved rate is calls / wall time (first call to last answer), one round
 * per window and subject (`BENCH_ROUNDS=3` for medians of 3); the simulators
 * count the `RATE_LIMIT_EXCEEDED` answers.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { Agent, request } from "undici"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as RateLimiter from "../src/RateLimiter.js"
import {
  childMain,
  childScript,
  type Check,
  median,
  quick,
  runChild,
  type Row,
  type ScenarioResult,
  startSimulator
} from "./lib.js"

const LIMIT = 500
const CALLS = quick ? 300 : 5_000
const ROUNDS = quick ? 1 : Number(process.env.BENCH_ROUNDS ?? 1)
const KEY = "sk_bench_rate"
/** `BENCH_PACE=burst|even`: both subjects at that pace instead of `Cloro.layer`'s default */
const pace: { readonly pace?: "burst" | "even" } = process.env.BENCH_PACE === "burst"
  ? { pace: "burst" }
  : process.env.BENCH_PACE === "even"
  ? { pace: "even" }
  : {}
/**
 * `BENCH_READ=0`: neither subject's limiter is told the answers' `X-RateLimit-*`
 * (each start counts until a window after its answer, nothing more: the
 * occupancy alone, as before 0.6), for a before/after in one run.
 */
const blind = process.env.BENCH_READ === "0"
const blindfolded = (limiter: RateLimiter.RateLimiterShape): RateLimiter.RateLimiterShape => {
  const withPermit = limiter.withPermit
  return withPermit === undefined ? limiter : { ...limiter, withPermit: (path, effect) => withPermit(path, effect) }
}
const windows = ["fixed", "sliding"] as const
const subjects = ["full", "pacer"] as const
type Subject = typeof subjects[number]
const label: Record<Subject, string> = {
  full: "cloro-effect full (`Cloro.layer`, rate told)",
  pacer: "`RateLimiter` alone + raw undici"
}

interface Round {
  readonly millis: number
  readonly failed: number
  readonly cpuMicros: number
}

/** A header's count, as `Usage.fromHeaders` reads it. */
const count = (value: string | ReadonlyArray<string> | undefined): number | undefined =>
  typeof value === "string" && /^\d+$/.test(value) ? Number(value) : undefined

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

/** Fires `n` calls at once through `subject` against `url`; resolves with the calls that failed. */
const fire = async (subject: Subject, url: string, n: number): Promise<number> => {
  let failed = 0
  const range = Array.from({ length: n }, (_, i) => i)
  if (subject === "full") {
    const layer = blind
      ? CloroClient.layerWith({ apiKey: KEY, baseUrl: url }).pipe(
        Layer.provide(Layer.merge(
          Cloro.layerServices({ monitor: "silent", rateLimit: "unlimited" }),
          Layer.scoped(RateLimiter.RateLimiter, Effect.map(RateLimiter.make({ limit: LIMIT, ...pace }), blindfolded))
        )),
        Layer.provide(NodeHttpClient.layerUndici)
      )
      : Cloro.layer({ apiKey: KEY, baseUrl: url }, { monitor: "silent", rateLimit: { limit: LIMIT, ...pace } }).pipe(
        Layer.provide(NodeHttpClient.layerUndici)
      )
    await Effect.runPromise(
      Effect.gen(function*() {
        const client = yield* CloroClient.CloroClient
        yield* Effect.forEach(
          range,
          () => Effect.catchAll(client.account.credits(), () => Effect.sync(() => failed++)),
          { concurrency: "unbounded", discard: true }
        )
      }).pipe(Effect.provide(layer))
    )
    return failed
  }
  // the limiter as `Cloro.layer` builds it (its default pace), the answer read as the pipeline reads it
  const dispatcher = new Agent({ keepAliveTimeout: 60_000 })
  const send = Effect.tryPromise(async () => {
    const response = await request(`${url}/v1/credits`, { headers: { authorization: `Bearer ${KEY}` }, dispatcher })
    await response.body.json()
    if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`)
    return { limit: count(response.headers["x-ratelimit-limit"]), remaining: count(response.headers["x-ratelimit-remaining"]) }
  })
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const made = yield* RateLimiter.make({ limit: LIMIT, ...pace })
    const limiter = blind ? blindfolded(made) : made
    // as the pipeline calls it: the start counts until the answer, which tells the limiter what the server counted
    const call = limiter.withPermit === undefined
      ? Effect.zipRight(limiter.take("/v1/credits"), send)
      : limiter.withPermit("/v1/credits", send, (exit) => Exit.isSuccess(exit) ? exit.value : undefined)
    yield* Effect.forEach(range, () => Effect.catchAll(call, () => Effect.sync(() => failed++)), {
      concurrency: "unbounded",
      discard: true
    })
  })))
  await dispatcher.close()
  return failed
}

childMain(async ([subject, count, ...rest]) => {
  // `runChild` appends `--quick` after the arguments in a quick run
  const urls = rest.filter((arg) => !arg.startsWith("--"))
  if (subject !== "full" && subject !== "pacer") throw new Error("usage: --child <full|pacer> <count> <url>...")
  const n = Number(count)
  const byWindow: Array<Array<Round>> = []
  for (const url of urls) {
    const rounds: Array<Round> = []
    for (let r = 0; r < ROUNDS; r++) {
      const cpu = process.cpuUsage()
      const started = performance.now()
      const failed = await fire(subject, url, n)
      const used = process.cpuUsage(cpu)
      rounds.push({ millis: performance.now() - started, failed, cpuMicros: used.user + used.system })
      // more than a window: the next round (or the other subject) starts on an empty window
      await sleep(1_100)
    }
    byWindow.push(rounds)
  }
  return byWindow
})

/** Every request the simulator saw (refused ones too): more than the calls made means some were sent twice. */
const serverRequests = (counters: unknown): number => {
  if (typeof counters !== "object" || counters === null || !("requests" in counters)) return Number.NaN
  const byEndpoint: unknown = counters.requests
  if (typeof byEndpoint !== "object" || byEndpoint === null) return Number.NaN
  let sum = 0
  for (const byStatus of Object.values(byEndpoint)) {
    if (typeof byStatus !== "object" || byStatus === null) continue
    for (const count of Object.values(byStatus)) if (typeof count === "number") sum += count
  }
  return sum
}

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
  const sims = await Promise.all(windows.map((window) =>
    startSimulator({
      accounts: [{ apiKey: KEY, plan: { concurrency: 10_000, credits: 1_000_000_000 } }],
      rateLimit: { mode: "shared", limit: LIMIT, window },
      requestLogLimit: 0
    })
  ))
  const script = await childScript(import.meta.url, "rate")
  // the limiter alone is a diagnostic (pacing or CPU?): only when named, `BENCH_SUBJECTS=full,pacer`
  const only = process.env.BENCH_SUBJECTS?.split(",").map((name) => name.trim()) ?? ["full"]
  for (const subject of subjects.filter((name) => only.includes(name))) {
    process.stdout.write(`  (d) ${subject}...\n`)
    const before = await Promise.all(sims.map((sim) => sim.counters()))
    const outcome = await runChild<ReadonlyArray<ReadonlyArray<Round>>>(
      script.file,
      [subject, String(CALLS), ...sims.map((sim) => sim.url)],
      { budgetMillis: 120_000 * ROUNDS, plainNode: script.plainNode }
    )
    const after = await Promise.all(sims.map((sim) => sim.counters()))
    windows.forEach((window, i) => {
      const rejected = rateRejections(after[i]) - rateRejections(before[i])
      const seen = serverRequests(after[i]) - serverRequests(before[i])
      const rounds = outcome._tag === "Done" ? outcome.value[i] : undefined
      const target = `${subject === "full" ? "full client" : "limiter alone"}, ${window} window: ≥ 0.95 × ${LIMIT}/s, 0 RATE_LIMIT_EXCEEDED`
      if (rounds === undefined) {
        if (outcome._tag !== "Done") notes.push(`${label[subject]}, ${window} window: ${outcome.why}`)
        rows.push({ subject: `${label[subject]}, ${window} window`, cells: { "RATE_LIMIT_EXCEEDED": rejected } })
        checks.push({ target, value: "not measured", met: undefined })
        return
      }
      const perSecond = median(rounds.map((r) => (CALLS / r.millis) * 1000))
      rows.push({
        subject: `${label[subject]}, ${window} window`,
        cells: {
          "calls/s": perSecond,
          "share of 500/s": perSecond / LIMIT,
          "CPU µs/call": median(rounds.map((r) => r.cpuMicros / CALLS)),
          "RATE_LIMIT_EXCEEDED": rejected,
          "requests the server saw": seen,
          "failed calls": rounds.reduce((sum, r) => sum + r.failed, 0)
        }
      })
      checks.push({
        target,
        value: `${(perSecond / LIMIT).toFixed(3)}, ${rejected} rejected`,
        met: perSecond / LIMIT >= 0.95 && rejected === 0
      })
    })
  }
  for (const sim of sims) sim.close()
  notes.push(
    `${ROUNDS === 1 ? "One round" : `The median of ${ROUNDS} rounds`} per subject and window; RATE_LIMIT_EXCEEDED counts every round. calls / wall time from the first call to the last answer.${
      CALLS <= LIMIT
        ? ""
        : ` A perfect limiter starts ${LIMIT} at once and ${LIMIT} more each second, so ${CALLS.toLocaleString("en-US")} calls end after about ${CALLS / LIMIT - 1} s: the ideal share is ${(CALLS / (CALLS / LIMIT - 1) / LIMIT).toFixed(2)}, not 1.`
    }`
  )
  if (blind) {
    notes.push("`BENCH_READ=0`: the limiters were not told the answers' `X-RateLimit-*`: each start counted until a window after its answer and nothing more (the occupancy alone, as before 0.6).")
  }
  if (only.includes("pacer")) {
    notes.push(
      "The limiter alone is the full client's rate limiter with the same options, in front of undici's `request` with one Agent, the answer read and dropped: about a tenth of the full client's CPU per call, so what it loses is pacing, not CPU. Its refused calls are not retried (the full client's are, through its retry policy)."
    )
  }
  return {
    name: "rate",
    title: `(d) Rate: simulator limit ${LIMIT}/s shared, ${CALLS.toLocaleString("en-US")} calls fired at once`,
    columns: ["calls/s", "share of 500/s", "CPU µs/call", "RATE_LIMIT_EXCEEDED", "requests the server saw", "failed calls"],
    rows,
    checks,
    notes,
    millis: performance.now() - started
  }
}
