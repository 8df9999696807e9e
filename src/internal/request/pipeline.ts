/**
 * The path of one request, as the README draws it:
 *
 *   concurrency slot (taken before the call is built: `slotFirst`) → span,
 *   reserve the most it can cost → rate admission → send → read usage (feed
 *   limiters, ledger, monitor) → decode → release slot → resend on a
 *   retryable error (the slot is not held while waiting out a backoff) →
 *   settle → end span.
 *
 * The steps that are easy to miss are named functions here and in
 * `attempts.ts`:
 * - `slotFirst`: a slot-using call waits in line holding nothing but its
 *   fiber; its span, reservation and pipeline are opened once admitted, and
 *   its first attempt runs on that slot;
 * - `HandedOver`: on the in-memory limiter a waiting billed call is one entry
 *   in the line and one suspended `Effect.async`; the fiber that frees a slot
 *   starts the next call's background fiber on it in the same step;
 * - `inBackground`: a billed call runs in one fiber of its own, in the client
 *   layer's scope, so an interrupted caller returns at once while an exchange
 *   on the wire finishes (`finishOnceSent`) and is booked;
 * - `replayFirstFailure` (attempts.ts): the retry schedule is built only
 *   after a first failure, which is replayed into `Effect.retry`;
 * - `requeueOwnConcurrency429` (attempts.ts, with `isOwnConcurrency429`): a
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
import * as Context from "effect/Context"
import * as FiberRef from "effect/FiberRef"
import type * as FiberId from "effect/FiberId"
import * as MutableRef from "effect/MutableRef"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type { CloroError } from "../../CloroError.js"
import type { Reservation } from "../../Credits.js"
import type * as WaitQueue from "../limits/waitQueue.js"
import type { HandOver, Waiter } from "../limits/waitQueueSlots.js"
import type { Answer, Call, SendError } from "./http.js"
import {
  type Attempts,
  attempts,
  type Fork,
  type RateGate,
  replayFirstFailure,
  type Send,
  type Services,
  type SlotGate,
  usageOf
} from "./attempts.js"
import * as Telemetry from "./telemetry.js"

export { type Fork, type RateGate, replayFirstFailure, type Send, type Services, type SlotGate }

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
    return Telemetry.span(call, label.tag, label.operation, services.envDebug)(attempts(services, send, call).all)
  }
  const fork = services.fork ?? Effect.forkDaemon
  const debug = Telemetry.withDebug(services.envDebug ?? false)
  const { handOver, permit } = services.slots
  if (billed && call.kind === "monitor" && handOver !== undefined) {
    return debug(handedOver(services, call, handOver, (taken) => opened(services, send, call, billing, label, taken, true)))
  }
  if (billed && call.kind === "monitor" && permit !== undefined) {
    return debug(admittedThenInBackground(fork, call, permit, (taken) => opened(services, send, call, billing, label, taken, true)))
  }
  const program = debug(opened(services, send, call, billing, label, undefined, billed))
  return billed ? inBackground(fork, program) : program
}

/**
 * A slot taken before the call's fiber was started (how to give it back;
 * giving it back twice is harmless), or why the wait for one was refused.
 */
type Taken = Either.Either<Effect.Effect<void>, CloroError>

/**
 * How many handed-over calls are being started, one inside the other, on
 * this thread right now. A call that ends without waiting for anything (a
 * refused reservation, a synchronous test client) gives its slot back while
 * it is being started, which starts the next one inside it: past a few
 * levels the next call is started on the scheduler instead, so a line of
 * thousands cannot overflow the stack.
 */
const startDepth = MutableRef.make(0)
const maxStartDepth = 16

const noResume = (): void => {}

/**
 * A billed call on the in-memory limiter (`HandOver`). The caller waits in
 * line as this one object and one suspended `Effect.async`, not as a built
 * call. Whoever frees a slot calls `onSlot` in the same synchronous step: it
 * starts the call's background fiber right there (`Runtime.runFork` with the
 * caller's context and fiber refs), so no fiber is woken or scheduled
 * between one call's answer and the next call's request. That fiber owns the
 * slot, gives it back when the first attempt ends (or when it ends, if
 * sooner), and hands its outcome to the caller.
 *
 * An interrupted caller returns at once: in line, it steps out; running, its
 * fiber is interrupted in the background, where an exchange on the wire
 * finishes and is booked (`finishOnceSent`); a slot handed to a caller that
 * has gone is given back. A refused wait (`maxWaiting`) runs the call with
 * that refusal as its first failure.
 *
 * Mutable on purpose, like the limiter's line: each change happens inside
 * one synchronous step (the limiter's step, the async registration, its
 * canceler, the fiber's end), which nothing can interleave with on the one
 * JS thread, and one object per waiting call is what keeps thousands of
 * them cheap.
 */
