/**
 * Profiling only: a saturation round in this process against ./gapServer.ts,
 * with the client side timed: for each request sent after the first `cap`,
 * the time since the answer (headers in) that freed its slot, FIFO-paired
 * ("answer in → next request out"), and the client's CPU per request.
 * Each request carries an `x-key` header, so its legs can be followed across
 * the two processes (epoch clocks): the client's own step (tap → undici's
 * request created), undici's (created → headers written, read from its
 * diagnostics channels), the wire and the server, and back (server answer →
 * undici parsed → tap); also the event loop's delay and utilization, and how
 * many requests undici had open when each was created.
 * `tsx bench/profile/gap.ts full|fetch-plimit [latency] [n] [rounds]`;
 * `GAP_BOUND=N` fires through `Effect.forEach` with concurrency N instead of
 * unbounded; `GAP_HTTP=global|node|fetch` gives the client undici's global
 * dispatcher, `node:http` or `fetch` instead of its own undici `Agent`.
 */
import { fork } from "node:child_process"
import * as diagnostics from "node:diagnostics_channel"
import { monitorEventLoopDelay, performance as perf } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as ManagedRuntime from "effect/ManagedRuntime"
import pLimit from "p-limit"
import * as Cloro from "../../src/Cloro.js"
import * as CloroClient from "../../src/CloroClient.js"

const [name = "full", latency = "50", n = "1000", rounds = "3"] = process.argv.slice(2).filter((a) => !a.startsWith("--"))
const CAP = 20
let answers: Array<number> = []
let gaps: Array<number> = []
let sent = 0
const onSend = () => {
  sent++
  const a = answers.shift()
  if (a !== undefined) gaps.push(performance.now() - a)
}
const onAnswer = () => answers.push(performance.now())
const epoch = () => performance.timeOrigin + performance.now()
let sentAt = new Map<string, number>()
let headersAt = new Map<string, number>()
const keyOf = (text: string) => { const m = /question (\d+)|q (\d+)/.exec(text); return m?.[1] ?? m?.[2] ?? "?" }

const pct = (xs: Array<number>, p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * xs.length)] ?? NaN

const server = fork(fileURLToPath(new URL("./gapServer.ts", import.meta.url)), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
interface Message {
  readonly type: string
  readonly url?: string
  readonly stats?: { readonly gapMean: number; readonly c429: number; readonly connections: number; readonly timeline: Record<string, [number, number]> }
}
const next = (type: string) => new Promise<Message>((resolve) => server.once("message", (m: Message) => m.type === type ? resolve(m) : undefined))
const url: string = (await next("listening")).url ?? ""
server.send({ type: "configure", settings: { latencyMillis: Number(latency), cap: CAP } })
await next("configured")

// Per request, when undici wrote its headers and when it parsed the answer's (both transports are undici), by the x-key header.
let wireAt = new Map<string, number>()
let parsedAt = new Map<string, number>()
const xKey = (raw: unknown) => /x-key[:,\s]+(\d+)/i.exec(Array.isArray(raw) ? raw.map(String).join("\n") : String(raw))?.[1]
diagnostics.subscribe("undici:client:sendHeaders", (message) => {
  const key = xKey(Predicate.hasProperty(message, "headers") ? message.headers : "")
  if (key !== undefined) wireAt.set(key, epoch())
})
let createdAt = new Map<string, number>()
// How many requests undici had written and not yet completed when each request was created.
let undiciOpen = 0
let openAtCreate: Array<number> = []
diagnostics.subscribe("undici:client:sendHeaders", () => { undiciOpen++ })
diagnostics.subscribe("undici:request:trailers", () => { undiciOpen-- })
/** The x-key of the request a diagnostics message of undici's is about. */
const requestKey = (message: unknown) => {
  const request = Predicate.hasProperty(message, "request") ? message.request : undefined
  return xKey(Predicate.hasProperty(request, "headers") ? request.headers : "")
}
diagnostics.subscribe("undici:request:create", (message) => {
  const key = requestKey(message)
  if (key !== undefined) createdAt.set(key, epoch())
  openAtCreate.push(undiciOpen)
})
diagnostics.subscribe("undici:request:headers", (message) => {
  const key = requestKey(message)
  if (key !== undefined) parsedAt.set(key, epoch())
})

const timedHttp = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, (c) => c.pipe(HttpClient.mapRequest((request) =>
    request.body._tag === "Uint8Array" ? HttpClientRequest.setHeader(request, "x-key", keyOf(new TextDecoder().decode(request.body.body))) : request
  ), HttpClient.tapRequest((request) => Effect.sync(() => {
    onSend()
    // the key mapRequest put on it: the body is not decoded a second time
    const key = request.headers["x-key"]
    if (key !== undefined) sentAt.set(key, epoch())
  })), HttpClient.tap((response) => Effect.sync(() => {
    onAnswer()
    headersAt.set(response.headers["x-request-id"] ?? "?", epoch())
  }))))
).pipe(Layer.provide(
  process.env.GAP_HTTP === "global"
    ? Layer.provide(NodeHttpClient.layerUndiciWithoutDispatcher, NodeHttpClient.dispatcherLayerGlobal)
    : process.env.GAP_HTTP === "node"
    ? NodeHttpClient.layer
    : process.env.GAP_HTTP === "fetch"
    ? FetchHttpClient.layer
    : NodeHttpClient.layerUndici
))

