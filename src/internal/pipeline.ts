/**
 * The path of one request through the limits, as the design card draws it:
 *
 *   reserve credits → concurrency slot → rate token → send → read usage
 *   (feed limiters, ledger, monitor) → decode → release slot → retry on a
 *   retryable error (the slot is not held while waiting out a backoff).
 *
 * Every service is optional: `CloroClient` picks up whichever are in its
 * context, so the bare client works with only a config and an HttpClient.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { CloroError } from "../CloroError.js"
import type { CreditsShape, Reservation } from "../Credits.js"
import * as RetryPolicy from "../RetryPolicy.js"
import type { UsageMonitorShape } from "../UsageMonitor.js"
import * as Usage from "../Usage.js"
import type { Answer, Call, SendError } from "./http.js"
import * as Telemetry from "./telemetry.js"

/** What the pipeline needs of a concurrency limiter. */
export interface SlotGate {
  readonly withPermit: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CloroError, R>
  readonly learn: (limit: number) => Effect.Effect<void>
  readonly size: Effect.Effect<number>
}

/** What the pipeline needs of a rate limiter. */
export interface RateGate {
  readonly take: (path: string) => Effect.Effect<void, CloroError>
  readonly learn: (
    path: string,
    rate: { readonly limit?: number | undefined; readonly remaining?: number | undefined }
  ) => Effect.Effect<void>
}

/** The services a pipeline runs through; each may be absent. */
export interface Services {
  readonly slots: Option.Option<SlotGate>
  readonly rate: Option.Option<RateGate>
  readonly credits: Option.Option<CreditsShape>
  readonly monitor: Option.Option<UsageMonitorShape>
  readonly retry: RetryPolicy.RetryPolicyShape
}

/** Facts about a call that only the pipeline needs. */
export interface Billing {
  /** Credits the call will cost if it succeeds (0 for free calls). */
  readonly estimate: number
  /** The caller's tag for spend accounting. */
  readonly tag: string | undefined
  /** Engine name for spend metrics. */
  readonly engine: string | undefined
}

/**
 * How many times a request that hit a concurrency 429 may go straight back to
 * the limiter's line after shrinking it, before it falls back to the timer.
 */
const MAX_SLOT_REQUEUES = 3

const usageOf = (error: CloroError): Usage.Usage | undefined => ("usage" in error ? error.usage : undefined)

