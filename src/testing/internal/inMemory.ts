/**
 * The in-memory transport: an `HttpClient` whose requests go straight to the
 * core's `handle` as plain values, with no sockets. A dropped connection (an
 * injected `reset`) becomes a transport `RequestError`, as it would over TCP.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ConnectionReset, SimRequest, SimResponse } from "./core.js"
import { simRequest } from "./wire.js"

const decoder = new TextDecoder()

const requestBody = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<string, HttpClientError.RequestError> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed("")
    case "Uint8Array":
      return Effect.succeed(decoder.decode(body.body))
    case "Raw":
      return Effect.succeed(
        typeof body.body === "string" ? body.body : body.body instanceof Uint8Array ? decoder.decode(body.body) : ""
      )
    case "FormData":
      return Effect.succeed("")
    case "Stream":
      return body.stream.pipe(
        Stream.decodeText(),
        Stream.mkString,
        Effect.mapError((cause) =>
          new HttpClientError.RequestError({ request, reason: "Encode", cause, description: "could not read the body" })
        )
      )
  }
}

/** Statuses whose responses cannot carry a body in the Fetch API. */
const nullBodyStatus = (status: number): boolean => status === 204 || status === 205 || status === 304

/**
 * An `HttpClient` answered by `handle`.
 *
 * @internal
 */
export const httpClient = (
  handle: (request: SimRequest) => Effect.Effect<SimResponse, ConnectionReset>
): HttpClient.HttpClient =>
  HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const body = yield* requestBody(request)
      const response = yield* handle(simRequest(request.method, url, request.headers, body)).pipe(
        Effect.mapError((cause) =>
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause,
            description: "connection reset by peer (simulated)"
          })
        )
      )
      return HttpClientResponse.fromWeb(
        request,
        new Response(nullBodyStatus(response.status) ? null : response.body, {
          status: response.status,
          headers: response.headers
        })
      )
    })
  )
