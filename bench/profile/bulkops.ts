/**
 * Profiling harness (not a scenario): the bulk path (`AsyncTasks.run`) over an
 * in-process fake `HttpClient` that replays the simulator's own answers (a
 * batch's results, a COMPLETED google task), so that what is measured is the
 * client alone: CPU per task, Effect operations and fibers per task (counted
 * by a supervisor, a figure load does not move), and minor GCs per task.
 * `npx tsx bench/profile/bulkops.ts [tasks]`; `OPS=0` skips the operation count
 * (it slows the run), `OPS_DETAIL=1` lists operations by kind.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as RuntimeFlagsPatch from "effect/RuntimeFlagsPatch"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector"
import * as AsyncTasks from "../../src/AsyncTasks.js"
import * as Cloro from "../../src/Cloro.js"
import * as CloroClient from "../../src/CloroClient.js"
import * as RetryPolicy from "../../src/RetryPolicy.js"
import * as Task from "../../src/Task.js"
import { CloroSimulator } from "../../src/testing/index.js"
import { minorCollections, OpCounter } from "./counting.js"

const KEY = "sk_bench_bulk"
const N = Number(process.argv[2] ?? 10_000)

/** One batch answer and one finished task's answer, as the simulator gives them. */
const recorded = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const sim = yield* CloroSimulator.make({ accounts: [{ apiKey: KEY, plan: { concurrency: 100, credits: 1e9 } }] })
  const ask = (method: string, path: string, body: string) =>
    sim.handle({ method, path, query: {}, headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body })
  const task = Task.make("google", { query: "crm 1", country: "US" }, { idempotencyKey: "k-1" })
  const batch = yield* ask("POST", "/v1/async/task/batch", JSON.stringify([task]))
  const id = (JSON.parse(batch.body) as { results: Array<{ task: { id: string } }> }).results[0]!.task.id
  yield* Effect.sleep("50 millis")
  const got = yield* ask("GET", `/v1/async/task/${id}`, "")
  return { batch, got, id }
})))
const batchItem = JSON.parse(recorded.batch.body).results[0]
const gotTemplate = recorded.got.body.split(recorded.id)

let seq = 0
const fake = HttpClient.make((request, url) =>
  Effect.async<HttpClientResponse.HttpClientResponse>((resume) => {
    setImmediate(() => {
      let body: string
      let headers: Record<string, string>
      if (request.method === "POST") {
        const raw = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : "[]"
        const items = JSON.parse(raw) as Array<{ idempotencyKey?: string }>
        const results = items.map((item, index) => ({
          ...batchItem,
          index,
          task: { ...batchItem.task, id: `00000000-0000-4000-8000-${String(seq++).padStart(12, "0")}`, idempotencyKey: item.idempotencyKey ?? null }
        }))
        body = JSON.stringify({ success: true, summary: { total: items.length, succeeded: items.length, failed: 0 }, results })
        headers = recorded.batch.headers as Record<string, string>
      } else {
        const id = url.pathname.split("/").pop()!
        body = gotTemplate.join(id)
        headers = recorded.got.headers as Record<string, string>
      }
      resume(Effect.succeed(HttpClientResponse.fromWeb(request, new Response(body, { status: 200, headers: { ...headers, "content-length": String(Buffer.byteLength(body)) } }))))
    })
  }))

const scavenges = minorCollections()

const layer = Cloro.layer({ apiKey: KEY, baseUrl: "http://127.0.0.1:1" }, { monitor: "silent", rateLimit: "unlimited" }).pipe(
  Layer.provide(Layer.succeed(HttpClient.HttpClient, fake))
)
const counting = process.env.OPS !== "0"
const counter = new OpCounter()
const requests = Stream.range(1, N).pipe(
  Stream.map((i) => ({ id: `t-${i}`, task: Task.make("google", { query: `crm ${i}`, country: "US" }) }))
)
let failed = 0
/** `ONLY_GET=1`: the polls alone, `client.tasks.get` N times (at most 100 at once), for the pipeline's share. */
const program = process.env.ONLY_GET === "1"
  ? Effect.flatMap(CloroClient.CloroClient, (client) =>
    Effect.forEach(
      Array.from({ length: N }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`),
      (id) => client.tasks.get(id, { retry: RetryPolicy.none }),
      { concurrency: 100, discard: true }
    ))
  : AsyncTasks.run(requests, { schedule: Schedule.spaced("500 millis") }).pipe(
    Stream.runForEach((outcome) => Effect.sync(() => {
      if (outcome.result._tag === "Left") failed++
    }))
  )
/** `ALLOC_PROF=<file>`: a sampling profile of every allocation of the run (collected ones too), for /work/heapsum.py-style summaries. */
const allocProfile = process.env.ALLOC_PROF
const session = allocProfile === undefined ? undefined : new Session()
session?.connect()
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) =>
    session === undefined
      ? resolve(undefined)
      : session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))))
await post("HeapProfiler.startSampling", {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true
})
const started = performance.now()
const cpu = process.cpuUsage()
const scav0 = scavenges()
await Effect.runPromise(
  (counting
    ? program.pipe(Effect.supervised(counter), Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision)))
    : program).pipe(Effect.provide(layer))
)
const used = process.cpuUsage(cpu)
if (allocProfile !== undefined) {
  const result = await post("HeapProfiler.stopSampling")
  writeFileSync(allocProfile, JSON.stringify(Predicate.hasProperty(result, "profile") ? result.profile : result))
}
console.log(JSON.stringify({
  tasks: N,
  failed,
  seconds: ((performance.now() - started) / 1000).toFixed(1),
  cpuPerTaskUs: Math.round((used.user + used.system) / N),
  opsPerTask: counting ? Math.round(counter.ops / N) : undefined,
  fibersPerTask: counting ? (counter.fibers / N).toFixed(2) : undefined,
  minorGcPerKTasks: (((scavenges() - scav0) / N) * 1000).toFixed(1)
}))
if (process.env.OPS_DETAIL !== undefined) {
  for (const [key, count] of [...counter.byKind].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log(String(Math.round(count / N * 100) / 100).padStart(6), key)
}
