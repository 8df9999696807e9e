/**
 * `run`'s completion stage: how each submitted task is followed to its end
 * (polled on `schedule`, or, with webhooks, waited for by its delivery with a
 * slow poll from `fallbackAfter`; a task whose id is unknown by its delivery
 * only), and how its end becomes the input's `Outcome`, handed on by a
 * callback rather than by a fiber per task. The tracker settles
 * what it sees in the client's `Credits` ledger.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Outcome, RunError } from "../../AsyncTasks.js"
import type { CloroError } from "../../CloroError.js"
import type * as Task from "../../Task.js"
import { describeError, TaskTimeout, unfollowable } from "./errors.js"
import type { RunContext } from "./runContext.js"
import type { Settings } from "./settings.js"
import { failedOutcome, finishedOutcome, type Origin, type Step } from "./steps.js"
import type * as Tracker from "./tracker.js"

type Following = Extract<Step, { _tag: "Follow" | "AwaitDelivery" }>

const timedOut = (settings: Settings, taskId: string, origin: Origin) =>
(
  why: Tracker.Expiry,
  last: Option.Option<Task.TaskState>,
  waited: Duration.Duration,
  lastError: Option.Option<CloroError>
): RunError =>
  new TaskTimeout({
    message: why === "deadline"
      ? `Task ${taskId} did not finish within ${Duration.format(settings.timeout)}`
      : `Task ${taskId} had not finished when the poll schedule stopped, after ${Duration.format(waited)}`,
    taskId,
    waited,
    ...(origin.taskType === undefined ? {} : { taskType: origin.taskType }),
    ...Option.match(last, { onNone: () => ({}), onSome: (state) => ({ lastStatus: state.status }) }),
    ...Option.match(lastError, { onNone: () => ({}), onSome: (error) => ({ lastPollError: describeError(error) }) })
  })

const planOf = (settings: Settings, step: Following): Tracker.Plan<RunError> => {
  const { webhooks } = settings
  if (step._tag === "AwaitDelivery") {
    // A task whose id is unknown cannot be polled: only its delivery tells. One this run may have
    // created is waited for as long as any task; one taken before the run, for `fallbackAfter`.
    const wait = step.reason === "AmbiguousSubmit"
      ? settings.timeout
      : Duration.min(webhooks?.fallbackAfter ?? Duration.zero, settings.timeout)
    return {
      taskId: undefined,
      schedule: settings.schedule,
      first: { _tag: "Now" },
      timeout: wait,
      retry: settings.pollRetrySchedule,
      expired: () =>
        unfollowable(
          step.key,
          step.reason,
          step.estimate,
          `no webhook delivery carrying this key arrived within ${Duration.format(wait)}`
        )
    }
  }
  const expired = timedOut(settings, step.taskId, step.origin)
  return webhooks === undefined
    ? {
      taskId: step.taskId,
      schedule: settings.schedule,
      first: Option.match(step.initial, {
        onNone: () => ({ _tag: "Now" }),
        onSome: (state) => ({ _tag: "Schedule", state })
      }),
      timeout: settings.timeout,
      retry: settings.pollRetrySchedule,
      expired
    }
    : {
      taskId: step.taskId,
      schedule: webhooks.fallbackSchedule,
      first: { _tag: "After", delay: webhooks.fallbackAfter },
      timeout: settings.timeout,
      retry: settings.pollRetrySchedule,
      expired
    }
}

/**
 * Starts following a step and gives its outcome to `emit`: at once when it is
 * done, else when its task finishes, fails or times out. No fiber waits for
 * the task: the tracker calls back when it ends, and the key is released
 * before the outcome is handed on. @internal
 */
export const start = (ctx: RunContext, step: Step, emit: (outcome: Outcome) => Effect.Effect<void>): Effect.Effect<void> => {
  if (step._tag === "Done") return emit(step.outcome)
  const { tracker } = ctx
  const known = step._tag === "Follow"
    ? { taskId: step.taskId, creditsToCharge: step.creditsToCharge }
    : { creditsToCharge: step.estimate }
  return tracker.watch(step.key, planOf(ctx.settings, step), (result) =>
    Effect.zipRight(
      tracker.release(step.key),
      emit(Either.match(result, {
        onLeft: (error) => failedOutcome(step.origin, error, known),
        onRight: (state) => finishedOutcome(step.origin, state)
      }))
    ))
}
