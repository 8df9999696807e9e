/**
 * Scenario (c), memory per waiting call: the stand-in caps concurrency at 50
 * and answers after 200 ms; 20,000 calls are fired at once. Once they have all
 * been queued (the first answers are back), the child collects garbage twice
 * and reads the live heap and RSS; the growth since before firing, divided by
 * the calls still waiting, is the cost of one waiting call. Each subject runs
 * in a fresh process with `--expose-gc`, killed past a time budget or an RSS
 * cap so that a subject that stalls or explodes still ends the run.
 */
import { childMain, childScript, type Check, mb, quick, ratio, runChild, type Row, type ScenarioResult, startServer, times } from "./lib.js"
import { isSubjectName, label, makeSubject, type SubjectName } from "./subjects.js"

const CAP = 50
const LATENCY = 200
const FIRED = quick ? 2_000 : 20_000
const RSS_CAP = 1.5e9
const subjects: ReadonlyArray<SubjectName> = ["full", "fetch-plimit", "bottleneck", "effect-fiber", "effect-semaphore"]

interface Measurement {
  readonly heapPerWaiting: number
  readonly rssPerWaiting: number
  readonly waiting: number
  readonly rss: number
  readonly settleMillis: number
}

const live = () => {
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage()
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

childMain(async ([name, url]): Promise<Measurement> => {
  if (!isSubjectName(name) || url === undefined) throw new Error("usage: --child <subject> <url>")
  const subject = makeSubject(name, { url, concurrency: CAP, callerBound: false })
  // one call first, so connections, modules and the runtime exist before the baseline is read
  await subject.fire(1)
  const before = live()
  const started = performance.now()
  void subject.fire(FIRED)
  // queued once the first answers are back (they take 200 ms); then a little longer for stragglers
  while (subject.ended() < 2) {
    await sleep(20)
  }
  await sleep(300)
  const settleMillis = performance.now() - started
  const after = live()
  const waiting = FIRED + 1 - subject.ended() - CAP
  process.stdout.write(`progress ${JSON.stringify({ waiting })}\n`)
  return {
    heapPerWaiting: (after.heapUsed - before.heapUsed) / waiting,
    rssPerWaiting: (after.rss - before.rss) / waiting,
    waiting,
    rss: after.rss,
    settleMillis
  }
})

export const run = async (): Promise<ScenarioResult> => {
  const started = performance.now()
  const server = await startServer()
  await server.configure({ latencyMillis: LATENCY, cap: CAP, ratePerSecond: 1_000_000 })
  const script = await childScript(import.meta.url, "memory")
  const measured = new Map<SubjectName, Measurement>()
  const rows: Array<Row> = []
  const notes: Array<string> = []
  for (const name of subjects) {
    process.stdout.write(`  (c) ${name}...\n`)
    const outcome = await runChild<Measurement>(script.file, [name, server.url], {
      budgetMillis: quick ? 30_000 : 60_000,
      plainNode: script.plainNode,
      rssCapBytes: RSS_CAP,
      execArgv: ["--expose-gc", "--max-old-space-size=2048"]
    })
    const stats = await server.stats()
    if (outcome._tag === "Done") {
      measured.set(name, outcome.value)
    } else {
      notes.push(`${label[name]}: stopped, ${outcome.why} (peak RSS ${mb(outcome.peakRss) ?? "?"}).`)
    }
    const m = measured.get(name)
    rows.push({
      subject: label[name],
      cells: {
        "live heap KB / waiting call": m === undefined ? undefined : m.heapPerWaiting / 1024,
        "RSS KB / waiting call": m === undefined ? undefined : m.rssPerWaiting / 1024,
        "heap × fetch + p-limit": undefined,
        "waiting": m?.waiting,
        "process RSS": m === undefined ? (outcome._tag === "Stopped" ? `stopped at ${mb(outcome.peakRss) ?? "?"}` : undefined) : mb(m.rss),
        "429s": stats.concurrency429
      }
    })
  }
  server.close()
  const plimit = measured.get("fetch-plimit")?.heapPerWaiting
  rows.forEach((row, i) => {
    const name = subjects[i]
    if (name !== undefined) Object.assign(row.cells, { "heap × fetch + p-limit": times(ratio(measured.get(name)?.heapPerWaiting, plimit)) })
  })
  const full = measured.get("full")
  const heapRatio = ratio(full?.heapPerWaiting, plimit)
  const checks: Array<Check> = [
    {
      target: "memory per waiting call ≤ 2× fetch + p-limit's",
      value: times(heapRatio) ?? "not measured",
      met: heapRatio === undefined ? undefined : heapRatio <= 2
    },
    {
      target: `${FIRED.toLocaleString("en-US")} fired at once through \`Effect.forEach\` unbounded: RSS < 400 MB`,
      value: mb(full?.rss) ?? "not measured",
      met: full === undefined ? undefined : full.rss < 400e6
    }
  ]
  notes.push(
    "Live heap after two full collections, growth since before firing, divided by the calls still waiting; RSS the same way (RSS also holds freed pages V8 has not returned, so it is the noisier figure).",
    `Each child is stopped past ${RSS_CAP / 1e9} GB RSS or its time budget.`
  )
  return {
    name: "memory",
    title: `(c) Memory per waiting call: cap ${CAP}, ${LATENCY} ms, ${FIRED.toLocaleString("en-US")} fired at once`,
    columns: ["live heap KB / waiting call", "RSS KB / waiting call", "heap × fetch + p-limit", "waiting", "process RSS", "429s"],
    rows,
    checks,
    notes,
    millis: performance.now() - started
  }
}
