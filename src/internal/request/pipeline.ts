/**
 * The path of one request through the limits, as the README draws it:
 *
 *   reserve the most it can cost → concurrency slot → rate admission → send →
 *   read usage (feed limiters, ledger, monitor) → decode → release slot →
 *   settle → resend on a retryable error (the slot is not held while waiting
 *   out a backoff).
 *
 * The steps that are easy to miss are named functions here:
 * - `replayFirstFailure`: the retry schedule is built only after a first
 *   failure, which is replayed into `Effect.retry` as its first input;
 * - `requeueOwnConcurrency429` (inside `run`, with `isOwnConcurrency429`): a
 *   concurrency 429 our own limiter explains goes back into the limiter's
 *   line, outside the schedule;
 * - `chargeOfUndecodedAnswer`: a 2xx whose body did not decode is settled at
 *   its estimate, because cloro answered (and billed) it.
 *
 * Every service is required: `CloroClient`'s layer names each one, and
 * opting out of one is an explicit `layerUnlimited`/`layerNone`. Every resend
 * (a retry, or a requeue after a concurrency 429) is decided by the retry
 * policy and paid from its budget, only when it really happens.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Cause from "effect/Cause"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { CloroError } from "../../CloroError.js"
import type { CreditsShape, Reservation } from "../../Credits.js"
import type * as RetryPolicy from "../../RetryPolicy.js"
import type { UsageMonitorShape } from "../../UsageMonitor.js"
import * as Usage from "../../Usage.js"
import type { Answer, Call, SendError } from "./http.js"
import * as Telemetry from "./telemetry.js"

/** What the pipeline needs of a concurrency limiter. */
export interface SlotGate {
  readonly withPermit: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CloroError, R>
  readonly learn: (limit: number) => Effect.Effect<void>
  /** The number of slots; `undefined` when unlimited. */
  readonly size: Effect.Effect<number | undefined>
}

/** What the pipeline needs of a rate limiter. */
export interface RateGate {
  readonly take: (path: string) => Effect.Effect<void, CloroError>
  readonly learn: (
    path: string,
    rate: { readonly limit?: number | undefined; readonly remaining?: number | undefined }
  ) => Effect.Effect<void>
}

/** The services a pipeline runs through. */
export interface Services {
  readonly slots: SlotGate
  readonly rate: RateGate
  readonly credits: CreditsShape
  readonly monitor: UsageMonitorShape
  readonly retry: RetryPolicy.RetryPolicyShape
}

/** Facts about a call that only the pipeline needs. */
export interface Billing {
  /** What the call is expected to cost if it succeeds (0 for free calls). */
  readonly estimate: number
  /** The most it can cost (AI Mode's `expandProducts` adds up to 6): what is reserved. */
  readonly maxCost: number
  /** The caller's tag for spend accounting. */
  readonly tag: string | undefined
  /** Engine name for spend metrics. */
  readonly engine: string | undefined
}

const usageOf = (error: CloroError): Usage.Usage | undefined => ("usage" in error ? error.usage : undefined)

/**
 * Settling a 2xx answer that failed to decode: cloro answered the call and
 * billed it, but the body did not match the documented shape (or was not
 * JSON), so the error carries no usage to read a charge from. It is counted
 * at its estimate: over- rather than under-count spend. `undefined` for any
 * other error.
 */
export const chargeOfUndecodedAnswer = (error: CloroError, estimate: number): number | undefined =>
  error._tag === "ResponseDecodeError" && error.status !== undefined && error.status >= 200 && error.status < 300
    ? estimate
    : undefined

/**
 * What a failed call cost: what cloro said it charged when it said so;
 * otherwise a 2xx whose body did not decode is settled at its estimate
 * (`chargeOfUndecodedAnswer`); anything else (an error status, a 2xx with an
 * empty or error body, no answer) is free.
 */
const chargeOfFailure = (error: CloroError, estimate: number): number | undefined =>
  usageOf(error)?.credits.charged ?? chargeOfUndecodedAnswer(error, estimate)

/**
 * Replaying the first failure into `Effect.retry`: the first attempt runs
 * bare, and only when it fails are the schedule and its driver built (most
 * calls never need them, and thousands may be waiting for a slot at once).
 * `Effect.retry` then starts from an effect that fails once more with that
 * same first error, without sending anything, before running `attempt`
 * again, so the schedule sees exactly the inputs it would have seen had it
 * wrapped the first attempt: `Effect.retry`'s semantics are kept exactly.
 */
export const replayFirstFailure = <A, E, R, Out, R2>(
  attempt: Effect.Effect<A, E, R>,
  schedule: () => Schedule.Schedule<Out, E, R2>
): Effect.Effect<A, E, R | R2> =>
  Effect.catchAll(attempt, (first) =>
    Effect.flatMap(Ref.make(true), (replayFirst) => {
      const again: Effect.Effect<A, E, R> = Effect.flatMap(
        Ref.getAndSet(replayFirst, false),
        (replay) => (replay ? Effect.fail(first) : attempt)
      )
      return Effect.retry(again, schedule())
    }))

