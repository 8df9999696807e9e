/**
 * Waiters on a concurrency limiter: ours against Effect's `Semaphore`.
 *
 * Each scenario holds all 20 slots, queues N requests behind them, opens the
 * slots, and waits until every request has run; a request holds its slot for
 * a 1 ms sleep, standing in for a call on the wire. Each scenario runs in a
 * fresh child process, so one scenario's garbage cannot inflate the next one's
 * memory, and peak RSS comes from the kernel's own high-water mark.
 *
 * Run with `npm run bench`.
 */
import { fork } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"

type Kind = "ours" | "semaphore"

interface Scenario {
  readonly kind: Kind
  readonly waiters: number
  /** wall-clock budget; a scenario still running then is stopped and reported as such */
  readonly budgetMillis: number
}

const Measurement = Schema.Struct({
  millis: Schema.Number,
  rssDeltaMb: Schema.Number,
  heapDeltaMb: Schema.Number
})
type Measurement = typeof Measurement.Type

const decodeMeasurement = Schema.decodeUnknownOption(Schema.parseJson(Measurement))
const decodeBaseline = Schema.decodeUnknownOption(Schema.Struct({ rssBefore: Schema.Number }))

/** A running process's peak RSS so far (Linux `VmHWM`), to size a scenario that had to be stopped. */
const peakRssBytes = (pid: number | undefined): Option.Option<number> => {
  if (pid === undefined) {
    return Option.none()
  }
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return match?.[1] === undefined ? Option.none() : Option.some(Number(match[1]) * 1024)
  } catch {
    return Option.none()
  }
}

type Outcome =
  | { readonly _tag: "Done"; readonly scenario: Scenario; readonly measurement: Measurement }
  | {
    readonly _tag: "Stopped"
    readonly scenario: Scenario
    readonly afterMillis: number
    /** peak RSS growth until it was stopped, when the kernel could tell */
    readonly rssDeltaMb: number | undefined
  }
  | { readonly _tag: "Skipped"; readonly scenario: Scenario; readonly why: string }

const slots = 20

/** The workload, run inside the child process. */
const measure = (kind: Kind, waiters: number): Effect.Effect<Measurement> =>
  Effect.gen(function*() {
    const withPermit: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, unknown, R> = kind === "ours"
      ? (yield* Effect.orDie(ConcurrencyLimiter.make({ limit: slots }))).withPermit
      : (yield* Effect.makeSemaphore(slots)).withPermits(1)
    const gate = yield* Deferred.make<void>()
    const allDone = yield* Deferred.make<void>()
    // Plain counters: this is a single-threaded measurement harness, not library code.
    let arrived = 0
    let finished = 0
    let heapPeak = 0
    const sampler = setInterval(() => {
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)
    }, 5)
    const heapBefore = process.memoryUsage().heapUsed
    const rssBefore = process.memoryUsage().rss
    // lets the parent tell the memory of a scenario it has to stop
    process.send?.({ rssBefore })
    const started = performance.now()

    for (let i = 0; i < slots; i++) {
      yield* Effect.forkDaemon(withPermit(Deferred.await(gate)))
    }
    const request = Effect.sync(() => arrived++).pipe(
      Effect.zipRight(withPermit(Effect.sleep("1 millis"))),
      Effect.ensuring(Effect.suspend(() => ++finished === waiters ? Deferred.succeed(allDone, undefined) : Effect.void))
    )
    for (let i = 0; i < waiters; i++) {
      yield* Effect.forkDaemon(request)
    }
    while (arrived < waiters) {
      yield* Effect.yieldNow()
    }
    yield* Effect.yieldNow()
    yield* Deferred.succeed(gate, undefined)
    yield* Deferred.await(allDone)

    const millis = performance.now() - started
    clearInterval(sampler)
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)
    return {
      millis,
      rssDeltaMb: (process.resourceUsage().maxRSS * 1024 - rssBefore) / 1e6,
      heapDeltaMb: (heapPeak - heapBefore) / 1e6
    }
  })

const runChild = (scenario: Scenario): Promise<Outcome> =>
  new Promise((resolve) => {
    const started = performance.now()
    const child = fork(fileURLToPath(import.meta.url), ["--child", scenario.kind, String(scenario.waiters)], {
      stdio: ["ignore", "pipe", "inherit", "ipc"]
    })
    let stopped = false
    let rssBefore: number | undefined
    let rssDeltaMb: number | undefined
    child.on("message", (message) => {
      rssBefore = decodeBaseline(message).pipe(Option.map((_) => _.rssBefore), Option.getOrUndefined)
    })
    const timer = setTimeout(() => {
      stopped = true
      rssDeltaMb = peakRssBytes(child.pid).pipe(
        Option.flatMap((peak) => rssBefore === undefined ? Option.none() : Option.some((peak - rssBefore) / 1e6)),
        Option.getOrUndefined
      )
      child.kill("SIGKILL")
    }, scenario.budgetMillis)
    let output = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on("exit", () => {
      clearTimeout(timer)
      if (stopped) {
        resolve({ _tag: "Stopped", scenario, afterMillis: performance.now() - started, rssDeltaMb })
        return
      }
      const line = output.trim().split("\n").pop() ?? ""
      const measurement = decodeMeasurement(line)
      resolve(
        measurement._tag === "Some"
          ? { _tag: "Done", scenario, measurement: measurement.value }
          : { _tag: "Skipped", scenario, why: `child printed no result: ${line.slice(0, 200)}` }
      )
    })
  })

