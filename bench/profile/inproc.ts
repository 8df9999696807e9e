/**
 * Profiling harness (not a scenario): CPU per call of the client's own layers
 * over an in-process fake `HttpClient` (no network), against the platform's
 * `HttpClient` alone over the same fake. `tsx bench/profile/inproc.ts [full|bare|http]`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Cloro from "../../src/Cloro.js"
import * as CloroClient from "../../src/CloroClient.js"
import { PerformanceObserver, constants } from "node:perf_hooks"
import { base, fakeLayer, KEY } from "./fakeClient.js"

// Minor collections × the semi-space size approximate the bytes allocated: a figure the machine's load does not move.
let scavenges = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const detail: unknown = "detail" in entry ? entry.detail : undefined
    if (typeof detail === "object" && detail !== null && "kind" in detail && detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++
  }
}).observe({ entryTypes: ["gc"] })

const chatgpt = (i: number) =>
  Effect.flatMap(CloroClient.CloroClient, (client) => client.monitor.chatgpt({ prompt: `question ${i}`, country: "US" }))
const http = (i: number) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(HttpClientRequest.post(`${base}/v1/monitor/chatgpt`).pipe(
      HttpClientRequest.setHeaders({ authorization: `Bearer ${KEY}` }),
      HttpClientRequest.bodyText(JSON.stringify({ prompt: `question ${i}`, country: "US" }), "application/json")
    )).pipe(Effect.flatMap((r) => r.json)))

const subjects = {
  http: [fakeLayer, http],
  bare: [CloroClient.layerWith({ apiKey: KEY, baseUrl: base }).pipe(Layer.provide(Layer.merge(Cloro.layerBare, fakeLayer))), chatgpt],
  full: [Cloro.layer({ apiKey: KEY, baseUrl: base }, { monitor: "silent", concurrency: { limit: 64 } }).pipe(Layer.provide(fakeLayer)), chatgpt]
} as const
const N = Number(process.env.N ?? 20_000)
// ALLOC_PROF=file: a sampling profile of every allocation (collected ones too) during the timed rounds.
const session = process.env.ALLOC_PROF === undefined ? undefined : new (await import("node:inspector")).Session()
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) => session!.post(method, params, (error, result) => (error ? reject(error) : resolve(result))))
session?.connect()
for (const name of process.argv.slice(2) as Array<keyof typeof subjects>) {
  const [layer, call] = subjects[name] as unknown as [Layer.Layer<never>, (i: number) => Effect.Effect<unknown, unknown, never>]
  const runtime = ManagedRuntime.make(layer)
  const results: Array<number> = []
  const allocated: Array<number> = []
  for (let r = 0; r < 4; r++) {
    if (r === 1 && session !== undefined) {
      await post("HeapProfiler.startSampling", { samplingInterval: 2048, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    }
    const cpu = process.cpuUsage()
    const before = scavenges
    await runtime.runPromise(Effect.forEach(Array.from({ length: N }, (_, i) => i), call, { concurrency: 64, discard: true }))
    const used = process.cpuUsage(cpu)
    await new Promise((resolve) => setTimeout(resolve, 10))
    if (r > 0) results.push((used.user + used.system) / N)
    if (r > 0) allocated.push((scavenges - before) * 16 * 1024 / N)
  }
  if (session !== undefined) {
    const { profile } = (await post("HeapProfiler.stopSampling")) as { profile: unknown }
    ;(await import("node:fs")).writeFileSync(`${process.env.ALLOC_PROF}.${name}.heapprofile`, JSON.stringify(profile))
  }
  results.sort((a, b) => a - b)
  console.log(name, results.map((x) => x.toFixed(0)).join(" "), "µs/call, median", results[1]!.toFixed(0), "| ~KB allocated/call", allocated.map((x) => x.toFixed(1)).join(" "))
  await runtime.dispose()
}