const fire = async (count: number): Promise<number> => {
  if (name === "fetch-plimit") {
    const limit = pLimit(CAP)
    let failed = 0
    await Promise.all(Array.from({ length: count }, (_, i) => limit(async () => {
      onSend()
      sentAt.set(String(i), epoch())
      const r = await fetch(url + "/v1/monitor/chatgpt", { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer sk", "x-key": String(i) }, body: JSON.stringify({ prompt: `q ${i}`, country: "US" }) })
      onAnswer()
      headersAt.set(String(i), epoch())
      await r.json()
      if (!r.ok) failed++
    })))
    return failed
  }
  const layer = Cloro.layer({ apiKey: "sk_bench", baseUrl: url }, { monitor: "silent", ...(name === "full" ? { concurrency: { limit: CAP } } : {}) }).pipe(Layer.provide(timedHttp))
  const runtime = ManagedRuntime.make(layer)
  let failed = 0
  await runtime.runPromise(Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) =>
    Effect.flatMap(CloroClient.CloroClient, (client) => client.monitor.chatgpt({ prompt: `question ${i}`, country: "US" })).pipe(
      Effect.catchAll(() => Effect.sync(() => failed++))), { concurrency: process.env.GAP_BOUND ? Number(process.env.GAP_BOUND) : "unbounded", discard: true }))
  await runtime.dispose()
  return failed
}

await fire(100)
for (let r = 0; r < Number(rounds); r++) {
  answers = []; gaps = []; sent = 0; sentAt = new Map(); headersAt = new Map(); wireAt = new Map(); parsedAt = new Map(); createdAt = new Map(); openAtCreate = []
  server.send({ type: "stats" }); await next("stats")
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  const cpu = process.cpuUsage()
  const elu = perf.eventLoopUtilization()
  const started = performance.now()
  const failed = await fire(Number(n))
  const millis = performance.now() - started
  const used = process.cpuUsage(cpu)
  loop.disable()
  const used2 = perf.eventLoopUtilization(elu)
  server.send({ type: "stats" })
  const s = (await next("stats")).stats ?? { gapMean: NaN, c429: NaN, connections: NaN, timeline: {} }
  const share = Number(n) / millis * 1000 / (CAP / Number(latency) * 1000)
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length
  console.log(`${name} ${latency}ms share ${share.toFixed(3)} | client gap answer→next send mean ${mean.toFixed(2)} p50 ${pct(gaps, 0.5).toFixed(2)} p90 ${pct(gaps, 0.9).toFixed(2)} | cpu ${((used.user + used.system) / Number(n)).toFixed(0)} µs/req | server gap mean ${s.gapMean.toFixed(2)} | conns ${s.connections} | 429 ${s.c429} failed ${failed} | loop delay mean ${(loop.mean / 1e6).toFixed(1)} p90 ${(loop.percentile(90) / 1e6).toFixed(1)} max ${(loop.max / 1e6).toFixed(0)} ms`)
  console.log('  ' + legs(s.timeline) + ` | main thread active ${(used2.active / Number(n) * 1000).toFixed(0)} µs/req, utilization ${used2.utilization.toFixed(2)}`)
}
server.kill()
function legs(timeline: Record<string, [number, number]>): string {
  const out: Array<number> = []
  const back: Array<number> = []
  const toWire: Array<number> = []
  const wireToServer: Array<number> = []
  const toParsed: Array<number> = []
  const toCreate: Array<number> = []
  const parsedToTap: Array<number> = []
  for (const [key, [recv, ans]] of Object.entries(timeline)) {
    const sent = sentAt.get(key)
    const got = headersAt.get(key)
    if (sent !== undefined) out.push(recv - sent)
    if (got !== undefined) back.push(got - ans)
    const wire = wireAt.get(key)
    const parsed = parsedAt.get(key)
    if (wire !== undefined && sent !== undefined) toWire.push(wire - sent)
    const created = createdAt.get(key)
    if (created !== undefined && sent !== undefined) toCreate.push(created - sent)
    if (wire !== undefined) wireToServer.push(recv - wire)
    if (parsed !== undefined) toParsed.push(parsed - ans)
    if (parsed !== undefined && got !== undefined) parsedToTap.push(got - parsed)
  }
  const mean = (xs: Array<number>) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)
  const m = (xs: Array<number>) => `${mean(xs)} (p50 ${pct(xs, 0.5).toFixed(2)}, p90 ${pct(xs, 0.9).toFixed(2)})`
  const hist = new Map<number, number>()
  for (const n of openAtCreate) hist.set(n, (hist.get(n) ?? 0) + 1)
  console.log(`    undici open at create: ${[...hist].sort((a, b) => a[0] - b[0]).map(([n, c]) => `${n}:${c}`).join(" ")}`)
  console.log(`    tap→undici request created ${m(toCreate)} | tap→wire ${m(toWire)} | wire→server ${m(wireToServer)} | server answer→undici parsed ${m(toParsed)} | parsed→tap ${m(parsedToTap)}`)
  return `send→server ${mean(out)} p50 ${pct(out, 0.5).toFixed(2)} p90 ${pct(out, 0.9).toFixed(2)} | answer→client ${mean(back)} p50 ${pct(back, 0.5).toFixed(2)} p90 ${pct(back, 0.9).toFixed(2)}`
}
process.exit(0)
