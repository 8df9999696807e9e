/**
 * The attempts of one call: rate admission, send and usage read (`wire`), a
 * concurrency slot around each, a concurrency 429 that our own limiter
 * explains requeued into the limiter's line (`requeueOwnConcurrency429`,
 * with `isOwnConcurrency429`), and resends decided by the retry policy
 * (`replayFirstFailure`: the schedule is built only after a first failure,
 * which is replayed into `Effect.retry` as its first input). The ledger, the
 * span and the slot taken before the call is built are `pipeline.ts`'s.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { CloroError } from "../../CloroError.js"
import type { CreditsShape } from "../../Credits.js"
import type * as RetryPolicy from "../../RetryPolicy.js"
import type { UsageMonitorShape } from "../../UsageMonitor.js"
import type { HandOver } from "../limits/waitQueueSlots.js"
import type * as Usage from "../../Usage.js"
import type { Answer, Call, SendError } from "./http.js"
import * as Telemetry from "./telemetry.js"

/**
 * Sends one call; `shielded`, the exchange runs to its answer or its own
 * timeout even when the calling fiber is interrupted (`Http.send`).
 */
export type Send<A> = (call: Call<A>, shielded?: boolean) => Effect.Effect<Answer<A>, SendError>

/** What the pipeline needs of a concurrency limiter. */
export interface SlotGate {
  readonly withPermit: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CloroError, R>
  /** A slot held until the scope closes, when the limiter offers one (`ConcurrencyLimiterShape.permit`). */
  readonly permit?: Effect.Effect<void, CloroError, Scope.Scope> | undefined
  /** The in-memory limiter's Scope-free hand-over of a slot (`handOverOf`), when it offers one. */
  readonly handOver?: HandOver | undefined
  readonly learn: (limit: number) => Effect.Effect<void>
  /** The number of slots; `undefined` when unlimited. */
  readonly size: Effect.Effect<number | undefined>
}

/** What the pipeline needs of a rate limiter. */
export interface RateGate {
  readonly take: (path: string) => Effect.Effect<void, CloroError>
  /** A start that counts until the answer is back, when the limiter offers one (`RateLimiterShape.permit`). */
  readonly permit?: ((path: string) => Effect.Effect<void, CloroError, Scope.Scope>) | undefined
  /**
   * `permit` around one effect, without a `Scope` (`RateLimiterShape.withPermit`); preferred when offered.
   * `read` gives the limiter the answer's `X-RateLimit-*` reading, which can let more calls start at once.
   */
  readonly withPermit?:
    | (<A, E, R>(
      path: string,
      effect: Effect.Effect<A, E, R>,
      read?: (exit: Exit.Exit<A, E>) => Usage.Usage["rateLimit"] | undefined
    ) => Effect.Effect<A, E | CloroError, R>)
    | undefined
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
  /** Starts a billed call's background fiber; a daemon fiber when not given. */
  readonly fork?: Fork | undefined
  /**
   * Puts a billed call's background fiber started elsewhere (by the fiber
   * that handed it its slot) where `fork` would have: the client layer's
   * scope. Left a daemon when not given.
   */
  readonly adopt?: ((fiber: Fiber.RuntimeFiber<unknown, unknown>) => void) | undefined
  /** Whether `CLORO_LOG` asked for debug logging when the client was built (`Telemetry.envDebug`). */
  readonly envDebug?: boolean | undefined
}

/** How a background fiber is started: in the client layer's scope, or as a daemon. */
export type Fork = <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<Fiber.RuntimeFiber<A, E>>

/** The usage an error carries, when cloro answered. */
export const usageOf = (error: CloroError): Usage.Usage | undefined => ("usage" in error ? error.usage : undefined)

/**
 * Replaying the first failure into `Effect.retry`: the first attempt runs
 * bare, and only when it fails are the schedule and its driver built (most
 * calls never need them, and thousands may be waiting for a slot at once).
 * `Effect.retry` then starts from an effect that fails once more with that
 * same first error, without sending anything, before running `again` (the
 * later attempts; `first` by default), so the schedule sees exactly the
 * inputs it would have seen had it wrapped the first attempt:
 * `Effect.retry`'s semantics are kept exactly.
 */