/** Runs a call through the pipeline. */
export const run = <A>(
  services: Services,
  send: (call: Call<A>) => Effect.Effect<Answer<A>, SendError>,
  call: Call<A>,
  billing: Billing
): Effect.Effect<Answer<A>, CloroError> => {
  const { credits, monitor, rate, retry, slots } = services
  const usesSlot = call.kind === "monitor"
  const route = call.route ?? call.path

  const learn = (usage: Usage.Usage) => {
    const slotLimit = usesSlot ? usage.concurrency.limit : undefined
    return Effect.all([
      Option.match(rate, {
        onNone: () => Effect.void,
        onSome: (gate) => gate.learn(route, usage.rateLimit)
      }),
      slotLimit === undefined
        ? Effect.void
        : Option.match(slots, { onNone: () => Effect.void, onSome: (gate) => gate.learn(slotLimit) }),
      Option.match(monitor, { onNone: () => Effect.void, onSome: (m) => m.observe(call.path, usage) })
    ], { discard: true })
  }

  // Built only once admitted: thousands of calls may wait for a slot, and each
  // would otherwise hold a fully built HTTP request and its effect tree.
  const wire = Effect.zipRight(
    Option.match(rate, {
      onNone: () => Effect.void,
      onSome: (gate) => Telemetry.waitFor(call, "rate admission", (admitted) => Effect.zipRight(gate.take(route), admitted))
    }),
    Effect.suspend(() => send(call))
  ).pipe(
    Effect.tap((answer) => learn(answer.usage)),
    Effect.tapError((error) => {
      const usage = usageOf(error)
      return Effect.zipRight(
        usage === undefined ? Effect.void : learn(usage),
        Option.match(monitor, { onNone: () => Effect.void, onSome: (m) => m.recordError(call.path, error) })
      )
    })
  )

  /**
   * One attempt: the slot is held only while the request is on the wire. A
   * concurrency 429 that our own limiter explains (the server's limit is below
   * the size we were using) goes straight back to the limiter's line, which now
   * has the right size: a slot frees when one of our own requests ends, so
   * sleeping would only waste time.
   */
  const attempt = (requeues: number): Effect.Effect<Answer<A>, CloroError> =>
    Option.match(usesSlot ? slots : Option.none(), {
      onNone: () => wire,
      onSome: (gate) =>
        // The size is read once admitted: it may shrink while the call waits in
        // line, and only the size that let this call in can explain its 429.
        Telemetry.waitFor(call, "a concurrency slot", (admitted) =>
          gate.withPermit(Effect.zipRight(
            admitted,
            Effect.flatMap(gate.size, (sizeAdmitted) =>
              Effect.map(Effect.either(wire), (result) => ({ result, sizeAdmitted })))
          ))).pipe(
            Effect.flatMap(({ result, sizeAdmitted }) =>
              Either.match(result, {
                onRight: Effect.succeed,
                onLeft: (error) =>
                  error._tag === "ConcurrentLimitExceeded" && error.limit !== undefined &&
                    error.limit < sizeAdmitted && requeues < MAX_SLOT_REQUEUES
                    ? Effect.zipRight(
                      Effect.zipRight(Telemetry.logRequeue(call, error.limit, sizeAdmitted), gate.learn(error.limit)),
                      attempt(requeues + 1)
                    )
                    : Effect.fail(error)
              })
            )
          )
    })

  // After a timeout or a dropped connection cloro may have acted on the call;
  // sending a non-idempotent call again could create a second task.
  const ambiguous = (error: CloroError) => error._tag === "Timeout" || error._tag === "TransportError"
  const retrySafe = call.idempotent === false
    ? Schedule.whileInput(retry.schedule, (error: CloroError) => !ambiguous(error))
    : retry.schedule

  const schedule = () =>
    retrySafe.pipe(
      // The output becomes the delay before the next attempt, for the debug log.
      Schedule.delays,
      // A check runs only once the schedule has decided to go on (`tapInput`
      // would also count the failure that ends the retries).
      Schedule.checkEffect((error: CloroError, delay) =>
        Effect.as(
          Effect.zipRight(
            Option.match(monitor, { onNone: () => Effect.void, onSome: (m) => m.recordRetry(call.path, error) }),
            Telemetry.logRetry(call, error, delay)
          ),
          true
        )
      )
    )

  // The schedule and its driver are built only after a first failure: most
  // calls never need them, and thousands may be waiting for a slot at once.
  // Replaying that failure as the schedule's first input keeps `Effect.retry`'s
  // semantics exactly.
  const retried = attempt(0).pipe(
    Effect.catchAll((first) =>
      Effect.flatMap(Ref.make(true), (replayFirst) => {
        const again: Effect.Effect<Answer<A>, CloroError> = Effect.flatMap(
          Ref.getAndSet(replayFirst, false),
          (replay) => (replay ? Effect.fail(first) : attempt(0))
        )
        return Effect.retry(again, schedule())
      })
    ),
    Effect.tap(() => retry.onSuccess)
  )

  if (billing.estimate <= 0 || Option.isNone(credits)) return retried

  const ledger = credits.value
  const settle = (reservation: Reservation, usage: Usage.Usage) => {
    // Without X-Credits-Charged, count the estimate: better to over- than under-count spend.
    const charged = usage.credits.charged ?? billing.estimate
    return Effect.zipRight(
      ledger.settle(reservation, charged, usage.credits.remaining),
      Option.match(monitor, {
        onNone: () => Effect.void,
        onSome: (m) => m.recordSpend(billing.engine ?? call.path, charged)
      })
    )
  }
  return Effect.acquireUseRelease(
    ledger.reserve(billing.estimate, billing.tag),
    () => retried,
    (reservation: Reservation, exit) =>
      Exit.match(exit, {
        onFailure: (cause) =>
          Option.match(Cause.failureOption(cause), {
            // A 2xx whose body did not decode was answered, so cloro charged it.
            onSome: (error) =>
              error._tag === "ResponseDecodeError" && error.status !== undefined && error.status >= 200 &&
                error.status < 300
                ? settle(reservation, error.usage ?? Usage.empty)
                : ledger.release(reservation),
            onNone: () => ledger.release(reservation)
          }),
        onSuccess: (answer) => settle(reservation, answer.usage)
      })
  )
}
