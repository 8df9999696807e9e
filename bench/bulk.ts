/**
 * Scenario (e), the bulk path: `AsyncTasks.run` with 100,000 google tasks (a lazy `Stream` of inputs) against `CloroSimulator.layerServer` in its
 * own process (so the simulator's memory of every task is not the client's),
 * polled every 500 ms, no rate limit on either side. The client runs bundled
 * (esbuild) under plain node, not tsx, so its RSS is node's and the client's,
 * not the TypeScript loader's; it reports its peak RSS (the kernel's
 * high-water mark) and its live heap after a full GC as it goes. A run past
 * its time budget is stopped and reported with how far it got, so the run
 * always ends. "Flat from 10,000 to 100,000" compares the same run's peak RSS
 * when 10 % (10,000) had ended with its peak at the end: the in-flight window
 * is full in both, so a separate 10,000-task run measured the same thing and
 * cost a run (issue 16 wants `npm run bench` under 5 minutes, this
 * scenario a minute of it). It also reports the client's CPU time per task
 * (user + system, `process.cpuUsage`), which says more than tasks/s on a
 * shared machine. A stopped run reports the tenths it reached; its targets
 * can then show as missed, never as met. `BULK_HEAP_SNAPSHOT=<dir>` writes a
 * heap snapshot when 20 % have ended, `BULK_MEMLOG=1` logs V8's spaces every
 * 2 s, and `BULK_NODE_ARGS` passes V8 flags to the client (for profiling;
 * not in the table).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { fileURLToPath } from "node:url"
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as Cloro from "../src/Cloro.js"
import * as Task from "../src/Task.js"
import { bundle, childMain, type Check, mb, quick, runChild, type Row, type ScenarioResult, startSimulator } from "./lib.js"

const KEY = "sk_bench_bulk"
/** `BULK_TASKS` and `BULK_BUDGET_MS` override the size and the budget, to measure one size apart (not for the table of a full run). */
const envNumber = (name: string): number | undefined => {
  const value = Number(process.env[name])
  return Number.isInteger(value) && value > 0 ? value : undefined
}
const sizes = [envNumber("BULK_TASKS") ?? (quick ? 2_000 : 100_000)]
/** `npm run bench` must end within 5 minutes in all; this scenario's share is a minute */
const BUDGET = envNumber("BULK_BUDGET_MS") ?? 60_000

interface Result {
  readonly tasks: number
  readonly done: number
  readonly failed: number
  readonly millis: number
  readonly peakRss: number
  /** RSS once the modules and the layer were loaded, before the first task */
  readonly rssBefore: number
  /** peak RSS when 10 %, 20 %, ... of the tasks had ended */
  readonly rssAt: ReadonlyArray<number>
  /** live heap after a full GC when 10 %, 20 %, ... of the tasks had ended (NaN without --expose-gc) */
  readonly heapAt: ReadonlyArray<number>
  /** failed outcomes by error tag */
  readonly failedBy: Readonly<Record<string, number>>
  /** the client process's CPU time (user + system) from the first task to the last outcome, in ms */
  readonly cpuMillis: number
}

const peakRss = () => process.resourceUsage().maxRSS * 1024

/** The live heap after a full collection, when node runs with --expose-gc. */
const liveHeap = (): number => {
  const gc: unknown = Reflect.get(globalThis, "gc")
  if (typeof gc !== "function") return Number.NaN
  gc()
  return process.memoryUsage().heapUsed
}