class HandedOver<A> {
  private stage: "waiting" | "running" | "left" = "waiting"
  private node: WaitQueue.Node<Waiter> | undefined = undefined
  private fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  /** Where the outcome goes: set by `register` before anything can start. */
  private resume: (outcome: Exit.Exit<A, CloroError>) => void = noResume
  private released = false

  constructor(
    /** The waiting caller, whose context and fiber refs the call's fiber starts with. */
    private readonly caller: Fiber.RuntimeFiber<unknown, unknown>,
    /** The caller's runtime flags, interruptible so that leaving can stop the call's fiber. */
    private readonly flags: RuntimeFlags.RuntimeFlags,
    private readonly callerId: FiberId.FiberId,
    private readonly line: HandOver,
    private readonly program: (taken: Taken) => Effect.Effect<A, CloroError>,
    private readonly adopt: ((fiber: Fiber.RuntimeFiber<unknown, unknown>) => void) | undefined
  ) {}

  /** The `Effect.async` registration: joins the line, or starts at once on a free slot. */
  readonly register = (resume: (outcome: Exit.Exit<A, CloroError>) => void): Effect.Effect<void> => {
    this.resume = resume
    const joined = this.line.join(this.onSlot)
    switch (joined._tag) {
      case "Acquired":
        this.start(undefined)
        break
      case "Full":
        this.start(joined.error)
        break
      case "Queued":
        this.node = joined.node
    }
    return Effect.sync(this.leave)
  }

  /** Run by whoever hands this call its slot. */
  private readonly onSlot = (): void => {
    if (this.stage === "left") this.line.release()
    else this.start(undefined)
  }

  private readonly giveBack = (): void => {
    if (this.released) return
    this.released = true
    this.line.release()
  }

  /** Starts the call's fiber, on its slot or with the refusal of its wait as its first failure. */
  private start(refused: CloroError | undefined): void {
    this.stage = "running"
    const owned = refused === undefined ? Effect.sync(this.giveBack) : Effect.void
    const taken: Taken = refused === undefined ? Either.right(owned) : Either.left(refused)
    // The slot back (harmless if the first attempt gave it already) and the outcome to the caller,
    // in one step after the program, whatever its end: the mask makes it run even on interruption.
    const end = (exit: Exit.Exit<A, CloroError>) =>
      Effect.zipRight(
        Effect.sync(() => {
          if (refused === undefined) this.giveBack()
          this.resume(exit)
        }),
        exit
      )
    const depth = MutableRef.get(startDepth)
    MutableRef.set(startDepth, depth + 1)
    try {
      // Uninterruptible until the slot's finalizer is in place, even if the start is scheduled.
      // Made only now, not while waiting: taking a fiber's refs copies them, and a waiting call
      // should hold no more than its place in line (the caller is suspended, so they are as they were).
      const runtime = Runtime.make({
        context: this.caller.currentContext,
        fiberRefs: this.caller.getFiberRefs(),
        runtimeFlags: this.flags
      })
      this.fiber = Runtime.runFork(runtime)(
        Effect.uninterruptibleMask((restore) => Effect.flatMap(Effect.exit(restore(this.program(taken))), end)),
        { immediate: depth < maxStartDepth }
      )
    } finally {
      MutableRef.set(startDepth, depth)
    }
    this.adopt?.(this.fiber)
  }

  /** The caller was interrupted: step out of the line, or leave the running call to finish in the background. */
  private readonly leave = (): void => {
    if (this.stage === "waiting") {
      this.stage = "left"
      if (this.node !== undefined) this.line.leave(this.node)
    } else if (this.stage === "running") {
      this.fiber?.unsafeInterruptAsFork(this.callerId)
    }
  }
}

