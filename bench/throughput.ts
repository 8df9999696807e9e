/**
 * Scenario (a), zero latency: N chatgpt calls at concurrency 64 against the
 * node:http stand-in in its own process. Each subject runs in a fresh child
 * process: a warm-up of 500 calls, then three timed rounds; requests/s and CPU
 * µs per request (`process.cpuUsage` of the client process) are their medians.
 * The JIT is not done after the warm-up (the first timed round of the client
 * costs about 1.6× the later ones), which the median leaves out. Bottleneck
 * and raw undici, which no target is a ratio to, run one timed round of 1,000.
 *
 * Besides the baselines, Effect's own pieces composed by hand for the
 * same call (`bench/composed.ts`: schemas, timeout, span; then retry,
 * `Semaphore`, `RateLimiter` at the full client's 1,000/s ceiling): what an
 * Effect user would write instead of this client, and so the floor the CPU
 * targets meet in Effect's combinators.
 */
import {
  childMain,
  childScript,
  type Check,
  median,
  quick,
  ratio,
  runChild,
  type Row,
  type ScenarioResult,
  startServer,
  times
} from "./lib.js"
import { isSubjectName, label, makeSubject, type SubjectName } from "./subjects.js"

const CONCURRENCY = 64
// 2,000 a round since the two composed subjects joined (2,500 before): the run stays within its 5 minutes
const REQUESTS = quick ? 60 : Number(process.env.BENCH_REQUESTS ?? 2_000)
const allSubjects: ReadonlyArray<SubjectName> = [
  "full",
  "bare",
  "effect-http",
  "effect-composed-full",
  "effect-composed-bare",
  "fetch-plimit",
  "bottleneck",
  "undici"
]
// `BENCH_SUBJECTS=full,bare,effect-http npm run bench -- throughput`: only those, for profiling and quick before/after checks.
const only = process.env.BENCH_SUBJECTS?.split(",").map((name) => name.trim())
const subjects = only === undefined ? allSubjects : allSubjects.filter((name) => only.includes(name))

/** Subjects that give context only: one timed round. */
const contextOnly: ReadonlyArray<SubjectName> = ["bottleneck", "undici"]
/** Calls a round: context-only subjects run 1,000 (Bottleneck's 2,500 took 7 s of the run's 5 minutes). */
const roundSize = (name: SubjectName): number => contextOnly.includes(name) ? Math.min(REQUESTS, 1_000) : REQUESTS
const WARM_UP = quick ? 30 : 500

interface Round {
  readonly millis: number
  readonly cpuMicros: number
  readonly failed: number
}

childMain(async ([name, url, count]) => {
  if (!isSubjectName(name) || url === undefined) throw new Error("usage: --child <subject> <url> <count>")
  const n = Number(count)
  const subject = makeSubject(name, { url, concurrency: CONCURRENCY, callerBound: true })
  await subject.fire(Math.min(WARM_UP, n))
  const rounds: Array<Round> = []
  for (let r = 0; r < (contextOnly.includes(name) ? 1 : 3); r++) {
    const cpu = process.cpuUsage()
    const started = performance.now()
    const { failed } = await subject.fire(n)
    const millis = performance.now() - started
    const used = process.cpuUsage(cpu)
    rounds.push({ millis, cpuMicros: used.user + used.system, failed })
  }
  await subject.close()
  return rounds
})

export const run = async (): Promise<ScenarioResult> => {
  const started = performance.now()
  const server = await startServer()
  // Answers carry `Content-Length`, as the simulator's (and most JSON APIs') do; `BENCH_CHUNKED=1` sends them chunked.
  await server.configure({
    latencyMillis: 0,
    cap: 1_000_000,
    ratePerSecond: 1_000_000,
    contentLength: process.env.BENCH_CHUNKED !== "1"
  })
  const script = await childScript(import.meta.url, "throughput")
  const measured = new Map<SubjectName, { perSecond: number; cpuPerRequest: number; failed: number }>()
  const notes: Array<string> = []
  for (const name of subjects) {
    process.stdout.write(`  (a) ${name}...\n`)
    const outcome = await runChild<ReadonlyArray<Round>>(script.file, [name, server.url, String(roundSize(name))], {
      budgetMillis: 240_000,
      plainNode: script.plainNode
    })
    await server.stats()
    if (outcome._tag === "Done") {
      measured.set(name, {
        perSecond: median(outcome.value.map((r) => (roundSize(name) / r.millis) * 1000)),
        cpuPerRequest: median(outcome.value.map((r) => r.cpuMicros / roundSize(name))),
        failed: outcome.value.reduce((sum, r) => sum + r.failed, 0)
      })
    } else {
      notes.push(`${label[name]}: ${outcome.why}`)
    }
  }
  server.close()
  const http = measured.get("effect-http")
  const rows: Array<Row> = subjects.map((name) => {
    const m = measured.get(name)
    return {
      subject: label[name],
      cells: {
        "requests/s": m?.perSecond,
        "CPU µs/request": m?.cpuPerRequest,
        "CPU × Effect HttpClient": times(ratio(m?.cpuPerRequest, http?.cpuPerRequest)),
        "failed calls": m?.failed
      }
    }
  })
  const check = (name: SubjectName, bound: number): Check => {
    const r = ratio(measured.get(name)?.cpuPerRequest, http?.cpuPerRequest)
    return {
      target: `${name === "full" ? "full pipeline" : "bare client"}: CPU/request ≤ ${bound}× Effect HttpClient`,
      value: times(r) ?? "not measured",
      met: r === undefined ? undefined : r <= bound
    }
  }
  return {
    name: "throughput",
    title: `(a) Zero latency, ${REQUESTS.toLocaleString("en-US")} requests at concurrency ${CONCURRENCY} (median of 3 rounds after a ${WARM_UP}-call warm-up; ${contextOnly.map((name) => label[name]).join(" and ")}: one round of ${roundSize("undici").toLocaleString("en-US")}, context only)`,
    columns: ["requests/s", "CPU µs/request", "CPU × Effect HttpClient", "failed calls"],
    rows,
    checks: [check("full", 1.25), check("bare", 1.1)],
    notes,
    millis: performance.now() - started
  }
}
