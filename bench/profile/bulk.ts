/**
 * Profiling harness (not a scenario): the bulk scenario's client child
 * (bench/bulk.ts, bundled) against the simulator in its own process, with
 * extra node flags, e.g.
 * `NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" BULK_TASKS=20000 npx tsx bench/profile/bulk.ts`.
 * `SIM_ARGS` passes flags to the simulator's process the same way.
 */
import { execSync, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { bundle, startSimulator } from "../lib.js"

const KEY = "sk_bench_bulk"
const n = process.env.BULK_TASKS ?? "20000"
const sim = await startSimulator({
  accounts: [{ apiKey: KEY, plan: { concurrency: 10_000, credits: 1_000_000_000 } }],
  rateLimit: { mode: "perEndpoint", limit: 1_000_000 },
  queueLimit: 200_000,
  requestLogLimit: 0
})
const file = await bundle(fileURLToPath(new URL("../bulk.ts", import.meta.url)), "bulk")
const args = (process.env.NODE_ARGS ?? "").split(" ").filter((a) => a.length > 0)
const started = performance.now()
const child = spawn(process.execPath, ["--expose-gc", ...args, file, "--child", sim.url, n], { stdio: ["ignore", "pipe", "inherit"] })
let last = ""
child.stdout.on("data", (chunk: Buffer) => {
  last = (last + chunk.toString()).split("\n").slice(-2).join("\n")
})
child.on("exit", () => {
  console.log(last.trim().split("\n").pop())
  // the simulator's CPU time (user + system), from its /proc entry: its share of the machine
  const sims = execSync(`ps -o pid=,cputimes=,args= --ppid ${process.pid}`).toString().split("\n").filter((l) => l.includes("simulator"))
  for (const line of sims) console.log(`simulator cpu ${line.trim().split(/\s+/)[1]} s`)
  console.log(`wall ${((performance.now() - started) / 1000).toFixed(1)} s`)
  sim.close()
  process.exit(0)
})