const handedOver = <A>(
  services: Services,
  call: Telemetry.CallInfo,
  line: HandOver,
  program: (taken: Taken) => Effect.Effect<A, CloroError>
): Effect.Effect<A, CloroError> =>
  Telemetry.waitFor(call, "a concurrency slot", (admitted) =>
    Effect.flatMap(Effect.getRuntimeFlags, (flags) =>
    Effect.withFiberRuntime((caller) => {
      // The caller's flags (op supervision, cooperative yielding), interruptible so that leaving can stop it.
      const entry = new HandedOver(
        caller,
        RuntimeFlags.enable(flags, RuntimeFlags.Interruption),
        caller.id(),
        line,
        (taken) => Effect.zipRight(admitted, program(taken)),
        services.adopt
      )
      return Effect.async<A, CloroError>(entry.register)
    })))

/**
 * A billed call on a limiter that offers `permit`: the caller waits for its
 * slot in its own fiber, holding nothing else, and only once admitted (or
 * refused) forks the call's background fiber, which holds the slot from
 * then on and gives it back when its first attempt ends. So a waiting call
 * costs one fiber, as in `slotFirst`, and an interrupted one still returns
 * at once. The fork happens in the same uninterruptible step as the
 * admission, so a slot taken is never left without its owner.
 */
const admittedThenInBackground = <A, E>(
  fork: Fork,
  call: Telemetry.CallInfo,
  permit: Effect.Effect<void, CloroError, Scope.Scope>,
  program: (taken: Taken) => Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Scope.make(), (scope) =>
      Effect.flatMap(
        Effect.exit(restore(Telemetry.waitFor(call, "a concurrency slot", (admitted) =>
          Effect.zipRight(Scope.extend(permit, scope), admitted)))),
        (exit): Effect.Effect<A, E> => {
          if (Exit.isFailure(exit)) {
            const refused = Cause.failureOption(exit.cause)
            // Interrupted while waiting: nothing held, nothing sent.
            if (Option.isNone(refused)) {
              return Effect.zipRight(Scope.close(scope, exit), Effect.failCause(Cause.stripFailures(exit.cause)))
            }
            return Effect.zipRight(
              Scope.close(scope, Exit.void),
              joined(restore, fork, program(Either.left(refused.value)), Effect.void)
            )
          }
          const release = Scope.close(scope, Exit.void)
          return joined(restore, fork, program(Either.right(release)), release)
        }
      ))
  )

/**
 * Forks `program` and joins it; interrupting the caller interrupts the fiber
 * in the background. `finalizer` is installed before `program` becomes
 * interruptible, so it runs even if the fiber is interrupted before it starts.
 */
const joined = <A, E>(
  restore: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>,
  fork: Fork,
  program: Effect.Effect<A, E>,
  finalizer: Effect.Effect<void>
): Effect.Effect<A, E> =>
  Effect.flatMap(fork(Effect.ensuring(restore(program), finalizer)), (fiber) =>
    Effect.onInterrupt(
      restore(Fiber.join(fiber)),
      () => Effect.fiberIdWith((id) => Fiber.interruptAsFork(fiber, id))
    ))

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
  Effect.uninterruptibleMask((restore) => joined(restore, fork, program, Effect.void))

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
  label: Label,
  taken?: Taken,
  ownFiber = false
): Effect.Effect<Answer<A>, CloroError> => {
  const { credits, monitor, slots } = services
  const billed = billing.maxCost > 0
  // In a fiber of its own (a billed call's background fiber), whose rest is this call, the span
  // becomes the parent of what follows in one step; elsewhere each part runs under it in a region.
  const adopting = (span: Tracer.Span) => FiberRef.update(FiberRef.currentContext, (context) => Context.add(context, Tracer.ParentSpan, span))
  const under = ownFiber
    ? <X, Y>(effect: Effect.Effect<X, Y>, _span: Tracer.Span) => effect
    : <X, Y>(effect: Effect.Effect<X, Y>, span: Tracer.Span) => Effect.withParentSpan(effect, span)
  return Effect.flatMap(Ref.make<Opened | undefined>(undefined), (state) => {
    const lastSent = billed ? Ref.unsafeMake<Sent<A>>(Option.none()) : undefined

    /** Opens the span, then reserves: uninterruptible, so whatever is opened is recorded for `close`. */
    const open: Effect.Effect<Tracer.Span, CloroError> = Effect.uninterruptible(
      Effect.flatMap(Telemetry.openSpan(call, label.tag, label.operation), (span) =>
        Effect.zipRight(
          ownFiber ? Effect.zipRight(adopting(span), Ref.set(state, { span, reservation: undefined })) : Ref.set(state, { span, reservation: undefined }),
          billed
            ? Effect.flatMap(credits.reserve(billing.maxCost, billing.tag), (reservation) =>
              Effect.as(Ref.set(state, { span, reservation }), span))
            : Effect.succeed(span)
        ))
    )
    // The attempts are built only once the call is admitted: a waiting call holds none of them.
    const openAll: Effect.Effect<Built<A>, CloroError> = Effect.map(open, (span) => ({
      span,
      under,
      steps: attempts(services, lastSent === undefined ? send : finishOnceSent(send, lastSent), call)
    }))

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
      ? Effect.flatMap(openAll, ({ span, steps }) => under(steps.all, span))
      : Effect.flatMap(
        taken === undefined ? slotFirst(slots, call, openAll) : onTaken(slots, taken, openAll),
        ({ first, sizeAdmitted, span, steps }) => under(steps.after(first, sizeAdmitted), span))
    return Effect.onExit(body, close)
  })
}