childMain(async ([url, count]): Promise<Result> => {
  if (url === undefined) throw new Error("usage: --child <url> <count>")
  const n = Number(count)
  const layer = Cloro.layer({ apiKey: KEY, baseUrl: url }, { monitor: "silent", rateLimit: "unlimited" }).pipe(
    Layer.provide(NodeHttpClient.layerUndici)
  )
  const rssBefore = process.memoryUsage().rss
  let done = 0
  let failed = 0
  const rssAt: Array<number> = []
  const heapAt: Array<number> = []
  const failedBy: Record<string, number> = {}
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  // BULK_MEMLOG=1: where the RSS is (V8's spaces, external memory), every 2 s on stderr (for profiling; not in the table)
  const memlog = process.env.BULK_MEMLOG === undefined ? undefined : setInterval(() => {
    const m = process.memoryUsage()
    const spaces = getHeapSpaceStatistics().map((s) => `${s.space_name.replace("_space", "")}=${mb(s.space_size)}`).join(" ")
    process.stderr.write(
      `mem done=${done} rss=${mb(m.rss)} heapTotal=${mb(m.heapTotal)} heapUsed=${mb(m.heapUsed)} external=${mb(m.external)} buffers=${mb(m.arrayBuffers)} ${spaces}\n`
    )
  }, 2_000)
  const requests = Stream.range(1, n).pipe(
    Stream.map((i) => ({ id: `t-${i}`, task: Task.make("google", { query: `crm ${i}`, country: "US" }) }))
  )
  await Effect.runPromise(
    AsyncTasks.run(requests, { schedule: Schedule.spaced("500 millis") }).pipe(
      Stream.runForEach((outcome) =>
        Effect.sync(() => {
          done++
          if (outcome.result._tag === "Left") {
            failed++
            failedBy[outcome.result.left._tag] = (failedBy[outcome.result.left._tag] ?? 0) + 1
          }
          const tenth = done % Math.max(1, Math.floor(n / 10)) === 0
          if (tenth) {
            // BULK_HEAP_SNAPSHOT=dir: a heap snapshot when 20 % have ended, the window full (for profiling, not the table)
            if (done === Math.floor(n / 10) * 2 && process.env.BULK_HEAP_SNAPSHOT !== undefined) {
              writeHeapSnapshot(`${process.env.BULK_HEAP_SNAPSHOT}/bulk-${done}.heapsnapshot`)
            }
            rssAt.push(peakRss())
            heapAt.push(liveHeap())
          }
          // every 1 %: everything measured so far, so that a run stopped by its budget still reports how far it got
          if (tenth || done % Math.max(1, Math.floor(n / 100)) === 0) {
            const cpu = process.cpuUsage(cpuBefore)
            process.stdout.write(
              `progress ${
                JSON.stringify({ done, peakRss: peakRss(), rssAt, heapAt, cpuMillis: (cpu.user + cpu.system) / 1000 })
              }\n`
            )
          }
        })
      ),
      Effect.provide(layer)
    )
  )
  const cpu = process.cpuUsage(cpuBefore)
  clearInterval(memlog)
  return {
    tasks: n,
    done,
    failed,
    millis: performance.now() - started,
    peakRss: peakRss(),
    rssBefore,
    rssAt,
    heapAt,
    failedBy,
    cpuMillis: (cpu.user + cpu.system) / 1000
  }
})

interface Progress {
  readonly done: number
  readonly peakRss: number
  readonly rssAt: ReadonlyArray<number>
  readonly heapAt: ReadonlyArray<number>
  readonly cpuMillis: number
}

const numbers = (value: unknown): ReadonlyArray<number> =>
  Array.isArray(value) ? value.filter((v): v is number => typeof v === "number") : []

const progressOf = (progress: unknown): Progress | undefined =>
  typeof progress === "object" && progress !== null && "done" in progress && "peakRss" in progress &&
    typeof progress.done === "number" && typeof progress.peakRss === "number"
    ? {
      done: progress.done,
      peakRss: progress.peakRss,
      rssAt: numbers("rssAt" in progress ? progress.rssAt : undefined),
      heapAt: numbers("heapAt" in progress ? progress.heapAt : undefined),
      cpuMillis: "cpuMillis" in progress && typeof progress.cpuMillis === "number" ? progress.cpuMillis : Number.NaN
    }
    : undefined

/** The figures at 10 %, 50 % and 100 % ended, "–" for a tenth not reached. */
const tenths = (values: ReadonlyArray<number>): string => [values[0], values[4], values[9]].map((b) => mb(b) ?? "–").join(", ")

