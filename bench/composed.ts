/**
 * What an Effect user would write instead of this client, from Effect's own
 * pieces: the floor the CPU targets of issue 16 are measured against.
 *
 * - `bare`: Effect's HttpClient with what the bare client does on every call
 *   and nothing more: the input decoded by its schema, a bearer token,
 *   `filterStatusOk`, the answer decoded by the engine's result schema, the
 *   usage headers read, `Effect.timeout` and `Effect.withSpan`.
 * - `full`: that, plus what the full pipeline adds: `Effect.retry` with a
 *   jittered, bounded `Schedule.exponential`, a `Semaphore` for the
 *   concurrency cap and `effect/RateLimiter` for the rate.
 *
 * Neither has what the client adds on top (typed errors for every cloro
 * code, `Retry-After`, credits, the ledger, learned limits): it is a lower
 * bound on the cost of Effect's combinators for the same call, not a rival.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as RateLimiter from "effect/RateLimiter"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as ChatGPT from "../src/engines/ChatGPT.js"
import * as Usage from "../src/Usage.js"

const decodeInput = Schema.decodeUnknown(ChatGPT.Request)
const decodeAnswer = HttpClientResponse.schemaBodyJson(Schema.Struct({ success: Schema.Boolean, result: ChatGPT.Result }))

/** One chatgpt call through Effect's pieces, the bare way. */
export const bareCall = (url: string, key: string) => {
  const endpoint = `${url}/v1/monitor/chatgpt`
  return (i: number) =>
    Effect.flatMap(HttpClient.HttpClient, (http) => {
      const client = HttpClient.filterStatusOk(http)
      return decodeInput({ prompt: `question ${i}`, country: "US" }).pipe(
        Effect.flatMap((input) =>
          client.execute(
            HttpClientRequest.post(endpoint).pipe(
              HttpClientRequest.bearerToken(key),
              HttpClientRequest.bodyUnsafeJson(input)
            )
          )
        ),
        Effect.flatMap((response) =>
          Effect.map(decodeAnswer(response), (answer) => ({
            result: answer.result,
            usage: Usage.fromHeaders(response.headers)
          }))
        ),
        Effect.timeout("60 seconds"),
        Effect.withSpan("cloro.chatgpt")
      )
    })
}

/**
 * The full way: `bareCall` retried, under a concurrency `Semaphore` and a
 * token-bucket rate limiter of `ratePerSecond` (built in the scope).
 */
export const fullCall = (
  url: string,
  key: string,
  concurrency: number,
  ratePerSecond: number
): Effect.Effect<(i: number) => Effect.Effect<unknown, unknown, HttpClient.HttpClient>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const semaphore = yield* Effect.makeSemaphore(concurrency)
    const rateLimit = yield* RateLimiter.make({ limit: ratePerSecond, interval: "1 second" })
    const call = bareCall(url, key)
    const retry = Schedule.exponential("500 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3)))
    return (i: number) => semaphore.withPermits(1)(rateLimit(Effect.retry(call(i), retry)))
  })

/** `fullCall` built at once in a scope that is never closed: for a bench process, which ends with it. */
export const fullCallForProcess = (url: string, key: string, concurrency: number, ratePerSecond: number) =>
  Effect.runSync(Effect.flatMap(Scope.make(), (scope) => Scope.extend(fullCall(url, key, concurrency, ratePerSecond), scope)))
