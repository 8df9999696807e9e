/**
 * One HTTP exchange with cloro, without limits or retries: build the request,
 * send it with a timeout, read the usage headers, and turn the answer into a
 * decoded body or a typed error. The pipeline (limits, ledger, retries) wraps
 * this in `CloroClient`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { type ApiError, ResponseDecodeError, Timeout, TransportError } from "../CloroError.js"
import type { CloroConfigShape } from "../CloroConfig.js"
import * as Usage from "../Usage.js"
import * as ErrorEnvelope from "./errorEnvelope.js"
import * as Telemetry from "./telemetry.js"

/** Which limits a call is subject to. */
export type CallKind =
  /** `/v1/monitor/*` except goto: a concurrency slot, a rate token, billed with the sync surcharge. */
  | "monitor"
  /** Every other `/v1/*` call: a rate token only. */
  | "free"

/** A call, described as data so that the pipeline can inspect it before sending. */
export interface Call<A> {
  readonly method: "GET" | "POST" | "DELETE"
  readonly path: string
  /**
   * The route template the rate limiter counts under (e.g.
   * `/v1/async/task/{taskId}`), so per-endpoint buckets are per endpoint, not
   * per task id. Defaults to `path`.
   */
  readonly route?: string
  readonly kind: CallKind
  readonly body?: unknown
  readonly urlParams?: Readonly<Record<string, string>>
  /** Decodes the whole JSON body of a 2xx answer. */
  readonly decode: (json: unknown) => Either.Either<A, ParseResult.ParseError>
  readonly timeout: Duration.Duration
  /**
   * Whether sending the call twice is safe. A timeout or a dropped connection
   * leaves unknown whether cloro acted on the call, so such failures are
   * retried only when this is true (reads, and task submissions that carry an
   * idempotency key). Defaults to true.
   */
  readonly idempotent?: boolean
}

/** A decoded 2xx answer with what its headers said. */
export interface Answer<A> {
  readonly body: A
  readonly usage: Usage.Usage
  /** The parsed JSON as cloro sent it, fields the schema does not know included. */
  readonly raw: unknown
}

/** A failed exchange, with the usage of the answer when there was one. */
export type SendError = ApiError

/** Decodes with a schema, ignoring unknown fields. */
export const decodeWith = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })
  return (json: unknown): Either.Either<A, ParseResult.ParseError> => decode(json)
}

const describeParseError = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const shown = issues.slice(0, 10).map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`)
  return issues.length > 10 ? [...shown, `... and ${issues.length - 10} more`].join("\n") : shown.join("\n")
}

/**
 * Sends one call. Never fails with anything but a typed `ApiError`, and never
 * puts the API key in an error: the key is set as a header from `Redacted` at
 * the last moment and errors are built from status, headers and body only.
 */
export const send = <A>(
  httpClient: HttpClient.HttpClient,
  config: CloroConfigShape,
  call: Call<A>
): Effect.Effect<Answer<A>, SendError> => {
  const request = HttpClientRequest.make(call.method)(config.baseUrl + call.path).pipe(
    HttpClientRequest.bearerToken(config.apiKey),
    HttpClientRequest.acceptJson,
    HttpClientRequest.setHeader("user-agent", config.userAgent),
    call.urlParams === undefined ? (r) => r : HttpClientRequest.setUrlParams(call.urlParams),
    call.body === undefined ? (r) => r : HttpClientRequest.bodyUnsafeJson(call.body)
  )
  const where = { method: call.method, path: call.path }

  return httpClient.execute(request).pipe(
    Effect.flatMap((response) =>
      Effect.map(response.text, (text) => ({ status: response.status, headers: response.headers, text }))
    ),
    Effect.scoped,
    Effect.timeoutFail({
      duration: call.timeout,
      onTimeout: () =>
        new Timeout({
          ...where,
          message: `${call.method} ${call.path}: no answer within ${Duration.format(call.timeout)}`,
          timeout: call.timeout
        })
    }),
    Effect.catchTag("RequestError", (error) =>
      Effect.fail(
        new TransportError({ ...where, message: `${call.method} ${call.path}: ${error.reason}: ${error.description ?? "request failed"}` })
      )),
    Effect.catchTag("ResponseError", (error) =>
      Effect.fail(
        new TransportError({
          ...where,
          message: `${call.method} ${call.path}: the body could not be read (${error.reason}${error.description ? `: ${error.description}` : ""})`
        })
      )),
    Telemetry.exchange(call, config.baseUrl),
    Effect.flatMap(({ headers, status, text }) =>
      Effect.gen(function*() {
        const usage = Usage.fromHeaders(headers)
        if (status < 200 || status >= 300) {
          const now = yield* Clock.currentTimeMillis
          return yield* Effect.fail(
            ErrorEnvelope.fromAnswer({ status, body: text, usage, retryAfterMillis: Usage.retryAfterMillis(headers, now) })
          )
        }
        const decodeError = (description: string) =>
          new ResponseDecodeError({
            message: `${call.method} ${call.path}: the ${status} answer did not match the documented shape`,
            status,
            requestId: usage.requestId,
            usage,
            path: call.path,
            description,
            ...ErrorEnvelope.keptBody(text)
          })
        const json = ErrorEnvelope.parseJson(text)
        if (Either.isLeft(json)) {
          return yield* Effect.fail(decodeError(`not JSON (${json.left}): ${text.slice(0, 200)}`))
        }
        const body = call.decode(json.right)
        if (Either.isLeft(body)) return yield* Effect.fail(decodeError(describeParseError(body.left)))
        return { body: body.right, usage, raw: json.right }
      })
    )
  )
}
