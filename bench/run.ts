/**
 * `npm run bench`: every scenario, one after the other, each table printed and
 * all of them written to bench/results/latest.json (`--quick` writes
 * bench/results/quick.json instead). `npm run bench -- --quick` is the small
 * version CI runs: it checks that the benchmarks run, not their numbers.
 * `npm run bench -- throughput rate` runs only the named scenarios.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"
import { format, quick, type ScenarioResult } from "./lib.js"
import { run as bulk } from "./bulk.js"
import { run as memory } from "./memory.js"
import { run as rate } from "./rate.js"
import { run as saturation } from "./saturation.js"
import { run as throughput } from "./throughput.js"

const scenarios: ReadonlyArray<readonly [string, () => Promise<ScenarioResult>]> = [
  ["throughput", throughput],
  ["saturation", saturation],
  ["memory", memory],
  ["rate", rate],
  ["bulk", bulk]
]

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith("--"))
const started = performance.now()
const results: Array<ScenarioResult> = []
for (const [name, scenario] of scenarios) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  const result = await scenario()
  results.push(result)
  console.log(`\n${format(result)}\n\n(${(result.millis / 1000).toFixed(1)} s)\n`)
}
const totalSeconds = (performance.now() - started) / 1000
const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model,
  node: process.version,
  loadAverage: (await import("node:os")).loadavg()
}
const dir = fileURLToPath(new URL("./results/", import.meta.url))
mkdirSync(dir, { recursive: true })
writeFileSync(
  `${dir}${quick ? "quick" : "latest"}.json`,
  `${JSON.stringify({ date: new Date().toISOString(), quick, machine, totalSeconds, results }, null, 2)}\n`
)
console.log(`all scenarios: ${totalSeconds.toFixed(0)} s on ${machine.cores} cores, Node ${machine.node}`)
