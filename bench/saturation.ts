/**
 * Scenario (b), saturation: the stand-in caps concurrency at 20 (429
 * `CONCURRENCY_LIMIT_EXCEEDED` past it) and answers after 50 ms (then 200 ms);
 * every call is fired at once. The bound is cap / latency (400/s, 100/s); each
 * subject's share of it is calls / wall time / bound, the median of 3 rounds,
 * each round with a fresh client (so a learned limit is learned every round),
 * after one warm-up round (the context-only baselines: one round, no warm-up).
 * 429s are counted by the server.
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

const CAP = 20

interface Setting {
  readonly latencyMillis: number
  readonly requests: number
  readonly subjects: ReadonlyArray<SubjectName>
}

const settings: ReadonlyArray<Setting> = [
  {
    latencyMillis: 50,
    requests: quick ? 60 : 1_000,
    subjects: ["full", "full-learned", "fetch-plimit", "bottleneck", "effect-semaphore", "fire-retry"]
  },
  { latencyMillis: 200, requests: quick ? 40 : 300, subjects: ["full", "full-learned", "fetch-plimit"] }
]

/**
 * The baselines that only give context (no target is a ratio to them) run one
 * round without a warm-up, and Effect's `Semaphore`, which is known to stall
 * with 1,000 waiting, gets a 5 s budget (its stall shows as well after 5 s as
 * after 10): together they took half of this scenario's time with three
 * rounds and two minutes.
 */
const contextOnly: ReadonlyArray<SubjectName> = ["bottleneck", "effect-semaphore", "fire-retry"]
const budgetOf = (name: SubjectName) => name === "effect-semaphore" ? 5_000 : 120_000

interface Round {
  readonly millis: number
  readonly ok: number
  readonly failed: number
}

childMain(async ([name, url, count]) => {
  if (!isSubjectName(name) || url === undefined) throw new Error("usage: --child <subject> <url> <count>")
  const n = Number(count)
  const options = { url, concurrency: CAP, callerBound: false }
  const full = !contextOnly.includes(name)
  if (full) {
    const warm = makeSubject(name, options)
    await warm.fire(quick ? 20 : 100)
    await warm.close()
  }
  const rounds: Array<Round> = []
  for (let r = 0; r < (full ? 3 : 1); r++) {
    const subject = makeSubject(name, options)
    const started = performance.now()
    const { failed, ok } = await subject.fire(n)
    rounds.push({ millis: performance.now() - started, ok, failed })
    await subject.close()
  }
  return rounds
})

export const run = async (): Promise<ScenarioResult> => {
  const started = performance.now()
  const server = await startServer()
  const script = await childScript(import.meta.url, "saturation")
  const rows: Array<Row> = []
  const checks: Array<Check> = []
  const notes: Array<string> = []
  for (const setting of settings) {
    await server.configure({ latencyMillis: setting.latencyMillis, cap: CAP, ratePerSecond: 1_000_000 })
    const bound = (CAP / setting.latencyMillis) * 1000
    const shares = new Map<SubjectName, number>()
    for (const name of setting.subjects) {
      process.stdout.write(`  (b) ${setting.latencyMillis} ms ${name}...\n`)
      await server.stats()
      const outcome = await runChild<ReadonlyArray<Round>>(
        script.file,
        [name, server.url, String(setting.requests)],
        { budgetMillis: budgetOf(name), plainNode: script.plainNode }
      )
      // the warm-up's 429s are in these counters too; the warm-up is small next to three rounds
      const stats = await server.stats()
      if (outcome._tag !== "Done") {
        notes.push(`${label[name]} at ${setting.latencyMillis} ms: ${outcome.why}`)
        rows.push({ subject: `${label[name]}, ${setting.latencyMillis} ms`, cells: {} })
        continue
      }
      const share = median(outcome.value.map((r) => (setting.requests / r.millis) * 1000 / bound))
      shares.set(name, share)
      rows.push({
        subject: `${label[name]}, ${setting.latencyMillis} ms`,
        cells: {
          "calls/s": median(outcome.value.map((r) => (setting.requests / r.millis) * 1000)),
          "share of bound": share,
          "× fetch + p-limit": undefined,
          "429s (all rounds)": stats.concurrency429 + stats.rate429,
          "server peak": stats.peak,
          "failed calls": outcome.value.reduce((sum, r) => sum + r.failed, 0)
        }
      })
    }
    const plimit = shares.get("fetch-plimit")
    for (const row of rows) {
      const name = setting.subjects.find((s) => row.subject === `${label[s]}, ${setting.latencyMillis} ms`)
      if (name !== undefined && row.cells["share of bound"] !== undefined) {
        Object.assign(row.cells, { "× fetch + p-limit": times(ratio(shares.get(name), plimit)) })
      }
    }
    for (const name of ["full", "full-learned"] as const) {
      const share = shares.get(name)
      const vsPlimit = ratio(share, plimit)
      const which = name === "full" ? "told" : "learned"
      checks.push({
        target: `${setting.latencyMillis} ms, limit ${which}: ≥ 0.97 of the bound and ≥ 0.99× fetch + p-limit`,
        value: share === undefined ? "not measured" : `${share.toFixed(3)}, ${times(vsPlimit) ?? "?"}`,
        met: share === undefined || vsPlimit === undefined ? undefined : share >= 0.97 && vsPlimit >= 0.99
      })
    }
  }
  server.close()
  notes.push(
    "bound = cap / latency (400/s at 50 ms, 100/s at 200 ms). 429s are everything the server refused in the warm-up and the three rounds; the target is 0 avoidable ones (a learned limit needs some to learn from, once per fresh client).",
    `Bottleneck, Effect's \`Semaphore\` and the fire-and-retry recipe give context only: one round each, no warm-up; the \`Semaphore\` is stopped after ${budgetOf("effect-semaphore") / 1000} s.`,
    "The full client keeps its default rate limiter (500/s shared), as a new user would."
  )
  return {
    name: "saturation",
    title: `(b) Saturation: cap ${CAP}, every call fired at once (${
      settings.map((s) => `${s.requests.toLocaleString("en-US")} at ${s.latencyMillis} ms`).join(", ")
    }; median of 3 rounds)`,
    columns: ["calls/s", "share of bound", "× fetch + p-limit", "429s (all rounds)", "server peak", "failed calls"],
    rows,
    checks,
    notes,
    millis: performance.now() - started
  }
}
