/**
 * cloro's webhook deliveries: signing them (for the simulator), verifying
 * them, and a ready HTTP receiver.
 *
 * When a task submitted with `webhook.url` finishes, cloro POSTs its state
 * (`{ task, credits, response }`) there, and retries (5 attempts over ~30
 * minutes) until it gets a 2xx. With signing enabled for the organization,
 * each delivery carries `X-Cloro-Timestamp` (unix seconds),
 * `X-Cloro-Signature` (`v1=<hex HMAC-SHA256>`) and `X-Cloro-Webhook-Id`
 * (`<task id>-<attempt>`), see cloro-api.md §6.6.
 *
 * This module owns the public surface: the types, the receiver's settings and
 * defaults, and the entry points. The workings are in `internal/webhooks/`:
 * `verify.ts` (one delivery checked and decoded), `signature.ts` (the HMAC),
 * `receiver.ts` (the settings checked, a receiver or handler built),
 * `receive.ts` (the HTTP handling), `dedupe.ts` (redeliveries and replays) and
 * `errors.ts`.
 *
 * @example
 * ```ts
 * import { Config, Effect, Stream } from "effect"
 * import { HttpServer } from "@effect/platform"
 * import { Webhooks } from "cloro-effect"
 *
 * const program = Effect.gen(function* () {
 *   const secret = yield* Config.redacted("CLORO_WEBHOOK_SECRET")
 *   const receiver = yield* Webhooks.makeReceiver({ secret, path: "/hooks/cloro" })
 *   yield* HttpServer.serveEffect(receiver.app).pipe(Effect.forkScoped)
 *   yield* Stream.runForEach(receiver.events, (event) =>
 *     event.state.status === "COMPLETED" ? Effect.log(event.state.task.id, "done") : Effect.log(event.state.error.message)
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { LimiterUnavailable } from "./CloroError.js"
import type {
  WebhookConfigError,
  WebhookPayloadInvalid,
  WebhookSignatureInvalid,
  WebhookTimestampStale
} from "./internal/webhooks/errors.js"
import * as Receivers from "./internal/webhooks/receiver.js"
import * as Signature from "./internal/webhooks/signature.js"
import * as Verify from "./internal/webhooks/verify.js"
import * as Task from "./Task.js"

// ---------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------

/**
 * The names of the headers cloro sends with a delivery.
 *
 * @since 0.1.0
 */
export const headerNames = Verify.headerNames

/**
 * How far a delivery's timestamp may be from now before it is refused as a
 * possible replay: 5 minutes, as cloro's samples use.
 *
 * @since 0.1.0
 */
export const defaultToleranceSeconds = Verify.defaultToleranceSeconds

/**
 * A signing secret (`whsec_...`, shown once in the dashboard). Prefer
 * `Redacted` so that it never reaches a log.
 *
 * @since 0.1.0
 */
export type Secret = Redacted.Redacted<string> | string

/**
 * One secret, or several while one is being rotated: a delivery signed with
 * any of them passes.
 *
 * @since 0.1.0
 */
export type Secrets = Secret | ReadonlyArray<Secret>

/**
 * A verified (or, without a secret, decoded) delivery.
 *
 * @since 0.1.0
 */
export interface WebhookEvent {
  /** The finished task; narrow `status`, then `taskType`, to type its result. */
  readonly state: Task.Completed | Task.Failed
  /** `X-Cloro-Webhook-Id`: `<task id>-<attempt>`, unique per attempt. */
  readonly webhookId?: string
  /** The attempt number read from `webhookId`. */
  readonly attempt?: number
  /** `X-Cloro-Timestamp`: when cloro signed the delivery, in unix seconds. */
  readonly timestamp?: number
  /** Whether the signature was checked; a receiver without a secret only decodes. */
  readonly verified: boolean
}

export {
  WebhookConfigError,
  WebhookPayloadInvalid,
  WebhookSignatureInvalid,
  WebhookTimestampStale
} from "./internal/webhooks/errors.js"

/**
 * Every way a delivery can be refused.
 *
 * @since 0.1.0
 */
export type WebhookError = WebhookSignatureInvalid | WebhookTimestampStale | WebhookPayloadInvalid

