/**
 * Profiling harness (not a scenario): the bulk scenario's client child
 * (bench/bulk.ts, bundled) against the simulator in its own process, with
 * extra node flags, e.g.
 * `NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" BULK_TASKS=20000 npx tsx bench/profile/bulk.ts`.
 * `SIM_ARGS` passes flags to the simulator's process the same way (it exits,
 * writing a profile, when this process disconnects).
 */
import { execSync, fork, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { bundle, childScript } from "../lib.js"

const KEY = "sk_bench_bulk"
const n = process.env.BULK_TASKS ?? "20000"
const config = {
  accounts: [{ apiKey: KEY, plan: { concurrency: 10_000, credits: 1_000_000_000 } }],
  rateLimit: { mode: "perEndpoint", limit: 1_000_000 },
  queueLimit: 200_000,
  requestLogLimit: 0
}
const simArgs = (process.env.SIM_ARGS ?? "").split(" ").filter((a) => a.length > 0)
/** the simulator as bench/lib.ts starts it, with `SIM_ARGS` added to its node flags */
const sim = await (async () => {
  const script = await childScript(new URL("../simulator.ts", import.meta.url).href, "simulator")
  const child = fork(script.file, [JSON.stringify(config)], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: simArgs })
  const url = await new Promise<string>((resolve) =>
    child.on("message", (m: unknown) => {
      if (typeof m === "object" && m !== null && "url" in m && typeof m.url === "string") resolve(m.url)
    })
  )
  return { url, close: () => child.disconnect() }
})()
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
  // the simulator writes its profile as it exits
  setTimeout(() => process.exit(0), 3_000)
})
