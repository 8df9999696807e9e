/**
 * The batch runner behind `cloro run`: sends each input once (sync calls, or
 * async tasks through `AsyncTasks.run`), writes one line per input, stops
 * submitting at a budget or a first Ctrl-C, and interrupts what is in flight
 * at a second one. Every input gets a line whatever happens.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { AsyncTasks, CloroClient, ConcurrencyLimiter, Engine, Pricing, Task } from "../index.js"
import * as Input from "./Input.js"
import * as Output from "./Output.js"
import * as Stats from "./Stats.js"
import * as Transport from "./Transport.js"

/**
 * How to run.
 *
 * @since 0.2.0
 */
export interface Settings {
  readonly mode: Pricing.Mode
  /** Credits this run may commit; submitting stops before the next estimate would cross it. */
  readonly budget: number | undefined
  /** Inputs in flight at once; `undefined` follows the concurrency limiter (the plan's limit). */
  readonly concurrency: number | undefined
  readonly timeout: Duration.Duration | undefined
  /** Async mode: where submitted task ids are kept, so a resumed run follows them instead of paying twice. */
  readonly journal?: AsyncTasks.Journal | undefined
}

/**
 * The two steps of stopping: `stop` ends submitting (in-flight inputs
 * finish), `interrupt` cuts in-flight inputs short.
 *
 * @since 0.2.0
 */
export interface Control {
  readonly stop: Deferred.Deferred<void>
  readonly interrupt: Deferred.Deferred<void>
}

/**
 * A fresh control.
 *
 * @since 0.2.0
 */
export const makeControl: Effect.Effect<Control> = Effect.all({
  stop: Deferred.make<void>(),
  interrupt: Deferred.make<void>()
})

/**
 * Signals a control: the first call stops submitting, the next interrupts.
 *
 * @since 0.2.0
 */
export const signal = (control: Control): Effect.Effect<"stop" | "interrupt"> =>
  Effect.flatMap(Deferred.succeed(control.stop, undefined), (first) =>
    first ? Effect.succeed("stop" as const) : Effect.as(Deferred.succeed(control.interrupt, undefined), "interrupt" as const))

const otherMode = (mode: Pricing.Mode): Pricing.Mode => (mode === "sync" ? "async" : "sync")

const tagOf = (item: Input.Item): string | undefined => item.tags[0]

const baseLine = (item: Input.Item, mode: Pricing.Mode) => ({
  id: item.id,
  line: item.line,
  engine: item.engine ?? null,
  mode,
  tags: item.tags
})

const skippedLine = (item: Input.Item, mode: Pricing.Mode, reason: "budget" | "signal", estimate: number | null): Output.Line => ({
  ...baseLine(item, mode),
  status: "skipped",
  error: reason === "budget"
    ? {
      _tag: "BudgetExceeded",
      code: "BUDGET",
      message: "not sent: its estimate would take this run past --budget"
    }
    : { _tag: "Stopped", code: "STOPPED", message: "not sent: the run was stopped (Ctrl-C) before its turn" },
  credits: 0,
  estimate,
  attempts: 0,
  latencyMs: null
})

const interruptedError = {
  _tag: "Interrupted",
  code: "INTERRUPTED",
  message: "interrupted in flight by a second Ctrl-C; it may or may not have been charged"
} as const

/** The sync call, typed by the prepared request's engine. */
const callSync = <N extends Engine.EngineName>(
  client: CloroClient.CloroClientShape,
  prepared: Input.Prepared<N>,
  options: CloroClient.CallOptions
) => {
  // without `googleGoto`, so that indexing with a generic engine keeps request and result typed
  const monitor: { readonly [N in Engine.EngineName]: CloroClient.MonitorMethod<N> } = client.monitor
  return monitor[prepared.engine](prepared.request, options)
}