/**
 * Whether a failed attempt is a concurrency 429 that the client's own
 * limiter explains: the server's limit (`error.limit`) is below the size the
 * limiter had when the call was admitted, and the policy's `slotRequeues`
 * allow another requeue. Such a call goes back into the limiter's line
 * (`requeueOwnConcurrency429` in `run`), outside the retry schedule.
 */
const isOwnConcurrency429 = (
  error: CloroError,
  sizeAdmitted: number | undefined,
  requeues: number,
  maxRequeues: number
): error is Extract<CloroError, { readonly _tag: "ConcurrentLimitExceeded" }> & { readonly limit: number } =>
  error._tag === "ConcurrentLimitExceeded" && error.limit !== undefined && sizeAdmitted !== undefined &&
  error.limit < sizeAdmitted && requeues < maxRequeues

/** Runs a call through the pipeline. */
export const run = <A>(
  services: Services,
  send: (call: Call<A>) => Effect.Effect<Answer<A>, SendError>,
  call: Call<A>,
  billing: Billing
): Effect.Effect<Answer<A>, CloroError> =>
  billing.maxCost <= 0 ? unbilled(services, send, call) : billed(services, send, call, billing)

/** Limits, rate, retries: everything but the ledger. */
const unbilled = <A>(
  services: Services,
  send: (call: Call<A>) => Effect.Effect<Answer<A>, SendError>,
  call: Call<A>
): Effect.Effect<Answer<A>, CloroError> => {
  const { monitor, rate, retry, slots } = services
  const usesSlot = call.kind === "monitor"
  const route = call.route ?? call.path

  const learn = (usage: Usage.Usage) => {
    const slotLimit = usesSlot ? usage.concurrency.limit : undefined
    const observed = monitor.observe(call.path, usage)
    return Effect.zipRight(
      rate.learn(route, usage.rateLimit),
      slotLimit === undefined ? observed : Effect.zipRight(slots.learn(slotLimit), observed)
    )
  }

  // Built only once admitted: thousands of calls may wait for a slot, and each
  // would otherwise hold a fully built HTTP request and its effect tree.
  const wire = Effect.zipRight(
    Telemetry.waitFor(call, "rate admission", (admitted) => Effect.zipRight(rate.take(route), admitted)),
    Effect.suspend(() => send(call))
  ).pipe(
    Effect.tap((answer) => learn(answer.usage)),
    Effect.tapError((error) => {
      const usage = usageOf(error)
      return Effect.zipRight(usage === undefined ? Effect.void : learn(usage), monitor.recordError(call.path, error))
    })
  )

  /** Records a resend about to happen, once the policy's budget has paid for it. */
  const paid = (error: CloroError) =>
    Effect.flatMap(retry.spend(error), (ok) => ok ? Effect.as(monitor.recordRetry(call.path, error), true) : Effect.succeed(false))

  /**
   * Requeueing a concurrency 429 outside the schedule: when our own limiter
   * explains the 429 (`isOwnConcurrency429`), the limiter learns the server's
   * limit and, if it really shrank and the policy's budget pays, the call
   * goes straight back into the limiter's line: a slot frees when one of our
   * own requests ends, so sleeping out a backoff would only waste time. An
   * unlimited or clamped limiter would send the call straight into another
   * 429, so then the error goes on to the schedule instead.
   */
  const requeueOwnConcurrency429 = (
    error: CloroError & { readonly limit: number },
    sizeAdmitted: number,
    requeues: number
  ): Effect.Effect<Answer<A>, CloroError> =>
    Effect.zipRight(
      Effect.zipRight(Telemetry.logRequeue(call, error.limit, sizeAdmitted), slots.learn(error.limit)),
      slots.size
    ).pipe(
      Effect.flatMap((size) =>
        size !== undefined && size < sizeAdmitted
          ? Effect.flatMap(paid(error), (ok) => ok ? attempt(requeues + 1) : Effect.fail(error))
          : Effect.fail(error)
      )
    )

  /**
   * One attempt: the slot is held only while the request is on the wire; a
   * concurrency 429 our own limiter explains is requeued
   * (`requeueOwnConcurrency429`).
   */
  const attempt = (requeues: number): Effect.Effect<Answer<A>, CloroError> =>
    !usesSlot
      ? wire
      : Telemetry.waitFor(call, "a concurrency slot", (admitted) =>
        slots.withPermit(Effect.zipRight(
          admitted,
          Effect.flatMap(slots.size, (sizeAdmitted) =>
            Effect.map(Effect.either(wire), (result) => ({ result, sizeAdmitted })))
        ))).pipe(
          Effect.flatMap(({ result, sizeAdmitted }) =>
            Either.match(result, {
              onRight: Effect.succeed,
              onLeft: (error) =>
                sizeAdmitted !== undefined &&
                  isOwnConcurrency429(error, sizeAdmitted, requeues, retry.options.slotRequeues)
                  ? requeueOwnConcurrency429(error, sizeAdmitted, requeues)
                  : Effect.fail(error)
            })
          )
        )

  // After a timeout or a dropped connection cloro may have acted on the call.
  // A sync monitor call may be billed even so (cloro keeps running an
  // abandoned attempt), so it is resent only when the policy says so; any
  // other call only when sending it twice is safe.
  const ambiguous = (error: CloroError) => error._tag === "Timeout" || error._tag === "TransportError"
  const resendAmbiguous = usesSlot ? retry.options.resendSyncTimeouts : call.idempotent !== false

  // The policy's delays decide first, then this call's own conditions; the
  // budget is charged last, so a retry that does not happen costs nothing.
  const schedule = () =>
    retry.delays.pipe(
      Schedule.whileInput((error: CloroError) => resendAmbiguous || !ambiguous(error)),
      // The output becomes the delay before the next attempt, for the debug log.
      Schedule.delays,
      Schedule.checkEffect((error: CloroError, delay) =>
        Effect.tap(paid(error), (ok) => ok ? Telemetry.logRetry(call, error, delay) : Effect.void)
      )
    )

  const retried = replayFirstFailure(attempt(0), schedule).pipe(
    Effect.tap(() => retry.onSuccess)
  )

  return retried
}

