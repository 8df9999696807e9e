/**
 * Profiling only: `count` calls fired at once through the full client (cap
 * 50, 200 ms) against ./gapServer.ts; reports the live heap per waiting call
 * and, with `--snapshot`, writes heap snapshots before firing and while they
 * wait (`/tmp/memwait-{before,after}.heapsnapshot`).
 * `node --expose-gc bench/profile/memwait.mjs [count] [--snapshot]` after ./build.sh
 */
import { fork } from "node:child_process"
import { writeHeapSnapshot } from "node:v8"
import { fileURLToPath } from "node:url"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Cloro from "../../src/Cloro.js"
import * as CloroClient from "../../src/CloroClient.js"

const count = Number(process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "2000")
const snapshot = process.argv.includes("--snapshot")
const CAP = 50
const server = fork(fileURLToPath(new URL("./gapServer.ts", import.meta.url)), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
const next = (type: string) =>
  new Promise<unknown>((resolve) => server.once("message", (m: { type: string }) => m.type === type ? resolve(m) : undefined))
const { url } = await next("listening") as { url: string }
server.send({ type: "configure", settings: { latencyMillis: 200, cap: CAP } })
await next("configured")
const live = () => {
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage()
}
const runtime = ManagedRuntime.make(
  Cloro.layer({ apiKey: "sk_bench", baseUrl: url }, { monitor: "silent", concurrency: { limit: CAP } }).pipe(
    Layer.provide(NodeHttpClient.layerUndici)
  )
)
let ended = 0
const fire = (n: number) =>
  runtime.runPromise(Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    (i) =>
      Effect.flatMap(CloroClient.CloroClient, (client) => client.monitor.chatgpt({ prompt: `question ${i}`, country: "US" })).pipe(
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => ended++))
      ),
    { concurrency: "unbounded", discard: true }
  ))
await fire(1)
const before = live()
if (snapshot) writeHeapSnapshot("/tmp/memwait-before.heapsnapshot")
const done = fire(count)
while (ended < 3) await new Promise((r) => setTimeout(r, 20))
await new Promise((r) => setTimeout(r, 100))
const after = live()
const waiting = count + 1 - ended - CAP
console.log(`${waiting} waiting: ${((after.heapUsed - before.heapUsed) / waiting / 1024).toFixed(2)} KB live heap per waiting call, RSS ${(after.rss / 1e6).toFixed(0)} MB`)
if (snapshot) writeHeapSnapshot("/tmp/memwait-after.heapsnapshot")
await done
await runtime.dispose()
server.kill()
process.exit(0)