const costs = (prepared: Input.Prepared, mode: Pricing.Mode) => {
  const here = Input.estimate(prepared, mode)
  const there = Input.estimate(prepared, otherMode(mode))
  return { estimate: here.estimate, max: here.max, difference: there.estimate - here.estimate }
}

/**
 * Runs the items. `write` receives every line once; `stats` is updated as
 * lines are written and read by the progress display.
 *
 * @since 0.2.0
 */
export const run = <E, R>(options: {
  /** Read once, as the run goes: a long input is never held whole. */
  readonly items: Stream.Stream<Input.Item, E, R>
  readonly settings: Settings
  readonly control: Control
  readonly stats: Ref.Ref<Stats.Stats>
  readonly write: (line: Output.Line) => Effect.Effect<void>
}): Effect.Effect<void, E, R | CloroClient.CloroClient | ConcurrencyLimiter.ConcurrencyLimiter> =>
  Effect.gen(function*() {
    const { control, settings, stats } = options
    // An input that fails to read ends the input: every input already sent still gets its line, then the run fails.
    const inputFailure = yield* Ref.make(Option.none<E>())
    const items = options.items.pipe(
      Stream.catchAll((error) => Stream.drain(Stream.fromEffect(Ref.set(inputFailure, Option.some(error)))))
    )
    const mode = settings.mode
    const emit = (line: Output.Line, other: number) =>
      Effect.zipRight(options.write(line), Ref.update(stats, (s) => Stats.record(s, line, line.status === "ok" ? other : 0)))

    /** Whether the next input, costing at most `max`, may be sent; marks the run stopped when not. */
    const admit = (max: number): Effect.Effect<"go" | "budget" | "signal"> =>
      Effect.flatMap(Deferred.isDone(control.stop), (stopped) =>
        Ref.modify(stats, (s): ["go" | "budget" | "signal", Stats.Stats] => {
          if (s.stopped !== undefined) return [s.stopped, s]
          if (stopped) return ["signal", { ...s, stopped: "signal" }]
          if (s.budget !== undefined && s.spent + s.committed + max > s.budget) {
            return ["budget", { ...s, stopped: "budget" }]
          }
          return ["go", { ...s, committed: s.committed + max, inFlight: s.inFlight + 1 }]
        }))
    const release = (max: number) =>
      Ref.update(stats, (s) => ({ ...s, committed: s.committed - max, inFlight: s.inFlight - 1 }))

    const invalid = (item: Input.Item, error: unknown) =>
      emit({
        ...baseLine(item, mode),
        status: "failed",
        error: Predicate.isRecord(error) ? Output.errorOf(error) : { _tag: "InvalidRequest", message: String(error) },
        credits: 0,
        estimate: null,
        attempts: 0,
        latencyMs: null
      }, 0)

    const run: Run<R> = { items, settings, control, hooks: { emit, admit, release, invalid, stats } }
    yield* mode === "sync" ? runSync(run) : runAsync(run)
    const now = yield* Clock.currentTimeMillis
    yield* Ref.update(stats, (s) => ({ ...s, endedAt: now }))
    const failed = yield* Ref.get(inputFailure)
    if (Option.isSome(failed)) return yield* Effect.fail(failed.value)
  })

/** What both modes are given: the items, how to run them, and the shared bookkeeping. */
interface Run<R> {
  readonly items: Stream.Stream<Input.Item, never, R>
  readonly settings: Settings
  readonly control: Control
  readonly hooks: Hooks
}

interface Hooks {
  readonly emit: (line: Output.Line, other: number) => Effect.Effect<void>
  readonly admit: (max: number) => Effect.Effect<"go" | "budget" | "signal">
  readonly release: (max: number) => Effect.Effect<void>
  readonly invalid: (item: Input.Item, error: unknown) => Effect.Effect<void>
  readonly stats: Ref.Ref<Stats.Stats>
}

