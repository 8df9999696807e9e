/**
 * An in-process `HttpClient` that answers every request, on the next turn of
 * the event loop, with the benchmarks' chatgpt answer and a full set of usage
 * headers: the profiling harnesses measure the client's own layers over it,
 * with no network and no server.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Cloro from "../../src/Cloro.js"
import * as CloroClient from "../../src/CloroClient.js"
import { chatgptAnswer } from "../answer.js"
import * as Composed from "../composed.js"

const creditsAnswer = JSON.stringify({ remaining: 100000, perCycle: null, cycleResetsAt: null })

/** `FAKE_CHUNKED=1`: no `Content-Length`, as a chunked answer has none (the client reads it as a bounded stream). */
const lengthOf = (body: string): Record<string, string> =>
  process.env.FAKE_CHUNKED === "1" ? {} : { "content-length": String(Buffer.byteLength(body)) }

const headersFor = (body: string) => ({
  "content-type": "application/json",
  ...lengthOf(body),
  "x-credits-charged": "7",
  "x-credits-remaining": "100000",
  "x-ratelimit-limit": "500",
  "x-ratelimit-remaining": "499",
  "x-concurrent-limit": "100",
  "x-concurrent-current": "1",
  "x-request-id": "req_1"
})
const monitorHeaders = headersFor(chatgptAnswer)
const creditsHeaders = headersFor(creditsAnswer)

/** The fake client as a layer. */
export const fakeLayer = Layer.succeed(
  HttpClient.HttpClient,
  HttpClient.make((request) =>
    Effect.async<HttpClientResponse.HttpClientResponse>((resume) => {
      const credits = request.url.endsWith("/v1/credits")
      setImmediate(() =>
        resume(Effect.succeed(HttpClientResponse.fromWeb(
          request,
          credits
            ? new Response(creditsAnswer, { status: 200, headers: creditsHeaders })
            : new Response(chatgptAnswer, { status: 200, headers: monitorHeaders })
        )))
      )
    }))
)

/** A loopback base URL (the config accepts plain http only there); nothing listens on it. */
export const base = "http://127.0.0.1:1"
export const KEY = "sk_bench"

/** The subjects the harnesses compare over the fake client. */
export type SubjectName = "http" | "bare" | "full" | "free" | "composed-bare" | "composed-full"
export const subjectNames: ReadonlyArray<SubjectName> = ["http", "bare", "full", "free", "composed-bare", "composed-full"]

/** What a harness does with one subject: its layer and one call (the `i`-th). */
export type WithSubject = <R>(
  layer: Layer.Layer<R, unknown>,
  call: (i: number) => Effect.Effect<unknown, unknown, R>
) => Promise<void>

const chatgpt = (i: number) =>
  Effect.flatMap(CloroClient.CloroClient, (client) => client.monitor.chatgpt({ prompt: `question ${i}`, country: "US" }))

/** A free call (the rate scenario's): `account.credits`, through the full pipeline. */
const freeCall = () => Effect.flatMap(CloroClient.CloroClient, (client) => client.account.credits())

/** Effect's HttpClient alone, as a new user would call it, over the same fake. */
const httpAlone = (i: number) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(HttpClientRequest.post(`${base}/v1/monitor/chatgpt`).pipe(
      HttpClientRequest.setHeaders({ authorization: `Bearer ${KEY}` }),
      HttpClientRequest.bodyText(JSON.stringify({ prompt: `question ${i}`, country: "US" }), "application/json")
    )).pipe(Effect.flatMap((response) => response.json)))

/** Runs `body` with the named subject's layer and call. */
export const withSubject = (name: SubjectName, body: WithSubject): Promise<void> => {
  switch (name) {
    case "http":
      return body(fakeLayer, httpAlone)
    case "bare":
      return body(
        CloroClient.layerWith({ apiKey: KEY, baseUrl: base }).pipe(Layer.provide(Layer.merge(Cloro.layerBare, fakeLayer))),
        chatgpt
      )
    case "full":
      return body(
        Cloro.layer({ apiKey: KEY, baseUrl: base }, { monitor: "silent", concurrency: { limit: 64 } }).pipe(
          Layer.provide(fakeLayer)
        ),
        chatgpt
      )
    case "free":
      return body(
        Cloro.layer({ apiKey: KEY, baseUrl: base }, { monitor: "silent", concurrency: { limit: 64 } }).pipe(
          Layer.provide(fakeLayer)
        ),
        freeCall
      )
    case "composed-bare":
      return body(fakeLayer, Composed.bareCall(base, KEY))
    case "composed-full":
      return body(fakeLayer, Composed.fullCallForProcess(base, KEY, 64, 1_000_000))
  }
}

export const isSubjectName = (value: string): value is SubjectName => subjectNames.some((name) => name === value)
