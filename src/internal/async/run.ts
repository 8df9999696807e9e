/**
 * `AsyncTasks.run` as a pipeline of its stages: the options read into
 * `Settings` (`settings.ts`), one `RunContext` (`runContext.ts`), the input
 * read lazily and grouped, each group prepared and submitted
 * (`submission.ts`), each step followed to its `Outcome` (`follow.ts`) at
 * most `inFlight` at once. A failing input ends the input, not the run's
 * outcomes: the error comes after every submitted task's outcome.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type * as AsyncTasks from "../../AsyncTasks.js"
import type * as CloroClient from "../../CloroClient.js"
import { FieldIssue, type InvalidRequest } from "../../CloroError.js"
import { invalidOptions, requestIssue } from "./errors.js"
import { outcomeOf } from "./follow.js"
import * as RunContext from "./runContext.js"
import { type Defaults, settingsOf } from "./settings.js"
import { isStream } from "./steps.js"
import { submitGroup } from "./submission.js"

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
      Stream.mapEffect((step) => outcomeOf(ctx, step), { concurrency: settings.inFlight, unordered: true }),
      Stream.concat(failIfInputFailed)
    )
  }))
