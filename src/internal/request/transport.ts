/**
 * What a failed exchange means on the wire: whether a request cut off by
 * the transport may have reached cloro (`transportError` sets `mayBeCharged`
 * from it), and a timeout that an interrupt of the calling fiber cannot cut
 * short (`finishedOrTimedOut`), for an exchange a billed call must finish.
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashSet from "effect/HashSet"
import { TransportError } from "../../CloroError.js"
import type { CallKind } from "./http.js"

/**
 * Error codes of a connection that was never made, so nothing of the request
 * was written: refused, no route, no such host, TLS refused, connect timeout.
 * Node's `net`/`tls`/`dns` codes and undici's connect timeout.
 */
const notConnectedCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EAI_NONAME",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
])

/**
 * Whether a transport failure happened before the connection was made, read
 * from the `code` of the platform error's cause chain (fetch wraps it as
 * `TypeError: fetch failed` with the system error as `cause`; Node's happy
 * eyeballs gives an `AggregateError` whose every attempt must have failed to
 * connect). Unknown means "maybe written": the ledger then over-counts the
 * call as may-be-charged rather than dropping a charge.
 */
const neverConnected = (cause: unknown, depth = 0): boolean => {
  if (depth > 4 || typeof cause !== "object" || cause === null) return false
  if ("errors" in cause && Array.isArray(cause.errors) && cause.errors.length > 0) {
    return cause.errors.every((inner: unknown) => neverConnected(inner, depth + 1))
  }
  if ("code" in cause && typeof cause.code === "string" && notConnectedCodes.has(cause.code)) return true
  return "cause" in cause ? neverConnected(cause.cause, depth + 1) : false
}

/**
 * Whether the request may have reached cloro: a response error (the answer
 * began, its body was cut) always; a transport request error unless it never
 * connected; a request that could not be encoded or had a bad URL never.
 */
const mayHaveBeenWritten = (error: HttpClientError.HttpClientError): boolean =>
  error._tag === "ResponseError" || (error.reason === "Transport" && !neverConnected(error.cause))

/** A transport failure of the platform's client as the typed error callers see. */
export const transportError = (
  call: { readonly method: string; readonly path: string; readonly kind: CallKind },
  error: HttpClientError.HttpClientError
): TransportError =>
  new TransportError({
    method: call.method,
    path: call.path,
    message: error._tag === "RequestError"
      ? `${call.method} ${call.path}: ${error.reason}: ${error.description ?? "request failed"}`
      : `${call.method} ${call.path}: the body could not be read (${error.reason}${
        error.description ? `: ${error.description}` : ""
      })`,
    // A billed sync call cut after it was written may be billed, as after a timeout.
    mayBeCharged: call.kind === "monitor" && mayHaveBeenWritten(error)
  })

/**
 * `self` with a timeout, shielded from the interruption of the fiber that
 * runs it: the exchange and its timer run in daemon fibers of their own (an
 * interrupt signal reaches a fiber's children at once, even while it is
 * uninterruptible, so the timeout's own race would be cut short), and the
 * caller waits for the exchange without being interruptible. Two fibers,
 * where `Effect.timeoutFail` starts two as well. The exchange's own exit is
 * the answer, so no `Deferred` is needed: an exchange the timer interrupted
 * (the timer is the only fiber that holds it) is the timeout.
 */
export const finishedOrTimedOut = <A, E, E2>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2> =>
  Effect.uninterruptible(
    Effect.flatMap(Effect.forkDaemon(Effect.interruptible(self)), (exchange) =>
      Effect.flatMap(
        Effect.forkDaemon(Effect.interruptible(Effect.zipRight(
          Effect.sleep(duration),
          // Interrupted as this timer, so the caller can tell a timeout from any other interruption.
          Effect.fiberIdWith((id) => Effect.sync(() => exchange.unsafeInterruptAsFork(id)))
        ))),
        (timer) =>
          Effect.flatMap(Fiber.await(exchange), (exit): Effect.Effect<A, E | E2> =>
            Effect.withFiberRuntime((fiber) => {
              // The answer is in hand: the timer is stopped without waiting for it to end.
              timer.unsafeInterruptAsFork(fiber.id())
              return Exit.isFailure(exit) && HashSet.has(Cause.interruptors(exit.cause), timer.id())
                ? Effect.fail(onTimeout())
                : exit
            }))
      ))
  )
