/**
 * `wait`'s polling loop: at once, then on the caller's schedule until the
 * task is finished; a failed poll is retried on its own schedule and never
 * ends the wait, except for the errors no later poll can cure.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { CloroError } from "../../CloroError.js"
import * as Task from "../../Task.js"

/** Poll errors that no later poll can cure, for a task id the caller gave `wait`. */
const endsAWait: ReadonlySet<CloroError["_tag"]> = new Set<CloroError["_tag"]>(["NotFound", "InvalidRequest", "Unauthorized"])

/**
 * Polls at once, then on the schedule, until the task is finished or the
 * schedule stops; gives the last state seen. A failed poll is tried again on
 * `retry` (restarted when it stops) unless it is one of `endsAWait`.
 *
 * @internal
 */
export const pollUntilFinished = (
  get: Effect.Effect<Task.TaskState, CloroError>,
  schedule: Schedule.Schedule<unknown, Task.TaskState>,
  retry: Schedule.Schedule<unknown, CloroError>,
  lastError: Ref.Ref<Option.Option<CloroError>>
): Effect.Effect<Task.TaskState, CloroError> =>
  Effect.gen(function*() {
    const driver = yield* Schedule.driver(schedule)
    const retryDriver = yield* Schedule.driver(retry)
    const poll: Effect.Effect<Task.TaskState, CloroError> = get.pipe(
      Effect.tap(() => Effect.zipRight(Ref.set(lastError, Option.none()), retryDriver.reset)),
      Effect.catchAll((error) =>
        endsAWait.has(error._tag)
          ? Effect.fail(error)
          : Ref.set(lastError, Option.some(error)).pipe(
            Effect.zipRight(Effect.catchAll(retryDriver.next(error), () => Effect.zipRight(retryDriver.reset, retryDriver.next(error)))),
            Effect.catchAll(() => Effect.sleep(Duration.seconds(1))),
            Effect.zipRight(Effect.suspend(() => poll))
          )
      )
    )
    const loop = (state: Task.TaskState): Effect.Effect<Task.TaskState, CloroError> =>
      Task.isFinished(state)
        ? Effect.succeed(state)
        : Effect.matchEffect(driver.next(state), {
          onFailure: () => Effect.succeed(state),
          onSuccess: () => Effect.flatMap(poll, loop)
        })
    return yield* Effect.flatMap(poll, loop)
  })
