/**
 * One HTTP exchange with cloro, without limits or retries: build the request,
 * send it with a timeout, read the usage headers, and turn the answer into a
 * decoded body or a typed error. The pipeline (limits, ledger, retries) wraps
 * this in `CloroClient`.
 */
import type * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as MetricLabel from "effect/MetricLabel"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import {
  type ApiError,
  FieldIssue,
  InvalidRequest,
  ResponseDecodeError,
  Timeout,
  UnexpectedStatus
} from "../../CloroError.js"
import type { CloroConfigShape } from "../../CloroConfig.js"
import * as Usage from "../../Usage.js"
import { readText } from "./body.js"
import type { Deadlines } from "./deadlines.js"
import * as ErrorEnvelope from "./errorEnvelope.js"
import * as Telemetry from "./telemetry.js"
import * as FastDecode from "./fastDecode.js"
import { finishedOrTimedOut, transportError } from "./transport.js"

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

/**
 * Decodes with a schema, ignoring unknown fields. An answer goes through the
 * schema's compiled fast path first (`FastDecode`, which gives exactly the
 * schema's value or declines); one it declines is decoded by the schema,
 * stopping at its first issue, and only one that fails is decoded again for
 * all of its issues, for the error.
 */
export const decodeWith = <A, I>(schema: Schema.Schema<A, I>) => {
  const fast = FastDecode.compileSchema(schema)
  const decode = Schema.decodeUnknownEither(schema, FastDecode.answerOptions)
  const explain = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })
  return (json: unknown): Either.Either<A, ParseResult.ParseError> => {
    const value = fast(json)
    if (value !== FastDecode.Fail) return Either.right(value)
    const decoded = decode(json)
    return Either.isRight(decoded) ? decoded : explain(json)
  }
}

