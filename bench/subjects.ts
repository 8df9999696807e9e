/**
 * The clients being compared, each as a new user would write it: one
 * function firing `count` chatgpt-shaped calls at the stand-in and resolving
 * when every one has ended. Used inside the child processes of the scenarios.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import Bottleneck from "bottleneck"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import pLimit from "p-limit"
import { Agent, request as undiciRequest } from "undici"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"
import * as Composed from "./composed.js"

export const subjectNames = [
  "full",
  "full-learned",
  "bare",
  "effect-http",
  "effect-composed-bare",
  "effect-composed-full",
  "effect-semaphore",
  "effect-fiber",
  "fetch-plimit",
  "bottleneck",
  "undici",
  "fire-retry"
] as const
export type SubjectName = typeof subjectNames[number]

export const isSubjectName = (value: unknown): value is SubjectName =>
  subjectNames.some((name) => name === value)

/** How the scenarios name the subjects in their tables. */
export const label: Record<SubjectName, string> = {
  full: "cloro-effect full (`Cloro.layer`, limit told)",
  "full-learned": "cloro-effect full (`Cloro.layer`, limit learned)",
  bare: "cloro-effect bare (`CloroClient.layerWith`)",
  "effect-http": "Effect HttpClient alone (undici)",
  "effect-composed-bare": "Effect's pieces by hand: HttpClient + schemas, timeout, span",
  "effect-composed-full": "Effect's pieces by hand: the above + retry, `Semaphore`, `RateLimiter`",
  "effect-semaphore": "Effect HttpClient + `Semaphore`",
  "effect-fiber": "Effect HttpClient + bare fiber on our `ConcurrencyLimiter`",
  "fetch-plimit": "fetch + p-limit",
  bottleneck: "Bottleneck + fetch",
  undici: "raw undici (`request`, one Agent)",
  "fire-retry": "fire-and-retry recipe (fetch, 429 → sleep 1 s, again)"
}

export interface Fire {
  /** Sends `count` calls, at most `concurrency` at once where the subject takes a bound from the caller. */
  readonly fire: (count: number) => Promise<{ readonly ok: number; readonly failed: number }>
  /** Calls that have ended so far (for the memory scenario). */
  readonly ended: () => number
  readonly close: () => Promise<void>
}

export interface SubjectOptions {
  readonly url: string
  /**
   * The bound the caller applies: in the throughput scenario a concurrency the
   * caller keeps (as `Effect.forEach` or p-limit would); in the saturation
   * and memory scenarios the server's cap, which each limiter is told (or,
   * for `full-learned`, learns).
   */
  readonly concurrency: number
  /** Effect subjects: `Effect.forEach` with this concurrency instead of `unbounded`. */
  readonly callerBound: boolean
}

const KEY = "sk_bench"
const body = (i: number) => JSON.stringify({ prompt: `question ${i}`, country: "US" })
const path = "/v1/monitor/chatgpt"
const headers = { "content-type": "application/json", authorization: `Bearer ${KEY}` }

const range = (count: number) => Array.from({ length: count }, (_, i) => i)

const effectSubject = <R>(
  layer: Layer.Layer<R, unknown>,
  call: (i: number) => Effect.Effect<unknown, unknown, R>,
  options: SubjectOptions
): Fire => {
  const runtime = ManagedRuntime.make(layer)
  let ended = 0
  return {
    fire: (count) => {
      let ok = 0
      let failed = 0
      return runtime.runPromise(
        Effect.forEach(
          range(count),
          (i) =>
            Effect.matchEffect(call(i), {
              onFailure: () => Effect.sync(() => (failed++, ended++)),
              onSuccess: () => Effect.sync(() => (ok++, ended++))
            }),
          { concurrency: options.callerBound ? options.concurrency : "unbounded", discard: true }
        )
      ).then(() => ({ ok, failed }))
    },
    ended: () => ended,
    close: () => runtime.dispose()
  }
}

const promiseSubject = (
  send: (i: number) => Promise<void>,
  schedule: (task: () => Promise<void>) => Promise<void>
): Fire => {
  let ended = 0
  return {
    fire: async (count) => {
      let ok = 0
      let failed = 0
      await Promise.all(range(count).map((i) =>
        schedule(() => send(i)).then(
          () => {
            ok++
            ended++
          },
          () => {
            failed++
            ended++
          }
        )
      ))
      return { ok, failed }
    },
    ended: () => ended,
    close: async () => {}
  }
}

