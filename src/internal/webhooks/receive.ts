/**
 * The request handling shared by `Webhooks.makeReceiver` and `makeHandler`:
 * path and method, the body read as bytes, verified (or only decoded when
 * unsigned deliveries are accepted), deduplicated on the task id, replays
 * refused for the tolerance window, then handed over; the answer tells cloro
 * whether to retry.
 *
 * @internal
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Crypto from "node:crypto"
import type { ReceiverOptions, ReplayStore, WebhookError, WebhookEvent } from "../../Webhooks.js"
import type * as Dedupe from "./dedupe.js"
import { decode, toleranceOf, verify } from "./verify.js"

/** Why an accepted delivery could not be handed over; cloro will retry it. @internal */
export interface HandOverFailed {
  readonly status: number
  readonly code: string
  readonly message: string
}

const respond = (status: number, body: unknown) => HttpServerResponse.unsafeJson(body, { status })

const refusal = (error: WebhookError | { readonly _tag: "BodyUnreadable"; readonly message: string }) =>
  respond(error._tag === "WebhookSignatureInvalid" || error._tag === "WebhookTimestampStale" ? 401 : 400, {
    error: { code: error._tag, message: error.message }
  })

const pathOf = (url: string): string => url.split("?")[0] ?? url

/**
 * The request handling shared by the receiver and the handler: check, verify,
 * deduplicate on the task id, hand over. Only a successful hand-over keeps
 * the id claimed, so a delivery that could not be handled is handled when
 * cloro retries it.
 *
 * @internal
 */
export const receive = <R>(
  options: ReceiverOptions,
  dedupe: Dedupe.WebhookDedupe,
  replays: ReplayStore,
  handOver: (event: WebhookEvent) => Effect.Effect<void, HandOverFailed, R>
): HttpApp.Default<never, R> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (options.path !== undefined && pathOf(request.url) !== options.path) {
      return respond(404, { error: { code: "NotFound", message: `Webhooks are received at ${options.path}` } })
    }
    if (request.method !== "POST") {
      return HttpServerResponse.unsafeJson(
        { error: { code: "MethodNotAllowed", message: "Webhooks are delivered with POST" } },
        { status: 405, headers: { allow: "POST" } }
      )
    }
    const body = yield* Effect.either(request.arrayBuffer)
    if (Either.isLeft(body)) return refusal({ _tag: "BodyUnreadable", message: "The request body could not be read" })
    const rawBody = new Uint8Array(body.right)
    const received = yield* Effect.either(
      options.secret === undefined && options.dangerouslyAcceptUnsignedDeliveries === true
        ? decode(request.headers, rawBody)
        : verify(options.secret ?? [], request.headers, rawBody, { toleranceSeconds: options.toleranceSeconds })
    )
    if (Either.isLeft(received)) {
      yield* Effect.logWarning("cloro webhook refused", received.left.message).pipe(
        Effect.annotateLogs({ reason: received.left._tag })
      )
      return refusal(received.left)
    }
    const event = received.right
    const taskId = event.state.task.id
    const claim = yield* dedupe.claim(taskId)
    if (claim === "Handled") {
      // already handled: a 2xx stops cloro's retries
      return respond(200, { received: true, duplicate: true })
    }
    if (claim === "Pending") {
      // the first attempt may still fail; a 2xx here would stop the retry that would then be needed
      return respond(409, { error: { code: "InProgress", message: "This task's delivery is still being handled" } })
    }
    // A signed delivery is one (timestamp, body): a replay repeats both, and is refused for as long
    // as the timestamp passes `verify`, however many deliveries came in between (the task-id memory
    // above is bounded by count, so it cannot promise that).
    const replayKey = event.verified && event.timestamp !== undefined
      ? `${event.timestamp}.${Crypto.createHash("sha256").update(rawBody).digest("hex")}`
      : undefined
    if (replayKey !== undefined && event.timestamp !== undefined) {
      const now = yield* Clock.currentTimeMillis
      const tolerance = toleranceOf({ toleranceSeconds: options.toleranceSeconds })
      const claimed = yield* Effect.either(replays.claim(replayKey, (event.timestamp + tolerance + 1) * 1000, now))
      if (Either.isLeft(claimed)) {
        // Unchecked, it could be a replay: refuse for now, cloro retries.
        yield* dedupe.release(taskId)
        yield* Effect.logWarning("cloro webhook replay store unavailable", claimed.left.reason)
        return respond(503, { error: { code: "Unavailable", message: "The replay store cannot be reached" } })
      }
      if (!claimed.right) {
        yield* dedupe.confirm(taskId)
        yield* Effect.logWarning("cloro webhook replay refused").pipe(Effect.annotateLogs({ taskId }))
        return respond(200, { received: true, duplicate: true })
      }
    }
    const forgetReplay = replayKey === undefined ? Effect.void : replays.release(replayKey)
    const handedOver = yield* handOver(event).pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit) ? dedupe.confirm(taskId) : Effect.zipRight(dedupe.release(taskId), forgetReplay)
      ),
      Effect.either
    )
    return Either.isLeft(handedOver)
      ? respond(handedOver.left.status, { error: { code: handedOver.left.code, message: handedOver.left.message } })
      : respond(200, { received: true, duplicate: false })
  })

