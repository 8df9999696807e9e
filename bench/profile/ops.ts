/**
 * Profiling harness (not a scenario): how many Effect operations and fibers
 * one call costs, counted by a supervisor: a figure the machine's load does
 * not move. `tsx bench/profile/ops.ts`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as RuntimeFlagsPatch from "effect/RuntimeFlagsPatch"
import * as Supervisor from "effect/Supervisor"
import * as Cloro from "../../src/Cloro.js"
import * as CloroClient from "../../src/CloroClient.js"
import { base, fakeLayer, KEY } from "./fakeClient.js"

class Counter extends Supervisor.AbstractSupervisor<void> {
  ops = 0
  fibers = 0
  get value() {
    return Effect.void
  }
  override onStart() {
    this.fibers++
  }
  readonly seen = new Map<string, number>()
  override onEffect(_fiber: unknown, effect: unknown) {
    this.ops++
    if (process.env.OPS_DETAIL !== undefined) {
      const op = effect as Record<string, unknown>
      const fn = [op.effect_instruction_i1, op.effect_instruction_i0].find((f) => typeof f === "function") as Function | undefined
      const key = `${String(op._op)} ${fn === undefined ? "" : fn.toString().replace(/\s+/g, " ").slice(0, 110)}`
      this.seen.set(key, (this.seen.get(key) ?? 0) + 1)
    }
  }
}

const chatgpt = Effect.flatMap(CloroClient.CloroClient, (client) => client.monitor.chatgpt({ prompt: "question", country: "US" }))
const http = Effect.flatMap(HttpClient.HttpClient, (client) =>
  client.execute(HttpClientRequest.post(`${base}/v1/monitor/chatgpt`).pipe(
    HttpClientRequest.setHeaders({ authorization: `Bearer ${KEY}` }),
    HttpClientRequest.bodyText(JSON.stringify({ prompt: "question", country: "US" }), "application/json")
  )).pipe(Effect.flatMap((r) => r.json)))

const subjects = {
  http: [fakeLayer, http],
  bare: [CloroClient.layerWith({ apiKey: KEY, baseUrl: base }).pipe(Layer.provide(Layer.merge(Cloro.layerBare, fakeLayer))), chatgpt],
  full: [Cloro.layer({ apiKey: KEY, baseUrl: base }, { monitor: "silent", concurrency: { limit: 64 } }).pipe(Layer.provide(fakeLayer)), chatgpt]
} as const
for (const name of (process.argv.length > 2 ? process.argv.slice(2) : Object.keys(subjects)) as Array<keyof typeof subjects>) {
  const [layer, call] = subjects[name] as unknown as [Layer.Layer<never>, Effect.Effect<unknown, unknown, never>]
  const runtime = ManagedRuntime.make(layer)
  await runtime.runPromise(call)
  const counter = new Counter()
  await runtime.runPromise(call.pipe(
    Effect.supervised(counter),
    Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
  ))
  console.log(`${name}: ${counter.ops} operations, ${counter.fibers} fibers started`)
  if (process.env.OPS_DETAIL !== undefined) {
    for (const [key, count] of [...counter.seen].sort((a, b) => b[1] - a[1])) console.log(String(count).padStart(4), key)
  }
  await runtime.dispose()
}
