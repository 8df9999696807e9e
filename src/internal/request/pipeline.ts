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
import type * as Tracer from "effect/Tracer"
import type { CloroError } from "../../CloroError.js"
import type { CreditsShape, Reservation } from "../../Credits.js"
import type * as RetryPolicy from "../../RetryPolicy.js"
import type { UsageMonitorShape } from "../../UsageMonitor.js"
import * as Usage from "../../Usage.js"
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
  /** Starts a billed call's background fiber; a daemon fiber when not given. */
  readonly fork?: Fork | undefined
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

/** How the call's span is named and tagged. */
export interface Label {
  /** The caller's tag for spend accounting, also a span attribute. */
  readonly tag?: string | undefined
  /** The public function called (`monitor.chatgpt`), which names the span. */
  readonly operation?: string | undefined
}

const noLabel: Label = {}

/**
 * Runs a call through the pipeline, inside its span.
 *
 * A slot-using call takes its concurrency slot first (`slotFirst`), before
 * its span, reservation and pipeline are built: a waiting call holds its
 * fiber and its place in line, nothing more. A billed call runs in one fiber
 * of its own (`inBackground`), so that an exchange on the wire can finish
 * after the caller has gone.
 */
export const run = <A>(
  services: Services,
  send: Send<A>,
  call: Call<A>,
  billing: Billing,
  label: Label = noLabel
): Effect.Effect<Answer<A>, CloroError> => {
  const billed = billing.maxCost > 0
  if (!billed && call.kind !== "monitor") {
    // Free calls (reference, async): nothing to wait for before building, nothing to finish after.
    return Telemetry.span(call, label.tag, label.operation)(attempts(services, send, call).all)
  }
  const program = Telemetry.withDebug(opened(services, send, call, billing, label))
  return billed ? inBackground(services.fork ?? Effect.forkDaemon, program) : program
}

/** How a background fiber is started: in the client layer's scope, or as a daemon. */
export type Fork = <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<Fiber.RuntimeFiber<A, E>>

/**
 * Runs `program` in a fiber of its own that the caller joins. Interrupting
 * the caller returns at once and interrupts that fiber in the background:
 * whatever it was waiting for stops at once, while an exchange already on
 * the wire (shielded by `finishOnceSent`) runs to its answer or its timeout
 * and is then booked. One fiber per billed call; `fork` puts it in the client
 * layer's scope, so closing the layer waits for it (within the exchange's
 * timeout) instead of leaving it running.
 */
const inBackground = <A, E>(fork: Fork, program: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(fork(restore(program)), (fiber) =>
      Effect.onInterrupt(
        restore(Fiber.join(fiber)),
        () => Effect.fiberIdWith((id) => Fiber.interruptAsFork(fiber, id))
      ))
  )

/** What a call opened once admitted: its span, and its reservation when billed. */
interface Opened {
  readonly span: Tracer.Span
  readonly reservation: Reservation | undefined
}

/** What one exchange with cloro ended with. */
type Sent<A> = Option.Option<Exit.Exit<Answer<A>, SendError>>

/**
 * A slot-using or billed call. Its span and reservation are opened once the
 * first slot is held, and ended once the whole call (retries included) is:
 *
 * - the reservation from what really happened on the wire: an answer is
 *   settled from its usage, an error that says what it cost from that, a call
 *   whose answer was lost after sending (`mayBeCharged`) as uncertain, anything
 *   else released; an interrupted call from its last exchange's outcome
 *   (`finishOnceSent` records it), released if nothing was sent;
 * - the span with the call's outcome.
 */
