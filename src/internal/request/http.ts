/**
 * One HTTP exchange with cloro, without limits or retries: build the request,
 * send it with a timeout, read the usage headers, and turn the answer into a
 * decoded body or a typed error. The pipeline (limits, ledger, retries) wraps
 * this in `CloroClient`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as MetricLabel from "effect/MetricLabel"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import {
  type ApiError,
  FieldIssue,
  InvalidRequest,
  ResponseDecodeError,
  Timeout,
  TransportError,
  UnexpectedStatus
} from "../../CloroError.js"
import type { CloroConfigShape } from "../../CloroConfig.js"
import * as Usage from "../../Usage.js"
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
  /** The whole JSON body as cloro sent it, unknown fields included. */
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

/** Reads a body, failing with `tooLarge` as soon as it passes `max` bytes (a stream that never ends included). */
const readBounded = <E, E2>(
  stream: Stream.Stream<Uint8Array, E>,
  max: number,
  tooLarge: () => E2
): Effect.Effect<string, E | E2> =>
  Stream.runFoldEffect(
    stream,
    { chunks: Chunk.empty<Uint8Array>(), size: 0 },
    (acc, chunk): Effect.Effect<{ chunks: Chunk.Chunk<Uint8Array>; size: number }, E2> =>
      acc.size + chunk.length > max
        ? Effect.fail(tooLarge())
        : Effect.succeed({ chunks: Chunk.append(acc.chunks, chunk), size: acc.size + chunk.length })
  ).pipe(Effect.map(({ chunks, size }) => {
    const bytes = new Uint8Array(size)
    let offset = 0
    for (const chunk of chunks) {
      bytes.set(chunk, offset)
      offset += chunk.length
    }
    return new TextDecoder().decode(bytes)
  }))

/**
 * A 2xx whose body is an error envelope (`success: false`, or an `error`
 * object without `success: true`): cloro did not answer the call, whatever
 * the status said, so it is the typed error the envelope names.
 */
const isErrorEnvelope = (json: unknown): boolean =>
  Predicate.isRecord(json) &&
  (json.success === false || (Predicate.isRecord(json.error) && json.success !== true))

/**
 * Sends one call. Never fails with anything but a typed `ApiError`, and never
 * puts the API key in an error: the key is set as a header from `Redacted` at
 * the last moment and errors are built from status, headers and body only.
 * A body (of any status) longer than `config.maxResponseBytes` is not read
 * past that size: the call fails with `ResponseDecodeError`.
 */
export const send = <A>(
  httpClient: HttpClient.HttpClient,
  config: CloroConfigShape,
  server: ReadonlyArray<MetricLabel.MetricLabel>,
  call: Call<A>
): Effect.Effect<Answer<A>, SendError> => {
  const where = { method: call.method, path: call.path }
  const base = HttpClientRequest.make(call.method)(config.baseUrl + call.path).pipe(
    HttpClientRequest.bearerToken(config.apiKey),
    HttpClientRequest.acceptJson,
    HttpClientRequest.setHeader("user-agent", config.userAgent),
    call.urlParams === undefined ? (r) => r : HttpClientRequest.setUrlParams(call.urlParams)
  )
  // `bodyJson` fails (where `bodyUnsafeJson` would throw) on a bigint or a circular value.
  const request: Effect.Effect<HttpClientRequest.HttpClientRequest, InvalidRequest> = call.body === undefined
    ? Effect.succeed(base)
    : HttpClientRequest.bodyJson(base, call.body).pipe(
      Effect.mapError((error) =>
        new InvalidRequest({
          message: `${call.method} ${call.path}: the request body cannot be sent as JSON`,
          source: "client",
          issues: [
            new FieldIssue({
              field: "(body)",
              message: `cannot be serialized as JSON (${error.reason._tag === "JsonError" ? "a bigint or a circular value" : error.reason._tag})`
            })
          ]
        })
      )
    )
  const max = config.maxResponseBytes
  const tooLarge = (status: number, usage: Usage.Usage) => () =>
    new ResponseDecodeError({
      message: `${call.method} ${call.path}: the ${status} answer's body is larger than maxResponseBytes (${max} bytes)`,
      status,
      requestId: usage.requestId,
      usage,
      path: call.path,
      description: `body larger than ${max} bytes; not read further`
    })

  return Effect.flatMap(request, (request) =>
    httpClient.execute(request).pipe(
      Effect.flatMap((response) => {
        const usage = Usage.fromHeaders(response.headers)
        const declared = Number(response.headers["content-length"])
        return Effect.map(
          Number.isFinite(declared) && declared > max
            ? Effect.fail(tooLarge(response.status, usage)())
            : readBounded(response.stream, max, tooLarge(response.status, usage)),
          (text) => ({ status: response.status, headers: response.headers, usage, text })
        )
      }),
      Effect.scoped,
      Effect.timeoutFail({
        duration: call.timeout,
        onTimeout: () =>
          new Timeout({
            ...where,
            message: `${call.method} ${call.path}: no answer within ${Duration.format(call.timeout)}`,
            timeout: call.timeout,
            // A billed sync call keeps running at cloro after we stop waiting.
            mayBeCharged: call.kind === "monitor"
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
      Telemetry.exchange(call, server),
      Effect.flatMap(({ headers, status, text, usage }) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const envelope = () =>
            ErrorEnvelope.fromAnswer({ status, body: text, usage, retryAfterMillis: Usage.retryAfterMillis(headers, now) })
          if (status < 200 || status >= 300) return yield* Effect.fail(envelope())
          if (text.trim().length === 0) {
            return yield* Effect.fail(
              new UnexpectedStatus({
                message: `${call.method} ${call.path}: cloro answered ${status} with an empty body`,
                status,
                requestId: usage.requestId,
                usage
              })
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
          if (isErrorEnvelope(json.right)) return yield* Effect.fail(envelope())
          const body = call.decode(json.right)
          if (Either.isLeft(body)) return yield* Effect.fail(decodeError(describeParseError(body.left)))
          return { body: body.right, usage, raw: json.right }
        })
      )
    ))
}

/**
 * A client's `send`: what is the same for every call (the server's metric
 * labels, parsed from the base URL) is worked out once, not on every attempt.
 */
export const makeSend = (httpClient: HttpClient.HttpClient, config: CloroConfigShape) => {
  const server = Telemetry.serverOf(config.baseUrl)
  return <A>(call: Call<A>): Effect.Effect<Answer<A>, SendError> => send(httpClient, config, server, call)
}
