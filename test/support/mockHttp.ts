/**
 * A fake `HttpClient` for tests: answers each request from a handler and
 * records what was sent, with no sockets (as Effect's own HttpClient tests do).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"

export interface SentRequest {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

export interface MockAnswer {
  readonly status?: number
  readonly headers?: Readonly<Record<string, string>>
  /** A value is sent as JSON; a string is sent as is. */
  readonly body?: unknown
}

export type Handler = (request: SentRequest) => Effect.Effect<MockAnswer | "reset">

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}): MockAnswer => ({
  status,
  headers,
  body
})

/** Builds the fake client and the log of sent requests. */
export const make = (handler: Handler) =>
  Effect.gen(function*() {
    const sent = yield* Ref.make<ReadonlyArray<SentRequest>>([])
    const client = HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : undefined
        const entry: SentRequest = { method: request.method, url, headers: request.headers, body }
        yield* Ref.update(sent, (all) => [...all, entry])
        const answer = yield* handler(entry)
        if (answer === "reset") {
          return yield* new HttpClientError.RequestError({ request, reason: "Transport", description: "ECONNRESET" })
        }
        const text = typeof answer.body === "string" ? answer.body : answer.body === undefined ? "" : JSON.stringify(answer.body)
        const status = answer.status ?? 200
        // A null-body status (204, 205, 304) cannot carry a body in a web Response.
        const nullBody = status === 204 || status === 205 || status === 304
        return HttpClientResponse.fromWeb(
          request,
          new Response(nullBody ? null : text, {
            status,
            headers: { "content-type": "application/json", ...answer.headers }
          })
        )
      })
    )
    return { client, sent: Ref.get(sent) }
  })

/** The fake client as a layer, plus access to the log through the returned effect. */
export const layer = (handler: Handler) =>
  Effect.map(make(handler), ({ client, sent }) => ({
    layer: Layer.succeed(HttpClient.HttpClient, client),
    sent
  }))
