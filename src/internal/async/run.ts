/**
 * `AsyncTasks.run` as a pipeline of its stages: the options read into
 * `Settings` (`settings.ts`), one `RunContext` (`runContext.ts`), the input
 * read lazily and grouped, each group prepared and submitted
 * (`submission.ts`), each step followed to its `Outcome` (`follow.ts`) at
 * most `inFlight` at once. A failing input ends the input, not the run's
 * outcomes: the error comes after every submitted task's outcome.
 *
 * The follow stage runs no fiber per task: the tracker hands each task's end
 * to a callback that puts its outcome in a queue the run's stream reads.
 * `Stream.mapEffect` with `concurrency: inFlight` held a fiber, a channel
 * executor and a scope per task in flight, about 27 KB each.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as AsyncTasks from "../../AsyncTasks.js"
import type * as CloroClient from "../../CloroClient.js"
import { FieldIssue, type InvalidRequest } from "../../CloroError.js"
import { invalidOptions, requestIssue } from "./errors.js"
import { start } from "./follow.js"
import * as RunContext from "./runContext.js"
import { type Defaults, settingsOf } from "./settings.js"
import { isStream, type Step } from "./steps.js"
import { submitGroup } from "./submission.js"

/**
 * Follows every step, with at most `inFlight` outcomes not yet taken by the
 * reader (being followed, or waiting to be read): a permit is taken before a
 * step starts (a batch's steps take theirs at once) and given back when the
 * reader takes its outcome, so a slow
 * reader holds the submission back rather than letting outcomes pile up.
 * Only the one fiber reading the steps ever waits for a permit. Once the
 * steps end, every outcome is read (all permits are back) before the stream
 * ends, or fails with the steps' failure.
 */
const followAll = <E, R>(
  ctx: RunContext.RunContext,
  steps: Stream.Stream<Step, E, R>
): Stream.Stream<AsyncTasks.Outcome, E, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const { inFlight } = ctx.settings
    const permits = yield* Effect.makeSemaphore(inFlight)
    const outcomes = yield* Queue.unbounded<AsyncTasks.Outcome | End<E>>()
    const emit = (outcome: AsyncTasks.Outcome) => Queue.offer(outcomes, outcome)
    // a chunk's steps (a batch's) take their permits together, in slices no larger than the window
    const startAll = (chunk: Chunk.Chunk<Step>): Effect.Effect<void> =>
      Effect.forEach(
        Chunk.chunksOf(chunk, inFlight),
        (slice) =>
          Effect.zipRight(
            permits.take(Chunk.size(slice)),
            Effect.forEach(slice, (step) => start(ctx, step, emit), { discard: true })
          ),
        { discard: true }
      )
    yield* steps.pipe(
      Stream.runForEachChunk(startAll),
      Effect.exit,
      Effect.zipLeft(permits.take(inFlight)),
      Effect.flatMap((exit) => Queue.offer(outcomes, new End(exit))),
      Effect.forkScoped
    )
    const finish = (exit: Exit.Exit<void, E>): Effect.Effect<never, Option.Option<E>> =>
      Exit.isSuccess(exit) ? Effect.fail(Option.none()) : Effect.failCause(Cause.map(exit.cause, Option.some))
    /**
     * One stage reads the queue, an outcome at a time (its permit goes back
     * as the reader takes it, so what is not read counts against the window),
     * and ends (or fails) at the end: a queue of `Take`s read by `fromQueue`,
     * `flattenTake` and `mapChunksEffect` was three channel stages, each a
     * few operations per outcome (issue 16).
     */
    const pull: Effect.Effect<Chunk.Chunk<AsyncTasks.Outcome>, Option.Option<E>> = Effect.flatMap(
      Queue.take(outcomes),
      (item) => item instanceof End ? finish(item.exit) : Effect.as(permits.release(1), Chunk.of(item))
    )
    return Stream.repeatEffectChunkOption(pull)
  }))

/** The input's end, queued after every outcome: how the reader knows to stop (or fail). */
class End<E> {
  constructor(readonly exit: Exit.Exit<void, E>) {}
}

/** @internal */
export const run = <E = never, R = never>(
  requests: Iterable<AsyncTasks.RunRequest> | Stream.Stream<AsyncTasks.RunRequest, E, R>,
  options: AsyncTasks.RunOptions,
  defaults: Defaults
): Stream.Stream<AsyncTasks.Outcome, E | InvalidRequest, R | CloroClient.CloroClient> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    if (!isStream(requests) && !Predicate.isIterable(requests)) {
      return yield* invalidOptions([new FieldIssue({ field: "requests", message: "must be an Iterable or a Stream of { id?, task }" })])
    }
    const settings = yield* settingsOf(options, defaults)
    const ctx = yield* RunContext.make(settings)
    // An iterable that throws while being read ends the input with a typed error, as a failing stream does.
    const source: Stream.Stream<unknown, E | InvalidRequest, R> = isStream(requests)
      ? requests
      : Stream.fromIterable(requests).pipe(
        Stream.catchAllCause((cause) =>
          Stream.fail(requestIssue(`the input iterable threw while being read: ${Cause.pretty(cause).split("\n")[0]}`))
        )
      )
    // A failing input stream must not drop the outcomes of tasks already submitted:
    // the input ends there, every task sent so far is followed to its outcome, and
    // only then does the run fail with the input's error.
    const inputFailure = yield* Ref.make<Option.Option<E | InvalidRequest>>(Option.none())
    const inputs = source.pipe(
      Stream.catchAll((error) => Stream.fromEffect(Ref.set(inputFailure, Option.some(error))).pipe(Stream.drain))
    )
    const failIfInputFailed = Stream.fromEffect(Ref.get(inputFailure)).pipe(
      Stream.flatMap(Option.match({ onNone: () => Stream.empty, onSome: Stream.fail }))
    )
    return inputs.pipe(
      Stream.zipWithIndex,
      settings.batchWindow === undefined
        ? Stream.grouped(settings.batchSize)
        : Stream.groupedWithin(settings.batchSize, settings.batchWindow),
      Stream.mapEffect((group) => submitGroup(ctx, group)),
      Stream.flattenChunks,
      (steps) => followAll(ctx, steps),
      Stream.concat(failIfInputFailed)
    )
  }))