const runSync = <R>({ control, hooks, items, settings }: Run<R>) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* CloroClient.CloroClient
    const limiter = yield* ConcurrencyLimiter.ConcurrencyLimiter
    const fibers = yield* FiberSet.make<void>()
    const freed = yield* Queue.unbounded<void>()
    const mode = settings.mode
    const callOptions = (item: Input.Item): CloroClient.CallOptions => ({
      ...(tagOf(item) === undefined ? {} : { tag: tagOf(item) }),
      ...(settings.timeout === undefined ? {} : { timeout: settings.timeout })
    })
    /** A slot of our own for each slot of the limiter, plus one waiting at its door. */
    const capacity = settings.concurrency !== undefined
      ? Effect.succeed(settings.concurrency + 1)
      : Effect.map(limiter.stats, (s) => (s.size !== undefined ? Math.max(1, s.size) : 64) + 1)
    const waitForRoom: Effect.Effect<void> = Effect.gen(function*() {
      while (true) {
        const inFlight = (yield* Ref.get(hooks.stats)).inFlight
        if (inFlight < (yield* capacity)) return
        yield* Queue.take(freed)
      }
    })

    const send = (item: Input.Item, prepared: Input.Prepared, cost: ReturnType<typeof costs>) =>
      Effect.gen(function*() {
        const launched = yield* Clock.currentTimeMillis
        const attemptsRef = yield* Transport.makeAttempts
        const outcome = yield* Effect.raceFirst(
          Effect.map(Effect.either(Transport.track(attemptsRef, callSync(client, prepared, callOptions(item)))), Option.some),
          Effect.as(Deferred.await(control.interrupt), Option.none())
        )
        const attempts = yield* Ref.get(attemptsRef)
        // latency is the request's own time, from its first attempt, not its wait for a slot
        const latencyMs = (yield* Clock.currentTimeMillis) - (attempts.firstAt ?? launched)
        const base = { ...baseLine(item, mode), estimate: cost.estimate, latencyMs }
        yield* Option.match(outcome, {
          onNone: () =>
            attempts.attempts === 0
              // still waiting for a slot: nothing went out, so it is as if never submitted
              ? hooks.emit(skippedLine(item, mode, "signal", cost.estimate), 0)
              : hooks.emit({ ...base, status: "failed", error: interruptedError, credits: null, attempts: attempts.attempts }, 0),
          onSome: (result) =>
            Either.match(result, {
              onLeft: (error) =>
                hooks.emit({ ...base, status: "failed", error: Output.errorOf(error), credits: 0, attempts: attempts.attempts }, 0),
              onRight: (response) => {
                const credits = response.usage.credits.charged ?? cost.estimate
                return hooks.emit({
                  ...base,
                  status: "ok",
                  result: response.result,
                  usage: response.usage,
                  credits,
                  attempts: attempts.attempts
                }, credits + cost.difference)
              }
            })
        })
      }).pipe(Effect.ensuring(Effect.zipRight(hooks.release(cost.max), Queue.offer(freed, undefined))))

    yield* Stream.runForEach(items, (item) =>
      Effect.gen(function*() {
        if (Either.isLeft(item.request)) return yield* hooks.invalid(item, item.request.left)
        const prepared = item.request.right
        const cost = costs(prepared, mode)
        const stopped = yield* Effect.map(Ref.get(hooks.stats), (s) => s.stopped)
        if (stopped === undefined) {
          // wait for room, unless a Ctrl-C comes first
          yield* Effect.raceFirst(waitForRoom, Deferred.await(control.stop))
        }
        const verdict = yield* hooks.admit(cost.max)
        if (verdict !== "go") return yield* hooks.emit(skippedLine(item, mode, verdict, cost.estimate), 0)
        yield* FiberSet.run(fibers, send(item, prepared, cost))
      }))
    yield* FiberSet.awaitEmpty(fibers)
  }))