/** An admitted call's span and attempts. */
interface Built<A> {
  readonly span: Tracer.Span
  /** Runs an effect under the span (a no-op where the span was made the fiber's parent). */
  readonly under: <X, Y>(effect: Effect.Effect<X, Y>, span: Tracer.Span) => Effect.Effect<X, Y>
  readonly steps: Attempts<A>
}

/** The first attempt's outcome, made on the slot taken before the call was built. */
interface First<A> extends Built<A> {
  readonly first: Either.Either<Answer<A>, CloroError>
  readonly sizeAdmitted: number | undefined
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
  open: Effect.Effect<Built<A>, CloroError>
): Effect.Effect<First<A>, CloroError> =>
  Effect.flatMap(
    Telemetry.waitFor(call, "a concurrency slot", (admitted) =>
      Effect.either(slots.withPermit(Effect.zipRight(admitted, Effect.exit(firstOnSlot(slots, open)))))),
    (taken) =>
      Either.match(taken, {
        // Admitted: the first attempt's outcome, or why the call could not be opened.
        onRight: (exit) => exit,
        onLeft: (refused) => refusedFirst(open, refused)
      })
  )

/** Opens the call on the slot it holds and makes its first attempt there. */
const firstOnSlot = <A>(slots: SlotGate, open: Effect.Effect<Built<A>, CloroError>): Effect.Effect<First<A>, CloroError> =>
  Effect.flatMap(open, ({ span, steps, under }) =>
    Effect.flatMap(slots.size, (sizeAdmitted) =>
      Effect.map(
        Effect.either(under(steps.wire, span)),
        (first): First<A> => ({ first, sizeAdmitted, span, steps, under })
      )))

/** A refused wait for a slot is the first attempt's failure. */
const refusedFirst = <A>(open: Effect.Effect<Built<A>, CloroError>, refused: CloroError): Effect.Effect<First<A>, CloroError> =>
  Effect.map(open, ({ span, steps, under }): First<A> => ({ first: Either.left(refused), sizeAdmitted: undefined, span, steps, under }))

/**
 * `slotFirst` for a slot already taken by the caller (`admittedThenInBackground`):
 * the first attempt runs on it and gives it back when it ends; a refused wait
 * is that first attempt's failure.
 */
const onTaken = <A>(
  slots: SlotGate,
  taken: Taken,
  open: Effect.Effect<Built<A>, CloroError>
): Effect.Effect<First<A>, CloroError> =>
  Either.match(taken, {
    onLeft: (refused) => refusedFirst(open, refused),
    // Given back once the first attempt ends; an interrupted call's slot is given back by the
    // finalizer of whoever took it (`HandedOver`, `joined`), so no finalizer region is needed here.
    onRight: (release) => Effect.flatMap(Effect.exit(firstOnSlot(slots, open)), (exit) => Effect.zipRight(release, exit))
  })

/**
 * Once a request is handed to the transport, the exchange runs to its answer
 * or its own timeout even if the call's fiber is interrupted meanwhile
 * (`Http.send` with `shielded`), and its outcome is recorded, so that an
 * interrupted billed call is still booked. The call's background fiber
 * (`inBackground`) waits for it uninterruptibly, keeping its slot.
 */
const finishOnceSent = <A>(send: Send<A>, lastSent: Ref.Ref<Sent<A>>): Send<A> => (call) =>
  // Uninterruptible throughout, so the outcome is recorded by plain sequencing rather than a finalizer.
  Effect.uninterruptible(
    Effect.flatMap(Effect.exit(send(call, true)), (exit) => Effect.zipRight(Ref.set(lastSent, Option.some(exit)), exit))
  )
