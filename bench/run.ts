/**
 * `npm run bench`: every scenario, one after the other, each table printed and
 * all of them written to bench/results/latest.json and latest.md (`--quick`
 * writes bench/results/quick.* instead). `npm run bench -- --quick` is the small
 * version CI runs: it checks that the benchmarks run, not their numbers.
 * `npm run bench -- throughput rate` runs only the named scenarios.
 *
 * The earlier in-memory benchmarks (`limiters`: our limiter against Effect's
 * Semaphore with N waiters; `pipeline`: the pipeline over an in-memory
 * HttpClient; `waiting`: live heap per waiting call in memory) print their own
 * tables and run only when named, e.g. `npm run bench -- pipeline waiting`:
 * the five scenarios above are issue 16's, and `redis` (4 worker processes
 * sharing limits through Redis) is issue 15's.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { format, quick, type ScenarioResult } from "./lib.js"
import { run as bulk } from "./bulk.js"
import { run as limiters } from "./limiters.js"
import { run as memory } from "./memory.js"
import { run as pipeline } from "./pipeline.js"
import { run as rate } from "./rate.js"
import { run as redis } from "./redis.js"
import { run as saturation } from "./saturation.js"
import { run as throughput } from "./throughput.js"
import { run as waiting } from "./waiting.js"

const scenarios: ReadonlyArray<readonly [string, () => Promise<ScenarioResult>]> = [
  ["throughput", throughput],
  ["saturation", saturation],
  ["memory", memory],
  ["rate", rate],
  ["bulk", bulk],
  ["redis", redis]
]

const extras: ReadonlyArray<readonly [string, () => Promise<void>]> = [
  ["limiters", limiters],
  ["pipeline", pipeline],
  ["waiting", waiting]
]

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith("--"))
for (const [name, extra] of extras) {
  if (wanted.includes(name)) await extra()
}
if (wanted.length > 0 && wanted.every((name) => extras.some(([extra]) => extra === name))) process.exit(0)
const started = performance.now()
const loadBefore = loadavg()
const dir = fileURLToPath(new URL("./results/", import.meta.url))
mkdirSync(dir, { recursive: true })
/**
 * A run of named scenarios replaces only theirs in the results file and keeps
 * the others' last tables (each table says how long it took; the file's date
 * is the last run's), so one scenario can be re-measured without the rest.
 */
const previous = (): ReadonlyArray<ScenarioResult> => {
  if (wanted.length === 0) return []
  try {
    const parsed: unknown = JSON.parse(readFileSync(`${dir}${quick ? "quick" : "latest"}.json`, "utf8"))
    return typeof parsed === "object" && parsed !== null && "results" in parsed && Array.isArray(parsed.results)
      ? (parsed.results as ReadonlyArray<ScenarioResult>).filter((r) => !wanted.includes(r.name))
      : []
  } catch {
    return []
  }
}
const kept = previous()
const results: Array<ScenarioResult> = []
const ordered = () =>
  scenarios.flatMap(([name]) => [...kept, ...results].filter((r) => r.name === name))
// written after every scenario, so a run cut short still leaves what it measured
const write = (complete: boolean) => {
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadBefore, loadAfter: loadavg() }
  const totalSeconds = (performance.now() - started) / 1000
  writeFileSync(
    `${dir}${quick ? "quick" : "latest"}.json`,
    `${JSON.stringify({ date: new Date().toISOString(), quick, complete, machine, totalSeconds, results: ordered() }, null, 2)}\n`
  )
  writeFileSync(
    `${dir}${quick ? "quick" : "latest"}.md`,
    `${ordered().map((r) => `${format(r)}\n\n(${(r.millis / 1000).toFixed(0)} s)`).join("\n\n")}\n\n${
      complete ? "" : "(incomplete run) "
    }${totalSeconds.toFixed(0)} s in all on ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, load average ${
      machine.loadBefore.map((l) => l.toFixed(1)).join(" ")
    } before and ${machine.loadAfter.map((l) => l.toFixed(1)).join(" ")} after, ${new Date().toISOString()}\n`
  )
  return { machine, totalSeconds }
}
for (const [name, scenario] of scenarios) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  const result = await scenario()
  results.push(result)
  console.log(`\n${format(result)}\n\n(${(result.millis / 1000).toFixed(1)} s)\n`)
  write(false)
}
const { machine, totalSeconds } = write(true)
console.log(
  `all scenarios: ${totalSeconds.toFixed(0)} s on ${machine.cores} cores, Node ${machine.node}, load average ${
    machine.loadBefore.map((l) => l.toFixed(1)).join(" ")
  } before`
)