const runAsync = <R>({ control, hooks, items, settings }: Run<R>) =>
  Effect.gen(function*() {
    const mode = settings.mode
    // a persistent map: copying a Map per task cost O(tasks in flight) each, for every task of a bulk run;
    // only the inputs submitted and not yet ended are in it, never the whole input
    const pending = yield* Ref.make(HashMap.empty<string, { item: Input.Item; cost: ReturnType<typeof costs>; at: number }>())

    const requests = items.pipe(
      Stream.mapEffect((item) =>
        Effect.gen(function*() {
          if (Either.isLeft(item.request)) {
            yield* hooks.invalid(item, item.request.left)
            return Option.none()
          }
          const prepared = item.request.right
          const task = Task.validateSubmit({ taskType: Engine.engines[prepared.engine].taskType, payload: prepared.body })
          if (Either.isLeft(task)) {
            yield* hooks.invalid(item, task.left)
            return Option.none()
          }
          const cost = costs(prepared, mode)
          const verdict = yield* hooks.admit(cost.max)
          if (verdict !== "go") {
            yield* hooks.emit(skippedLine(item, mode, verdict, cost.estimate), 0)
            return Option.none()
          }
          const at = yield* Clock.currentTimeMillis
          yield* Ref.update(pending, HashMap.set(item.id, { item, cost, at }))
          return Option.some<AsyncTasks.RunRequest>({ id: item.id, task: task.right })
        })
      ),
      Stream.filterMap((o) => o)
    )

    const outcomes = AsyncTasks.run(requests, {
      ...(settings.journal === undefined ? {} : { journal: settings.journal }),
      ...(settings.concurrency === undefined ? {} : { inFlight: settings.concurrency }),
      // one set of call options serves the whole run, so spend by tag is counted from the lines instead
      callOptions: settings.timeout === undefined ? {} : { timeout: settings.timeout }
    }).pipe(
      Stream.runForEach((outcome) =>
        Effect.gen(function*() {
          const id = outcome.id
          // every outcome is of an input this run submitted, and so pending
          const entry = id === undefined ? undefined : Option.getOrUndefined(HashMap.get(yield* Ref.get(pending), id))
          if (entry === undefined) return
          const item = entry.item
          yield* Ref.update(pending, HashMap.remove(item.id))
          const now = yield* Clock.currentTimeMillis
          const cost = entry?.cost
          if (cost !== undefined) yield* hooks.release(cost.max)
          const base = {
            ...baseLine(item, mode),
            estimate: cost?.estimate ?? null,
            attempts: null,
            latencyMs: entry === undefined ? null : now - entry.at,
            ...(outcome.taskId === undefined ? {} : { taskId: outcome.taskId })
          }
          yield* Either.match(outcome.result, {
            onLeft: (error) =>
              hooks.emit({ ...base, status: "failed", error: Output.errorOf(error), credits: outcome.creditsCharged }, 0),
            onRight: (completed) => {
              const credits = outcome.creditsCharged ?? completed.credits.creditsCharged ?? cost?.estimate ?? 0
              return hooks.emit(
                { ...base, status: "ok", result: completed.result, credits },
                credits + (cost?.difference ?? 0)
              )
            }
          })
        })
      )
    )

    const finished = yield* Effect.raceFirst(
      Effect.as(Effect.either(outcomes), true),
      Effect.as(Deferred.await(control.interrupt), false)
    )
    // a failure of the run itself, or a second Ctrl-C: what is still pending gets its line
    const left = yield* Ref.get(pending)
    for (const { cost, item } of HashMap.values(left)) {
      yield* hooks.release(cost.max)
      yield* hooks.emit({
        ...baseLine(item, mode),
        status: "failed",
        error: finished
          ? { _tag: "RunFailed", message: "the async run ended before this task finished" }
          : interruptedError,
        credits: null,
        estimate: cost.estimate,
        attempts: null,
        latencyMs: null
      }, 0)
    }
  })

/**
 * Waits for the first Ctrl-C.
 *
 * @since 0.2.0
 */
export const awaitStop = (control: Control): Effect.Effect<void> => Deferred.await(control.stop)