const opened = <A>(
  services: Services,
  send: Send<A>,
  call: Call<A>,
  billing: Billing,
  label: Label
): Effect.Effect<Answer<A>, CloroError> => {
  const { credits, monitor, slots } = services
  const billed = billing.maxCost > 0
  return Effect.flatMap(Ref.make<Opened | undefined>(undefined), (state) => {
    const lastSent = billed ? Ref.unsafeMake<Sent<A>>(Option.none()) : undefined
    const steps = attempts(services, lastSent === undefined ? send : finishOnceSent(send, lastSent), call)

    /** Opens the span, then reserves: uninterruptible, so whatever is opened is recorded for `close`. */
    const open: Effect.Effect<Tracer.Span, CloroError> = Effect.uninterruptible(
      Effect.flatMap(Telemetry.openSpan(call, label.tag, label.operation), (span) =>
        Effect.zipRight(
          Ref.set(state, { span, reservation: undefined }),
          billed
            ? Effect.flatMap(credits.reserve(billing.maxCost, billing.tag), (reservation) =>
              Effect.as(Ref.set(state, { span, reservation }), span))
            : Effect.succeed(span)
        ))
    )

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
    const close = (exit: Exit.Exit<Answer<A>, CloroError>) =>
      Effect.flatMap(Ref.get(state), (opened) => {
        if (opened === undefined) return Effect.void
        const { reservation, span } = opened
        const ended = Telemetry.endSpan(span, exit)
        if (reservation === undefined) return ended
        // Interrupted: book the last exchange's outcome, if one was sent.
        const interrupted = lastSent === undefined ? reservation.release : Effect.flatMap(Ref.get(lastSent), (sent) =>
          Option.match(sent, {
            onNone: () => reservation.release,
            onSome: (outcome) => end(reservation, outcome, reservation.release)
          }))
        return Effect.zipRight(end(reservation, exit, interrupted), ended)
      })

    const body: Effect.Effect<Answer<A>, CloroError> = call.kind !== "monitor"
      ? Effect.flatMap(open, (span) => Effect.withParentSpan(steps.all, span))
      : Effect.flatMap(slotFirst(slots, call, open, steps), ({ first, sizeAdmitted, span }) =>
        Effect.withParentSpan(steps.after(first, sizeAdmitted), span))
    return Effect.onExit(body, close)
  })
}

/** The first attempt's outcome, made on the slot taken before the call was built. */
interface First<A> {
  readonly first: Either.Either<Answer<A>, CloroError>
  readonly sizeAdmitted: number | undefined
  readonly span: Tracer.Span
}

/**
 * Taking the slot first: the call waits for its concurrency slot through the
 * limiter's public `withPermit` (any limiter: in memory, Redis, a test
 * double) before its span, reservation and pipeline are opened, and its
 * first attempt runs on that slot; the slot is given back when that attempt
 * ends (later attempts take theirs as usual, and a backoff holds none). A
 * refused wait (`maxWait`, `maxWaiting`, a limiter that cannot be reached) is
 * that first attempt's failure, so the span, the monitor, the ledger and the
 * retry schedule see it as they see any other.
 */
const slotFirst = <A>(
  slots: SlotGate,
  call: Call<A>,
  open: Effect.Effect<Tracer.Span, CloroError>,
  steps: Attempts<A>
): Effect.Effect<First<A>, CloroError> =>
  Effect.flatMap(
    Telemetry.waitFor(call, "a concurrency slot", (admitted) =>
      Effect.either(slots.withPermit(Effect.zipRight(
        admitted,
        Effect.exit(Effect.flatMap(open, (span) =>
          Effect.flatMap(slots.size, (sizeAdmitted) =>
            Effect.map(
              Effect.either(Effect.withParentSpan(steps.wire, span)),
              (first): First<A> => ({ first, sizeAdmitted, span })
            ))))
      )))),
    (taken) =>
      Either.match(taken, {
        // Admitted: the first attempt's outcome, or why the call could not be opened.
        onRight: (exit) => exit,
        onLeft: (refused) => Effect.map(open, (span): First<A> => ({ first: Either.left(refused), sizeAdmitted: undefined, span }))
      })
  )

/** A call's attempts: the first (`wire` on a held slot, or `all`), and what follows a first outcome. */
interface Attempts<A> {
  /** One exchange: rate admission, send, usage read. No slot. */
  readonly wire: Effect.Effect<Answer<A>, CloroError>
  /** The whole call: every attempt takes its own slot. */
  readonly all: Effect.Effect<Answer<A>, CloroError>
  /** The rest of a call whose first attempt ran on a slot taken beforehand. */
  readonly after: (first: Either.Either<Answer<A>, CloroError>, sizeAdmitted: number | undefined) => Effect.Effect<Answer<A>, CloroError>
}

/** Limits, rate, retries: everything but the ledger and the span. */
const attempts = <A>(
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
    all: retried(attempt(0)),
    after: (first, sizeAdmitted) => retried(outcome(first, sizeAdmitted, 0))
  }
}

/**
 * Once a request is handed to the transport, the exchange runs to its answer
 * or its own timeout even if the call's fiber is interrupted meanwhile
 * (`Http.send` with `shielded`), and its outcome is recorded, so that an
 * interrupted billed call is still booked. The call's background fiber
 * (`inBackground`) waits for it uninterruptibly, keeping its slot.
 */
const finishOnceSent = <A>(send: Send<A>, lastSent: Ref.Ref<Sent<A>>): Send<A> => (call) =>
  Effect.uninterruptible(Effect.onExit(send(call, true), (exit) => Ref.set(lastSent, Option.some(exit))))
