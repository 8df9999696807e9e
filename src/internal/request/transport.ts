/**
 * What a failed exchange means on the wire: whether a request cut off by
 * the transport may have reached cloro (`transportError` sets `mayBeCharged`
 * from it), and a timeout that an interrupt of the calling fiber cannot cut
 * short (`finishedOrTimedOut`), for an exchange a billed call must finish.
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
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
 * caller waits for whichever ends first without being interruptible. Two
 * fibers, where `Effect.timeoutFail` starts two children as well.
 */
export const finishedOrTimedOut = <A, E, E2>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2> =>
  Effect.uninterruptible(Effect.flatMap(Deferred.make<A, E | E2>(), (done) =>
    Effect.flatMap(Effect.forkDaemon(Effect.interruptible(Effect.intoDeferred(self, done))), (exchange) =>
      Effect.flatMap(
        Effect.forkDaemon(Effect.interruptible(Effect.zipRight(
          Effect.sleep(duration),
          Effect.zipRight(Deferred.failSync(done, onTimeout), Fiber.interrupt(exchange))
        ))),
        (timer) => Effect.ensuring(Deferred.await(done), Fiber.interrupt(timer))
      ))))

