/**
 * An in-process `HttpClient` that answers every request, on the next turn of
 * the event loop, with the benchmarks' chatgpt answer and a full set of usage
 * headers: the profiling harnesses measure the client's own layers over it,
 * with no network and no server.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { chatgptAnswer } from "../answer.js"

const headers = {
  "content-type": "application/json",
  "content-length": String(Buffer.byteLength(chatgptAnswer)),
  "x-credits-charged": "7",
  "x-credits-remaining": "100000",
  "x-ratelimit-limit": "500",
  "x-ratelimit-remaining": "499",
  "x-concurrent-limit": "100",
  "x-concurrent-current": "1",
  "x-request-id": "req_1"
}

/** The fake client as a layer. */
export const fakeLayer = Layer.succeed(
  HttpClient.HttpClient,
  HttpClient.make((request) =>
    Effect.async<HttpClientResponse.HttpClientResponse>((resume) => {
      setImmediate(() =>
        resume(Effect.succeed(HttpClientResponse.fromWeb(request, new Response(chatgptAnswer, { status: 200, headers }))))
      )
    }))
)

/** A loopback base URL (the config accepts plain http only there); nothing listens on it. */
export const base = "http://127.0.0.1:1"
export const KEY = "sk_bench"