export const replayFirstFailure = <A, E, R, Out, R2, R3 = R>(
  first: Effect.Effect<A, E, R>,
  schedule: () => Schedule.Schedule<Out, E, R2>,
  again?: Effect.Effect<A, E, R3>
): Effect.Effect<A, E, R | R2 | R3> =>
  Effect.catchAll(first, (failure) =>
    Effect.flatMap(Ref.make(true), (replayFirst) => {
      const next: Effect.Effect<A, E, R | R3> = again ?? first
      const retried: Effect.Effect<A, E, R | R3> = Effect.flatMap(
        Ref.getAndSet(replayFirst, false),
        (replay) => (replay ? Effect.fail(failure) : next)
      )
      return Effect.retry(retried, schedule())
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
/** A call's attempts: the first (`wire` on a held slot, or `all`), and what follows a first outcome. */
export interface Attempts<A> {
  /** One exchange: rate admission, send, usage read. No slot. */
  readonly wire: Effect.Effect<Answer<A>, CloroError>
  /** The whole call: every attempt takes its own slot. */
  readonly all: Effect.Effect<Answer<A>, CloroError>
  /** The rest of a call whose first attempt ran on a slot taken beforehand. */
  readonly after: (first: Either.Either<Answer<A>, CloroError>, sizeAdmitted: number | undefined) => Effect.Effect<Answer<A>, CloroError>
}

/** Limits, rate, retries: everything but the ledger and the span. */
export const attempts = <A>(
  services: Services,
  send: Send<A>,
  call: Call<A>
): Attempts<A> => {
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
  // With a permit, the start counts against the rate window until the answer is back.
  const { permit, withPermit } = rate
  const sent = Effect.suspend(() => send(call))
  // what the answer (a success or an error cloro sent) said of the rate window, for the limiter's count of
  // what the server counted; nothing when no answer came (a timeout, a lost connection, an interrupt)
  const rateRead = (exit: Exit.Exit<Answer<A>, CloroError>) =>
    Exit.isSuccess(exit)
      ? exit.value.usage.rateLimit
      : Exit.isFailure(exit) && exit.cause._tag === "Fail"
      ? usageOf(exit.cause.error)?.rateLimit
      : undefined
  const wire = (withPermit !== undefined
    ? Telemetry.waitFor(call, "rate admission", (admitted) => withPermit(route, Effect.zipRight(admitted, sent), rateRead))
    : permit !== undefined
    ? Effect.scoped(Effect.zipRight(
      Telemetry.waitFor(call, "rate admission", (admitted) => Effect.zipRight(permit(route), admitted)),
      sent
    ))
    : Effect.zipRight(
      Telemetry.waitFor(call, "rate admission", (admitted) => Effect.zipRight(rate.take(route), admitted)),
      sent
    )).pipe(
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

  /** An attempt's outcome on its slot: a concurrency 429 our own limiter explains is requeued. */
  const outcome = (
    result: Either.Either<Answer<A>, CloroError>,
    sizeAdmitted: number | undefined,
    requeues: number
  ): Effect.Effect<Answer<A>, CloroError> =>
    Either.match(result, {
      onRight: Effect.succeed,
      onLeft: (error) =>
        sizeAdmitted !== undefined && isOwnConcurrency429(error, sizeAdmitted, requeues, retry.options.slotRequeues)
          ? requeueOwnConcurrency429(error, sizeAdmitted, requeues)
          : Effect.fail(error)
    })

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
        ))).pipe(Effect.flatMap(({ result, sizeAdmitted }) => outcome(result, sizeAdmitted, requeues)))

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

  const retried = (first: Effect.Effect<Answer<A>, CloroError>) =>
    replayFirstFailure(first, schedule, attempt(0)).pipe(Effect.tap(() => retry.onSuccess))

  return {
    wire,
    // Built when asked for: a call whose first attempt ran on a slot taken beforehand never needs it.
    get all() {
      return retried(attempt(0))
    },
    after: (first, sizeAdmitted) => retried(outcome(first, sizeAdmitted, 0))
  }
}
