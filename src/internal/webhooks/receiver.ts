/**
 * Building `Webhooks.makeReceiver` and `makeHandler`: their settings checked
 * (every bad one reported at once), the dedupe and replay memories made, and
 * the hand-over of an accepted delivery (to the receiver's queue, or to the
 * handler's `onEvent`) put behind `receive.ts`'s request handling.
 *
 * @internal
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { FieldIssue } from "../../CloroError.js"
import type {
  MakeHandlerOptions,
  MakeReceiverOptions,
  Receiver,
  ReceiverOptions,
  WebhookEvent
} from "../../Webhooks.js"
import * as ConfigIssues from "../configIssues.js"
import * as Dedupe from "./dedupe.js"
import { WebhookConfigError } from "./errors.js"
import { type HandOverFailed, receive } from "./receive.js"
import * as Verify from "./verify.js"

/** Public as `Webhooks.defaultDedupeCapacity`, where its doc comment says why. */
export const defaultDedupeCapacity = 10_000

/** One refused setting. */
const refused = (setting: string, message: string): WebhookConfigError =>
  new WebhookConfigError(ConfigIssues.one("webhook receiver", setting, message))

/** Refuses settings that would quietly weaken the receiver (no secret, no dedupe, any timestamp...), every one at once. */
const checkReceiverOptions = (
  input: unknown
): Effect.Effect<ReceiverOptions & { readonly bufferSize?: number | undefined }, WebhookConfigError> => {
  if (!Predicate.isRecord(input)) return Effect.fail(refused("options", "must be an object with at least a secret"))
  const options: ReceiverOptions & { readonly bufferSize?: number | undefined } = input
  const { bufferSize, dangerouslyAcceptUnsignedDeliveries, dedupeCapacity, secret, toleranceSeconds } = options
  const issue = (field: string, message: string) => [new FieldIssue({ field, message })]
  const list: ReadonlyArray<unknown> = Array.isArray(secret) ? secret : [secret]
  const store: unknown = options.replayStore
  const issues = [
    ...(dangerouslyAcceptUnsignedDeliveries !== undefined && !Predicate.isBoolean(dangerouslyAcceptUnsignedDeliveries)
      ? issue("dangerouslyAcceptUnsignedDeliveries", "must be true or false")
      : []),
    ...(secret === undefined && dangerouslyAcceptUnsignedDeliveries !== true
      ? issue(
        "secret",
        "is required: a webhook receiver needs the signing secret (whsec_...), without it anyone can forge a delivery. " +
          "For local tests only, set dangerouslyAcceptUnsignedDeliveries: true"
      )
      : []),
    ...(secret !== undefined && (list.length === 0 || Verify.usableSecrets(secret).length !== list.length)
      ? issue("secret", "must be a non-empty string or Redacted string, each of them (is the variable set?)")
      : []),
    ...(toleranceSeconds !== undefined &&
        !(Predicate.isNumber(toleranceSeconds) && Number.isFinite(toleranceSeconds) && toleranceSeconds >= 0)
      ? issue("toleranceSeconds", "must be a finite number of seconds ≥ 0")
      : []),
    ...(dedupeCapacity !== undefined && !(Number.isInteger(dedupeCapacity) && dedupeCapacity >= 1)
      ? issue("dedupeCapacity", "must be a whole number ≥ 1")
      : []),
    ...(bufferSize !== undefined && !(Number.isInteger(bufferSize) && bufferSize >= 1)
      ? issue("bufferSize", "must be a whole number ≥ 1")
      : []),
    ...(options.path !== undefined && !Predicate.isString(options.path) ? issue("path", "must be a string") : []),
    ...(store !== undefined &&
        !(Predicate.isRecord(store) && Predicate.isFunction(store.claim) && Predicate.isFunction(store.release))
      ? issue("replayStore", "must be { claim, release } (see ReplayStore)")
      : [])
  ]
  return issues.length === 0
    ? Effect.succeed(options)
    : Effect.fail(new WebhookConfigError(ConfigIssues.fromIssues("webhook receiver", issues)))
}

/** `Webhooks.makeReceiver`. */
export const makeReceiver = (
  input: MakeReceiverOptions
): Effect.Effect<Receiver, WebhookConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const options = yield* checkReceiverOptions(input)
    const queue = yield* Effect.acquireRelease(
      options.bufferSize !== undefined
        ? Queue.dropping<WebhookEvent>(options.bufferSize)
        : Queue.unbounded<WebhookEvent>(),
      Queue.shutdown
    )
    const dedupe = yield* Dedupe.make(options.dedupeCapacity ?? defaultDedupeCapacity)
    const replays = options.replayStore ?? (yield* Dedupe.makeReplayGuard)
    const unavailable = (message: string): HandOverFailed => ({ status: 503, code: "Unavailable", message })
    const app = receive(options, dedupe, replays, (event) =>
      Effect.flatMap(Queue.isShutdown(queue), (closed) =>
        closed
          ? Effect.fail(unavailable("The receiver is closed"))
          : Effect.flatMap(Queue.offer(queue, event), (offered) =>
            offered ? Effect.void : Effect.fail(unavailable("The receiver's buffer is full"))
          )
      ))
    return { app, events: Stream.fromQueue(queue) }
  })

/** `Webhooks.makeHandler`. */
export const makeHandler = <E, R>(
  input: MakeHandlerOptions<E, R>
): Effect.Effect<HttpApp.Default<never, R>, WebhookConfigError> =>
  Effect.gen(function*() {
    const options = yield* checkReceiverOptions(input)
    const onEvent = input.onEvent
    if (!Predicate.isFunction(onEvent)) {
      return yield* refused("onEvent", "must be a function of the event")
    }
    const dedupe = yield* Dedupe.make(options.dedupeCapacity ?? defaultDedupeCapacity)
    const replays = options.replayStore ?? (yield* Dedupe.makeReplayGuard)
    return receive(options, dedupe, replays, (event) =>
      Effect.suspend(() => onEvent(event)).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logError("cloro webhook handler failed", cause).pipe(
            Effect.zipRight(
              Effect.fail<HandOverFailed>({ status: 500, code: "HandlerFailed", message: "The webhook handler failed" })
            )
          )
        )
      ))
  })