const fetchOnce = async (url: string, i: number): Promise<Response> =>
  fetch(url + path, { method: "POST", headers, body: body(i) })

const fetchJson = async (url: string, i: number): Promise<void> => {
  const response = await fetchOnce(url, i)
  const json: unknown = await response.json()
  if (!response.ok) throw new Error(`status ${response.status}: ${JSON.stringify(json).slice(0, 100)}`)
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

const effectHttpCall = (url: string) => (i: number) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      HttpClientRequest.post(url + path).pipe(
        HttpClientRequest.setHeaders(headers),
        HttpClientRequest.bodyText(body(i), "application/json")
      )
    ).pipe(Effect.flatMap((response) =>
      Effect.flatMap(response.json, (json) =>
        response.status === 200 ? Effect.succeed(json) : Effect.fail(new Error(`status ${response.status}`))
      )
    )))

export const makeSubject = (name: SubjectName, options: SubjectOptions): Fire => {
  const { url, concurrency } = options
  const chatgpt = (i: number) =>
    Effect.flatMap(CloroClient.CloroClient, (client) => client.monitor.chatgpt({ prompt: `question ${i}`, country: "US" }))
  switch (name) {
    case "full":
      return effectSubject(
        Cloro.layer({ apiKey: KEY, baseUrl: url }, { monitor: "silent", concurrency: { limit: concurrency } }).pipe(
          Layer.provide(NodeHttpClient.layerUndici)
        ),
        chatgpt,
        options
      )
    case "full-learned":
      return effectSubject(
        Cloro.layer({ apiKey: KEY, baseUrl: url }, { monitor: "silent" }).pipe(Layer.provide(NodeHttpClient.layerUndici)),
        chatgpt,
        options
      )
    case "bare":
      return effectSubject(
        CloroClient.layerWith({ apiKey: KEY, baseUrl: url }).pipe(
          Layer.provide(Layer.merge(Cloro.layerBare, NodeHttpClient.layerUndici))
        ),
        chatgpt,
        options
      )
    case "effect-http":
      return effectSubject(NodeHttpClient.layerUndici, effectHttpCall(url), options)
    case "effect-composed-bare":
      return effectSubject(NodeHttpClient.layerUndici, Composed.bareCall(url, KEY), options)
    case "effect-composed-full":
      return effectSubject(
        NodeHttpClient.layerUndici,
        // cloro's largest documented rate (1,000/s a path), the full client's ceiling when no limit is configured
        Composed.fullCallForProcess(url, KEY, concurrency, 1_000),
        options
      )
    case "effect-semaphore": {
      const semaphore = Effect.runSync(Effect.makeSemaphore(concurrency))
      const call = effectHttpCall(url)
      return effectSubject(NodeHttpClient.layerUndici, (i) => semaphore.withPermits(1)(call(i)), options)
    }
    case "effect-fiber": {
      const limiter = Effect.runSync(Effect.orDie(ConcurrencyLimiter.make({ limit: concurrency })))
      const call = effectHttpCall(url)
      return effectSubject(NodeHttpClient.layerUndici, (i) => limiter.withPermit(call(i)), options)
    }
    case "fetch-plimit": {
      const limit = pLimit(concurrency)
      return promiseSubject((i) => fetchJson(url, i), (task) => limit(task))
    }
    case "bottleneck": {
      const limiter = new Bottleneck({ maxConcurrent: concurrency })
      return promiseSubject((i) => fetchJson(url, i), (task) => limiter.schedule(task))
    }
    case "undici": {
      const dispatcher = new Agent({ keepAliveTimeout: 60_000 })
      const limit = pLimit(concurrency)
      return promiseSubject(async (i) => {
        const response = await undiciRequest(url + path, { method: "POST", headers, body: body(i), dispatcher })
        await response.body.json()
        if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`)
      }, (task) => limit(task))
    }
    case "fire-retry":
      // The recipe a guide gives when there is no client library: send everything, and on a 429 wait a fixed second.
      return promiseSubject(async (i) => {
        for (;;) {
          const response = await fetchOnce(url, i)
          await response.json()
          if (response.status === 200) return
          if (response.status !== 429) throw new Error(`status ${response.status}`)
          await sleep(1000)
        }
      }, (task) => task())
  }
}