const scenarios: ReadonlyArray<Scenario> = [
  { kind: "semaphore", waiters: 1_000, budgetMillis: 25_000 },
  { kind: "ours", waiters: 1_000, budgetMillis: 25_000 },
  { kind: "semaphore", waiters: 2_000, budgetMillis: 20_000 },
  { kind: "ours", waiters: 2_000, budgetMillis: 25_000 },
  { kind: "ours", waiters: 20_000, budgetMillis: 25_000 }
]

const skipped: ReadonlyArray<Outcome> = [
  {
    _tag: "Skipped",
    scenario: { kind: "semaphore", waiters: 20_000, budgetMillis: 0 },
    why: "Effect's Semaphore wakes every waiter on each release, so its cost grows with the square of the " +
      "waiters (compare its 1,000 and 2,000 rows); measured by hand, 4,000 waiters ran out of memory"
  }
]

const pad = (text: string, width: number) => text.padStart(width)

const format = (outcomes: ReadonlyArray<Outcome>): string => {
  const lines = [
    `Concurrency limiter: ${slots} slots, N queued requests each holding a slot for a 1 ms sleep`,
    "",
    `${"limiter".padEnd(16)}${pad("waiters", 9)}${pad("wall ms", 10)}${pad("peak RSS +MB", 14)}${
      pad("peak heap +MB", 15)
    }${pad("time ×ours", 12)}${pad("RSS ×ours", 11)}`
  ]
  const ours = (waiters: number) =>
    outcomes.find((o): o is Extract<Outcome, { _tag: "Done" }> =>
      o._tag === "Done" && o.scenario.kind === "ours" && o.scenario.waiters === waiters
    )?.measurement
  const notes: Array<string> = []
  for (const outcome of outcomes) {
    const name = outcome.scenario.kind === "ours" ? "ours" : "Effect Semaphore"
    const head = `${name.padEnd(16)}${pad(outcome.scenario.waiters.toLocaleString("en-US"), 9)}`
    const baseline = ours(outcome.scenario.waiters)
    switch (outcome._tag) {
      case "Done": {
        const m = outcome.measurement
        const ratio = (value: number, base: number | undefined) =>
          base === undefined || outcome.scenario.kind === "ours"
            ? ""
            : `${(value / Math.max(base, 0.001)).toFixed(1)}×`
        lines.push(
          head + pad(m.millis.toFixed(0), 10) + pad(m.rssDeltaMb.toFixed(0), 14) + pad(m.heapDeltaMb.toFixed(0), 15) +
            pad(ratio(m.millis, baseline?.millis), 12) + pad(ratio(m.rssDeltaMb, baseline?.rssDeltaMb), 11)
        )
        break
      }
      case "Stopped": {
        const rss = outcome.rssDeltaMb
        const timeFloor = baseline === undefined ? "" : `>${(outcome.afterMillis / baseline.millis).toFixed(0)}×`
        const rssFloor = baseline === undefined || rss === undefined
          ? ""
          : `>${(rss / Math.max(baseline.rssDeltaMb, 0.001)).toFixed(0)}×`
        lines.push(
          `${head}${pad(`>${(outcome.afterMillis / 1000).toFixed(0)} s`, 10)}${
            pad(rss === undefined ? "?" : `>${rss.toFixed(0)}`, 14)
          }${pad("?", 15)}${pad(timeFloor, 12)}${pad(rssFloor, 11)}`
        )
        notes.push(
          `${name} with ${
            outcome.scenario.waiters.toLocaleString("en-US")
          } waiters was stopped at its time budget; its figures are what it had reached by then.`
        )
        break
      }
      case "Skipped": {
        lines.push(`${head}${pad("skipped", 10)}`)
        notes.push(`${name} with ${outcome.scenario.waiters.toLocaleString("en-US")} waiters skipped: ${outcome.why}.`)
        break
      }
    }
  }
  lines.push("", "×ours: the row's value divided by ours at the same number of waiters, measured in this run.")
  return [...lines, ...notes].join("\n")
}

/** Runs every scenario, one child process at a time, and prints the table. */
export const run = async (): Promise<void> => {
  const outcomes: Array<Outcome> = []
  for (const scenario of scenarios) {
    process.stdout.write(`  running ${scenario.kind} with ${scenario.waiters} waiters...\n`)
    outcomes.push(await runChild(scenario))
  }
  console.log(`\n${format([...outcomes, ...skipped])}\n`)
}

const childIndex = process.argv.indexOf("--child")
if (childIndex >= 0) {
  const kind: Kind = process.argv[childIndex + 1] === "ours" ? "ours" : "semaphore"
  const waiters = Number(process.argv[childIndex + 2])
  Effect.runPromise(measure(kind, waiters)).then(
    (measurement) => {
      console.log(JSON.stringify(measurement))
      process.exit(0)
    },
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