export const run = async (): Promise<ScenarioResult> => {
  const started = performance.now()
  const rows: Array<Row> = []
  const notes: Array<string> = []
  const peaks = new Map<number, number>()
  /** sizes whose run was stopped by its budget: their figures are what it had reached */
  const stopped = new Set<number>()
  /** peak RSS when a tenth of the tasks had ended */
  const atTenth = new Map<number, number>()
  const child = await bundle(fileURLToPath(import.meta.url), "bulk")
  for (const size of sizes) {
    process.stdout.write(`  (e) ${size} tasks...\n`)
    const sim = await startSimulator({
      accounts: [{ apiKey: KEY, plan: { concurrency: 10_000, credits: 1_000_000_000 } }],
      rateLimit: { mode: "perEndpoint", limit: 1_000_000 },
      queueLimit: 200_000,
      requestLogLimit: 0
    })
    const outcome = await runChild<Result>(child, [sim.url, String(size)], {
      budgetMillis: BUDGET,
      rssCapBytes: 2e9,
      plainNode: true,
      // BULK_NODE_ARGS: V8 flags for the client's process (e.g. a smaller young generation), to see what RSS is V8's sizing
      execArgv: ["--expose-gc", ...(process.env.BULK_NODE_ARGS ?? "").split(" ").filter((a) => a.length > 0)]
    })
    sim.close()
    if (outcome._tag === "Done") {
      const r = outcome.value
      peaks.set(size, r.peakRss)
      if (r.rssAt[0] !== undefined) atTenth.set(size, r.rssAt[0])
      if (r.failed > 0) {
        notes.push(`${size.toLocaleString("en-US")} tasks: failed outcomes by error: ${JSON.stringify(r.failedBy)}.`)
      }
      rows.push({
        subject: `\`AsyncTasks.run\`, ${size.toLocaleString("en-US")} tasks`,
        cells: {
          "ended": r.done,
          "failed": r.failed,
          "tasks/s": (r.done / r.millis) * 1000,
          "client CPU per task": `${((r.cpuMillis / Math.max(1, r.done)) * 1000).toFixed(0)} µs`,
          "client peak RSS": mb(r.peakRss),
          "RSS before the first task": mb(r.rssBefore),
          "peak RSS at 10 %, 50 %, 100 % ended": tenths(r.rssAt),
          "live heap after GC at 10 %, 50 %, 100 % ended": tenths(r.heapAt)
        }
      })
    } else {
      const progress = progressOf(outcome.progress)
      stopped.add(size)
      // the kernel's high-water mark when it was stopped, else its last report
      const peakSeen = outcome.peakRss ?? progress?.peakRss
      if (peakSeen !== undefined) peaks.set(size, peakSeen)
      if (progress?.rssAt[0] !== undefined) atTenth.set(size, progress.rssAt[0])
      rows.push({
        subject: `\`AsyncTasks.run\`, ${size.toLocaleString("en-US")} tasks (stopped)`,
        cells: {
          "ended": progress?.done ?? 0,
          "tasks/s": progress === undefined ? undefined : (progress.done / outcome.afterMillis) * 1000,
          "client CPU per task": progress === undefined || progress.done === 0
            ? undefined
            : `${((progress.cpuMillis / progress.done) * 1000).toFixed(0)} µs`,
          "client peak RSS": mb(outcome.peakRss),
          "peak RSS at 10 %, 50 %, 100 % ended": progress === undefined ? undefined : tenths(progress.rssAt),
          "live heap after GC at 10 %, 50 %, 100 % ended": progress === undefined ? undefined : tenths(progress.heapAt)
        }
      })
      notes.push(`${size.toLocaleString("en-US")} tasks: stopped, ${outcome.why}; figures are what it had reached.`)
    }
  }
  const [size = 0] = sizes
  const peak = peaks.get(size)
  const tenth = atTenth.get(size)
  // a stopped run can show a target missed, never met
  const cut = stopped.has(size)
  const checks: Array<Check> = [
    {
      target: `${size.toLocaleString("en-US")} tasks: client peak RSS ≤ 150 MB`,
      value: peak === undefined ? "not measured" : `${mb(peak)}${cut ? " (stopped before the end)" : ""}`,
      met: peak === undefined ? undefined : peak > 150e6 ? false : cut ? undefined : true
    },
    {
      target: `flat: peak RSS at ${size.toLocaleString("en-US")} ended within 10 % of the peak at ${(size / 10).toLocaleString("en-US")}`,
      value: peak === undefined || tenth === undefined
        ? "not measured (10 % not reached)"
        : `${((peak / tenth - 1) * 100).toFixed(0)} % more${cut ? " by its last report (stopped)" : ""}`,
      met: peak === undefined || tenth === undefined ? undefined : peak > tenth * 1.1 ? false : cut ? undefined : true
    }
  ]
  notes.push(
    "Default `inFlight` (1,000) and `pollConcurrency` (100); `Schedule.spaced(\"500 millis\")` polls; the simulator answers at once. RSS is the client process's alone: node (about 45 MB on its own), the library and the run, bundled by esbuild and run without tsx; the live heap is measured after a full GC (`--expose-gc`)."
  )
  return {
    name: "bulk",
    title: `(e) Bulk path: \`AsyncTasks.run\` against the simulator in its own process`,
    columns: [
      "ended",
      "failed",
      "tasks/s",
      "client CPU per task",
      "client peak RSS",
      "RSS before the first task",
      "peak RSS at 10 %, 50 %, 100 % ended",
      "live heap after GC at 10 %, 50 %, 100 % ended"
    ],
    rows,
    checks,
    notes,
    millis: performance.now() - started
  }
}