// ---------------------------------------------------------------------------
// signing
// ---------------------------------------------------------------------------

const reveal = (secret: Secret): string => (Redacted.isRedacted(secret) ? Redacted.value(secret) : secret)

/**
 * The `X-Cloro-Signature` of a body: `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
 * Sign the exact bytes that are sent.
 *
 * @example
 * ```ts
 * import { Webhooks } from "cloro-effect"
 *
 * Webhooks.sign("whsec_test", 1767225600, '{"task":{}}') // "v1=3f1c..."
 * ```
 *
 * @since 0.1.0
 */
export const sign = (secret: Secret, timestampSeconds: number, rawBody: string | Uint8Array): string =>
  Signature.format(Signature.digest(reveal(secret), timestampSeconds, rawBody))

/**
 * The three headers of a signed delivery, for a sender such as the simulator.
 *
 * @since 0.1.0
 */
export const signedHeaders = (options: {
  readonly secret: Secret
  readonly timestampSeconds: number
  readonly rawBody: string | Uint8Array
  readonly webhookId: string
}): Record<string, string> => ({
  [headerNames.signature]: sign(options.secret, options.timestampSeconds, options.rawBody),
  [headerNames.timestamp]: String(options.timestampSeconds),
  [headerNames.webhookId]: options.webhookId
})

// ---------------------------------------------------------------------------
// verifying
// ---------------------------------------------------------------------------

/**
 * Options of `verify`.
 *
 * @since 0.1.0
 */
export interface VerifyOptions {
  /** How far (seconds, either way) the timestamp may be from now; default 300. */
  readonly toleranceSeconds?: number | undefined
}

/**
 * Verifies a delivery and decodes it: the signature (any `v1=` entry against
 * any of the secrets, in constant time), then the timestamp against the
 * `Clock` (so `TestClock` drives it), then the body into a typed task state.
 * Headers are read case-insensitively; `rawBody` must be the bytes as
 * received, before any JSON parsing.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Webhooks } from "cloro-effect"
 *
 * const handle = (headers: Record<string, string>, body: string) =>
 *   Webhooks.verify(Redacted.make("whsec_..."), headers, body).pipe(
 *     Effect.map((event) => event.state.task.id)
 *   )
 * ```
 *
 * @since 0.1.0
 */
export const verify = (
  secret: Secrets,
  headers: Headers.Input,
  rawBody: string | Uint8Array,
  options: VerifyOptions = {}
): Effect.Effect<WebhookEvent, WebhookError> => Verify.verify(secret, headers, rawBody, options)

/**
 * Decodes a delivery without checking its signature, for an organization
 * that has not enabled signing. Prefer `verify` whenever a secret exists.
 *
 * @since 0.1.0
 */
export const decode = (
  headers: Headers.Input,
  rawBody: string | Uint8Array
): Effect.Effect<WebhookEvent, WebhookPayloadInvalid> => Verify.decode(headers, rawBody)

// ---------------------------------------------------------------------------
// receiving
// ---------------------------------------------------------------------------

/**
 * How many task ids a receiver remembers to acknowledge cloro's redeliveries
 * (new attempts, newly signed) without handling them again. Replays of one
 * signed delivery are refused by time instead, for the whole tolerance
 * window, whatever this capacity.
 *
 * @since 0.1.0
 */
export const defaultDedupeCapacity = Receivers.defaultDedupeCapacity

/**
 * Options shared by `makeReceiver` and `makeHandler`.
 *
 * @since 0.1.0
 */