const describeParseError = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const shown = issues.slice(0, 10).map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`)
  return issues.length > 10 ? [...shown, `... and ${issues.length - 10} more`].join("\n") : shown.join("\n")
}

/**
 * A 2xx whose body is an error envelope (`success: false`, or an `error`
 * object without `success: true`): cloro did not answer the call, whatever
 * the status said, so it is the typed error the envelope names.
 */
const isErrorEnvelope = (json: unknown): boolean =>
  Predicate.isRecord(json) &&
  (json.success === false || (Predicate.isRecord(json.error) && json.success !== true))

/** What one answered exchange brought back, before it is decoded. */
interface Received {
  readonly status: number
  readonly headers: Headers.Headers
  readonly usage: Usage.Usage
  readonly text: string
}

/**
 * The request for a call, or why its body cannot be sent. `JSON.stringify`
 * throws on a bigint or a circular value; that is an `InvalidRequest`, not a
 * defect. The key is read from `Redacted` here, into the header only.
 */
const buildRequest = <A>(
  config: CloroConfigShape,
  call: Call<A>
): Either.Either<HttpClientRequest.HttpClientRequest, InvalidRequest> => {
  let body: HttpBody.HttpBody | undefined
  if (call.body !== undefined) {
    let json: string | undefined
    try {
      json = JSON.stringify(call.body)
    } catch {
      json = undefined
    }
    if (json === undefined) {
      return Either.left(
        new InvalidRequest({
          message: `${call.method} ${call.path}: the request body cannot be sent as JSON`,
          source: "client",
          issues: [new FieldIssue({ field: "(body)", message: "cannot be serialized as JSON (a bigint or a circular value)" })]
        })
      )
    }
    body = HttpBody.text(json, "application/json")
  }
  return Either.right(HttpClientRequest.make(call.method)(config.baseUrl + call.path, {
    headers: { authorization: `Bearer ${Redacted.value(config.apiKey)}`, "user-agent": config.userAgent },
    acceptJson: true,
    ...(call.urlParams === undefined ? {} : { urlParams: call.urlParams }),
    ...(body === undefined ? {} : { body })
  }))
}

/**
 * A received 2xx as its decoded answer, or the typed error it is: an empty
 * body, a body that is not JSON or does not match the documented shape
 * (`ResponseDecodeError`, keeping the body), or `undefined` for an error
 * envelope, which the caller turns into the error it names.
 */
const decodeAnswer = <A>(call: Call<A>, received: Received): Either.Either<Answer<A>, ApiError> | undefined => {
  const { status, text, usage } = received
  if (text.trim().length === 0) {
    return Either.left(
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
  if (Either.isLeft(json)) return Either.left(decodeError(`not JSON (${json.left}): ${text.slice(0, 200)}`))
  if (isErrorEnvelope(json.right)) return undefined
  const body = call.decode(json.right)
  return Either.isLeft(body)
    ? Either.left(decodeError(describeParseError(body.left)))
    : Either.right({ body: body.right, usage, raw: json.right })
}

/**
 * Sends one call. With `shielded`, an interrupt of the calling fiber waits for
 * the exchange to end (its answer or its timeout) instead of cutting it. Never fails with anything but a typed `ApiError`, and never
 * puts the API key in an error: the key is set as a header from `Redacted` at
 * the last moment and errors are built from status, headers and body only.
 * A body (of any status) longer than `config.maxResponseBytes` is not read
 * past that size: the call fails with `ResponseDecodeError`.
 */
export const send = <A>(
  httpClient: HttpClient.HttpClient,
  config: CloroConfigShape,
  server: ReadonlyArray<MetricLabel.MetricLabel>,
  call: Call<A>,
  shielded = false,
  deadlines?: Deadlines
): Effect.Effect<Answer<A>, SendError> => {
  const request = buildRequest(config, call)
  if (Either.isLeft(request)) return Effect.fail(request.left)
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

  return httpClient.execute(request.right).pipe(
    Effect.flatMap((response) => {
      // The platform builds a new headers object on every read of `response.headers`.
      const headers = response.headers
      const status = response.status
      const usage = Usage.fromHeaders(headers)
      return Effect.map(
        readText(response, headers, max, tooLarge(status, usage)),
        (text): Received => ({ status, headers, usage, text })
      )
    }),
    (exchange) => {
      const onTimeout = () =>
        new Timeout({
          method: call.method,
          path: call.path,
          message: `${call.method} ${call.path}: no answer within ${Duration.format(call.timeout)}`,
          timeout: call.timeout,
          // A billed sync call keeps running at cloro after we stop waiting.
          mayBeCharged: call.kind === "monitor"
        })
      // The client's one timeout fiber keeps the deadline: a shielded exchange runs in a daemon fiber,
      // an unshielded one in the caller's child (as with `Effect.timeoutFail`, without its timer fiber).
      if (deadlines !== undefined) {
        return deadlines.exchange(exchange, call.timeout, onTimeout, shielded, Telemetry.namingClientSpan(call))
      }
      return shielded
        ? finishedOrTimedOut(exchange, call.timeout, onTimeout)
        : Effect.timeoutFail(exchange, { duration: call.timeout, onTimeout })
    },
    Effect.mapError((error) =>
      error._tag === "RequestError" || error._tag === "ResponseError" ? transportError(call, error) : error
    ),
    Telemetry.exchange(call, server, deadlines !== undefined),
    Effect.flatMap((received): Effect.Effect<Answer<A>, ApiError> => {
      const { headers, status, text, usage } = received
      const decoded = status >= 200 && status < 300 ? decodeAnswer(call, received) : undefined
      if (decoded !== undefined) return decoded
      // An error status or an error envelope: the `Retry-After` date needs the clock.
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.fail(
          ErrorEnvelope.fromAnswer({ status, body: text, usage, retryAfterMillis: Usage.retryAfterMillis(headers, now) })
        ))
    })
  )
}

/**
 * A client's `send`: what is the same for every call (the server's metric
 * labels, parsed from the base URL) is worked out once, not on every attempt.
 */
export const makeSend = (httpClient: HttpClient.HttpClient, config: CloroConfigShape, deadlines?: Deadlines) => {
  const server = Telemetry.serverOf(config.baseUrl)
  return <A>(call: Call<A>, shielded?: boolean): Effect.Effect<Answer<A>, SendError> =>
    send(httpClient, config, server, call, shielded, deadlines)
}
