/** `tsx bench/profile/run.ts <subject...>`: bundles the harness and runs each subject under plain node (PROFILE=1 adds --cpu-prof). */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { bundle, startServer } from "../lib.js"

const server = await startServer()
await server.configure({ latencyMillis: 0, cap: 1_000_000, ratePerSecond: 1_000_000 })
const file = await bundle(fileURLToPath(new URL("./throughput.ts", import.meta.url)), "profile-throughput")
for (const name of process.argv.slice(2)) {
  const args = process.env.PROFILE === "1" ? ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"] : []
  spawnSync(process.execPath, [...args, file, name, server.url, process.env.N ?? "2000", process.env.ROUNDS ?? "3"], { stdio: "inherit" })
}
server.close()