/** What one exchange with cloro ended with. */
type Sent<A> = Option.Option<Exit.Exit<Answer<A>, SendError>>

/**
 * A billed call: the most it can cost is reserved first, and the reservation
 * ends from what really happened on the wire.
 *
 * Interrupting the caller returns at once (`Effect.disconnect`), but an
 * exchange already handed to the transport is finished in the background, not
 * abandoned: cloro answers and bills it either way. It keeps its concurrency
 * slot until the answer or its own timeout, and the reservation is settled
 * from that answer (`finishOnceSent`). Anything still waiting (for a slot, an
 * admission, a backoff) stops at once and the reservation is released.
 */
const billed = <A>(
  services: Services,
  send: (call: Call<A>) => Effect.Effect<Answer<A>, SendError>,
  call: Call<A>,
  billing: Billing
): Effect.Effect<Answer<A>, CloroError> => {
  const { credits, monitor } = services
  const settle = (reservation: Reservation, charged: number, remaining: number | undefined) =>
    Effect.zipRight(
      reservation.settle(charged, remaining),
      monitor.recordSpend(billing.engine ?? call.path, charged)
    )
  /** Ends the reservation from an outcome; `interrupted` when the outcome is an interruption. */
  const end = (
    reservation: Reservation,
    exit: Exit.Exit<Answer<A>, CloroError>,
    interrupted: Effect.Effect<void>
  ): Effect.Effect<void> =>
    Exit.match(exit, {
      onFailure: (cause) =>
        Option.match(Cause.failureOption(cause), {
          onSome: (error) => {
            const charged = chargeOfFailure(error, billing.estimate)
            if (charged !== undefined) return settle(reservation, charged, usageOf(error)?.credits.remaining)
            // Sent, never answered: cloro may have billed it. Counted apart, not dropped.
            return (error._tag === "Timeout" || error._tag === "TransportError") && error.mayBeCharged
              ? reservation.settleUncertain(billing.estimate)
              : reservation.release
          },
          onNone: () => interrupted
        }),
      // Without X-Credits-Charged, count the estimate: what cloro prices the call at.
      onSuccess: (answer) =>
        settle(reservation, answer.usage.credits.charged ?? billing.estimate, answer.usage.credits.remaining)
    })
  return Effect.disconnect(Effect.flatMap(Ref.make<Sent<A>>(Option.none()), (lastSent) =>
    Effect.acquireUseRelease(
      credits.reserve(billing.maxCost, billing.tag),
      () => unbilled(services, finishOnceSent(send, lastSent), call),
      (reservation, exit) =>
        end(
          reservation,
          exit,
          // Interrupted: book the last exchange's outcome, if one was sent.
          Effect.flatMap(Ref.get(lastSent), (sent) =>
            Option.match(sent, {
              onNone: () => reservation.release,
              onSome: (outcome) => end(reservation, outcome, reservation.release)
            }))
        )
    )))
}

/**
 * Once a request is handed to the transport, the exchange runs to its answer
 * or its own timeout even if the caller is interrupted meanwhile, and its
 * outcome is recorded, so that an interrupted billed call is still booked.
 * It runs in a fiber of its own that the caller waits for uninterruptibly: a
 * child fiber would be interrupted with its parent, and the exchange itself
 * must stay interruptible for its timeout to fire.
 */
const finishOnceSent = <A>(
  send: (call: Call<A>) => Effect.Effect<Answer<A>, SendError>,
  lastSent: Ref.Ref<Sent<A>>
) =>
(call: Call<A>): Effect.Effect<Answer<A>, SendError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(
      Effect.forkDaemon(Effect.onExit(restore(send(call)), (exit) => Ref.set(lastSent, Option.some(exit)))),
      Fiber.join
    )
  )
