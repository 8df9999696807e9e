/**
 * The timeouts of one client's exchanges, kept by one fiber instead of a
 * timer fiber per exchange.
 *
 * An exchange runs in a fiber of its own (so that a billed one can outlive
 * an interrupted caller); its timeout is an entry in a line per duration,
 * and one fiber of the client's scope sleeps until the earliest entry is due
 * and interrupts that exchange as itself, which is how the exchange's exit
 * tells a timeout from any other interruption. Exchanges of one duration end
 * due in the order they were armed, so each line is a FIFO whose head is its
 * earliest deadline; an exchange that answers leaves its line at once, so a
 * line holds only the exchanges on the wire. The fiber sleeps through the
 * client's `Clock` (the test clock under `TestClock`) and wakes early only
 * when an entry is armed that is due before its current wake-up (a duration
 * shorter than any in use, or the first entry after an idle spell).
 *
 * The client uses it for every exchange when it has a scope: a shielded one
 * (a billed call's) runs in a daemon fiber that an interrupted caller does
 * not reach; an unshielded one (a free call's) in the caller's child fiber,
 * as under `Effect.timeoutFail`, so `TestClock` and supervisors see it and an
 * interrupted caller stops it at once; neither needs a timer fiber of its own.
 *
 * Mutable on purpose, like the limiters' lines: every change is one
 * synchronous step on the one JS thread (arming, an answer, the fiber's
 * wake-up), which nothing can interleave with.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Cause from "effect/Cause"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import type * as Scope from "effect/Scope"
import * as WaitQueue from "../limits/waitQueue.js"

interface Entry {
  readonly deadline: number
  readonly onExpire: (timer: FiberId.FiberId) => void
}

/** One client's timeouts: `exchange` runs an effect in a fiber of its own, with its timeout. */
export class Deadlines {
  private readonly lines = new Map<number, WaitQueue.WaitQueue<Entry>>()
  /** When the fiber wakes next (`Infinity` while idle), and how to wake it sooner. */
  private wakeAt = Infinity
  private wake: Deferred.Deferred<void> | undefined = undefined
  private timer: FiberId.FiberId = FiberId.none

  private constructor(private readonly clock: Clock.Clock) {}

  /** Starts the fiber that keeps `clock`'s deadlines, in the scope. */
  static readonly make: Effect.Effect<Deadlines, never, Scope.Scope> = Effect.flatMap(Effect.clock, (clock) => {
    const self = new Deadlines(clock)
    return Effect.map(Effect.forkScoped(Effect.forever(self.step)), (fiber) => {
      self.timer = fiber.id()
      return self
    })
  })

  /** Fires what is due, then sleeps until the next deadline or until woken. */
  private readonly step: Effect.Effect<void> = Effect.suspend(() => {
    const now = this.clock.unsafeCurrentTimeMillis()
    let next = Infinity
    for (const line of this.lines.values()) {
      let head = line.head
      while (head !== undefined && head.value.deadline <= now) {
        WaitQueue.shift(line)
        head.value.onExpire(this.timer)
        head = line.head
      }
      if (head !== undefined && head.value.deadline < next) next = head.value.deadline
    }
    const wake = Deferred.unsafeMake<void>(this.timer)
    this.wake = wake
    this.wakeAt = next
    return next === Infinity
      ? Deferred.await(wake)
      : Effect.raceFirst(this.clock.sleep(Duration.millis(next - now)), Deferred.await(wake))
  })

  /** Arms a timeout; the returned function disarms it (harmless once it fired). */
  private arm(millis: number, onExpire: (timer: FiberId.FiberId) => void): () => void {
    const deadline = this.clock.unsafeCurrentTimeMillis() + millis
    let line = this.lines.get(millis)
    if (line === undefined) {
      line = WaitQueue.make<Entry>()
      this.lines.set(millis, line)
    }
    const node = WaitQueue.push(line, { deadline, onExpire })
    if (deadline < this.wakeAt && this.wake !== undefined) {
      this.wakeAt = deadline
      Deferred.unsafeDone(this.wake, Exit.void)
    }
    const armed = line
    return () => {
      WaitQueue.remove(armed, node)
    }
  }

  /**
   * Runs `self` in a fiber of its own (with `context` for its context) and
   * waits for it, failing with `onTimeout()` when it is still running after
   * `duration`.
   *
   * `shielded`, the fiber is a daemon that an interrupt of the caller does
   * not reach: the caller waits, uninterruptibly, for its answer or its
   * timeout (a billed exchange, which must be booked). Otherwise it is the
   * caller's child, as `Effect.timeoutFail`'s would be (so `TestClock` and
   * supervisors see it), and an interrupted caller interrupts it.
   */
  exchange<A, E, E2>(
    self: Effect.Effect<A, E>,
    duration: Duration.Duration,
    onTimeout: () => E2,
    shielded: boolean,
    context: (context: Context.Context<never>) => Context.Context<never>
  ): Effect.Effect<A, E | E2> {
    const millis = Duration.toMillis(duration)
    /** Arms the fiber's timeout; `ended` disarms it and tells a timeout from the fiber's own outcome. */
    const armed = (fiber: Fiber.RuntimeFiber<A, E>) => {
      const disarm = this.arm(millis, (timer) => fiber.unsafeInterruptAsFork(timer))
      const ended = (exit: Exit.Exit<A, E>): Effect.Effect<A, E | E2> => {
        disarm()
        return Exit.isFailure(exit) && HashSet.has(Cause.interruptors(exit.cause), this.timer)
          ? Effect.fail(onTimeout())
          : exit
      }
      return { disarm, ended }
    }
    if (!shielded) {
      // Forked and armed in one uninterruptible step, so no exchange is left without its timeout.
      return Effect.uninterruptibleMask((restore) =>
        // The context is set as the child's first step: its fiber refs are its own, so nothing leaks.
        // Interruptible whatever the caller's region, so that its timeout can always stop it.
        Effect.flatMap(Effect.fork(Effect.zipRight(FiberRef.update(FiberRef.currentContext, context), Effect.interruptible(self))), (fiber) => {
          const { disarm, ended } = armed(fiber)
          return Effect.flatMap(
            Effect.onInterrupt(restore(Fiber.await(fiber)), () => Effect.zipRight(Effect.sync(disarm), Fiber.interrupt(fiber))),
            ended
          )
        })
      )
    }
    // Started and armed in one uninterruptible step, so no exchange is left without its timeout.
    return Effect.uninterruptible(
      Effect.withFiberRuntime<A, E | E2>((caller, status) => {
        const runtime = Runtime.make({
          context: context(caller.currentContext),
          fiberRefs: caller.getFiberRefs(),
          runtimeFlags: RuntimeFlags.enable(status.runtimeFlags, RuntimeFlags.Interruption)
        })
        const fiber = Runtime.runFork(runtime)(self)
        return Effect.flatMap(Fiber.await(fiber), armed(fiber).ended)
      })
    )
  }
}

