/**
 * `AsyncTasks.wait`: one task followed to its end. Polls at once, then on
 * the caller's schedule until the task is finished; a failed poll is retried
 * on its own schedule and never ends the wait, except for the errors no
 * later poll can cure. The time limit or a stopped schedule gives a
 * `TaskTimeout` carrying what was last seen.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as AsyncTasks from "../../AsyncTasks.js"
import * as CloroClient from "../../CloroClient.js"
import { type CloroError, FieldIssue } from "../../CloroError.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import * as Task from "../../Task.js"
import { completedOrFailed, describeError, invalidOptions, TaskTimeout } from "./errors.js"
import { durationIssue } from "./settings.js"

/** The defaults `AsyncTasks` documents. @internal */
export interface WaitDefaults {
  readonly timeout: Duration.Duration
  readonly schedule: Schedule.Schedule<unknown, Task.TaskState>
  readonly pollRetrySchedule: Schedule.Schedule<unknown, CloroError>
}

/** Poll errors that no later poll can cure, for a task id the caller gave `wait`. */
const endsAWait: ReadonlySet<CloroError["_tag"]> = new Set<CloroError["_tag"]>(["NotFound", "InvalidRequest", "Unauthorized"])

/**
 * Polls at once, then on the schedule, until the task is finished or the
 * schedule stops; gives the last state seen. A failed poll is tried again on
 * `retry` (restarted when it stops) unless it is one of `endsAWait`.
 */
const pollUntilFinished = (
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

/** @internal */
export const wait = (
  taskId: string,
  options: AsyncTasks.WaitOptions,
  defaults: WaitDefaults
): Effect.Effect<Task.Completed, AsyncTasks.WaitError, CloroClient.CloroClient> =>
  Effect.gen(function*() {
    if (!Predicate.isString(taskId)) {
      return yield* invalidOptions([new FieldIssue({ field: "taskId", message: "must be a task id string" })])
    }
    const opts: AsyncTasks.WaitOptions = Predicate.isRecord(options) ? options : {}
    const timeout = yield* Either.mapLeft(
      durationIssue("timeout", opts.timeout, defaults.timeout),
      (issue) => invalidOptions([issue])
    )
    const client = yield* CloroClient.CloroClient
    const last = yield* Ref.make(Option.none<Task.TaskState>())
    const lastError = yield* Ref.make(Option.none<CloroError>())
    const start = yield* Clock.currentTimeMillis
    const callOptions: CloroClient.CallOptions = { ...opts.callOptions, retry: opts.callOptions?.retry ?? RetryPolicy.none }
    const get = client.tasks.get(taskId, callOptions).pipe(
      Effect.map((response) => response.result),
      Effect.tap((state) => Ref.set(last, Option.some(state)))
    )
    const polled = yield* pollUntilFinished(
      get,
      opts.schedule ?? defaults.schedule,
      opts.pollRetrySchedule ?? defaults.pollRetrySchedule,
      lastError
    ).pipe(Effect.timeoutOption(timeout))
    if (Option.isSome(polled) && Task.isFinished(polled.value)) return yield* completedOrFailed(polled.value)
    const seen = yield* Ref.get(last)
    const failing = yield* Ref.get(lastError)
    const waited = Duration.millis((yield* Clock.currentTimeMillis) - start)
    return yield* new TaskTimeout({
      message: Option.isNone(polled)
        ? `Task ${taskId} did not finish within ${Duration.format(timeout)}`
        : `Task ${taskId} had not finished when the poll schedule stopped, after ${Duration.format(waited)}`,
      taskId,
      waited,
      ...Option.match(seen, {
        onNone: () => ({}),
        onSome: (state) => ({ taskType: state.taskType, lastStatus: state.status })
      }),
      ...Option.match(failing, { onNone: () => ({}), onSome: (error) => ({ lastPollError: describeError(error) }) })
    })
  }).pipe(Effect.withSpan("AsyncTasks.wait", { attributes: { "cloro.task.id": taskId } }))