export interface ReceiverOptions {
  /**
   * The signing secret(s). Required: without one anyone who can reach the
   * receiver could complete tasks and settle charges with a forged POST, so
   * `makeReceiver`/`makeHandler` fail with `WebhookConfigError` unless
   * `dangerouslyAcceptUnsignedDeliveries` is set.
   */
  readonly secret?: Secrets | undefined
  /**
   * Accept unsigned deliveries when no `secret` is given: only decoded, never
   * verified, so a forged POST completes tasks. For local tests against an
   * organization without signing; never expose such a receiver.
   */
  readonly dangerouslyAcceptUnsignedDeliveries?: boolean | undefined
  /** See `VerifyOptions`; default 300. */
  readonly toleranceSeconds?: number | undefined
  /**
   * When set, requests to any other path get 404. Leave it unset when the app
   * is mounted on a route of a router.
   */
  readonly path?: string | undefined
  /** How many task ids to remember for deduplication; default 10,000. */
  readonly dedupeCapacity?: number | undefined
  /**
   * Where accepted signed deliveries are remembered to refuse their replays;
   * default: in this process. Several receivers behind one URL share one
   * (`RedisWebhooks.replayStore` from `cloro-effect/redis`), so a delivery
   * replayed to another of them is refused too.
   */
  readonly replayStore?: ReplayStore | undefined
}

/**
 * The replay memory of a receiver: signed deliveries (timestamp and body
 * hash) accepted within the tolerance window.
 *
 * @since 0.2.0
 */
export interface ReplayStore {
  /**
   * `true` the first time `key` is claimed before `expiresAtMillis`, `false`
   * for a replay. A store that cannot be reached fails, and the delivery gets
   * 503 (cloro retries it) rather than being accepted unchecked.
   */
  readonly claim: (key: string, expiresAtMillis: number, nowMillis: number) => Effect.Effect<boolean, LimiterUnavailable>
  /** Forgets a delivery whose hand-over failed, so that cloro's retry is handled. */
  readonly release: (key: string) => Effect.Effect<void>
}

/**
 * A webhook receiver: an HTTP app and the stream of the tasks it accepted.
 *
 * @since 0.1.0
 */
export interface Receiver {
  /**
   * Answers a delivery: 200 when accepted and when it is a redelivery of a
   * task already accepted (so cloro stops retrying), 409 for a redelivery
   * while the first attempt is still being handed over, 401 for a bad signature
   * or a stale timestamp, 400 for a body that is not a finished task, 405 for
   * another method, 503 once the receiver's scope is closed or its buffer full, or while
   * its `replayStore` cannot be reached.
   */
  readonly app: HttpApp.Default
  /**
   * Each accepted task once, in the order accepted. Events are buffered until
   * read; the stream has a single reader (two readers split the events) and
   * ends when the receiver's scope closes.
   */
  readonly events: Stream.Stream<WebhookEvent>
}

/**
 * Options of `makeReceiver`.
 *
 * @since 0.1.0
 */
export interface MakeReceiverOptions extends ReceiverOptions {
  /**
   * The most events buffered before `events` is read; deliveries beyond it
   * get 503 and are retried by cloro. Unbounded by default.
   */
  readonly bufferSize?: number | undefined
}

/**
 * Makes a receiver whose accepted tasks come out of a stream.
 *
 * @since 0.1.0
 */
export const makeReceiver = (
  input: MakeReceiverOptions
): Effect.Effect<Receiver, WebhookConfigError, Scope.Scope> =>
  Receivers.makeReceiver(input)

/**
 * Options of `makeHandler`.
 *
 * @since 0.1.0
 */
export interface MakeHandlerOptions<E, R> extends ReceiverOptions {
  /**
   * Called once per accepted task, before the answer is sent. When it fails
   * the delivery gets 500 and the task is not remembered, so cloro's retry is
   * handled again.
   */
  readonly onEvent: (event: WebhookEvent) => Effect.Effect<void, E, R>
}

/**
 * Makes an HTTP app that calls `onEvent` for each accepted task, answering
 * as `Receiver.app` does.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { HttpRouter } from "@effect/platform"
 * import { Webhooks } from "cloro-effect"
 *
 * const router = Effect.map(
 *   Webhooks.makeHandler({
 *     secret: Redacted.make("whsec_..."),
 *     onEvent: (event) => Effect.log(`task ${event.state.task.id} is ${event.state.status}`)
 *   }),
 *   (app) => HttpRouter.empty.pipe(HttpRouter.post("/hooks/cloro", app))
 * )
 * ```
 *
 * @since 0.1.0
 */
export const makeHandler = <E, R>(
  input: MakeHandlerOptions<E, R>
): Effect.Effect<HttpApp.Default<never, R>, WebhookConfigError> =>
  Receivers.makeHandler(input)
