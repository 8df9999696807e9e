/**
 * What `AsyncTasks.run` gives back for each input, and how a run's outcomes
 * are counted (re-exported by `AsyncTasks`, where they are documented for
 * users).
 *
 * @internal
 */
import * as Either from "effect/Either"
import type { CloroError } from "../../CloroError.js"
import type * as Task from "../../Task.js"
import type { SubmittedUnfollowable, TaskFailed, TaskTimeout } from "./errors.js"

/**
 * Every way one task of a run can fail: refused at submission (`InvalidRequest`,
 * `InsufficientCredits`, `BudgetExceeded`, `Conflict` when its key exists and
 * its task id cannot be found...), FAILED (`TaskFailed`), not finished in
 * time (`TaskTimeout`), or an error while polling it.
 *
 * @since 0.1.0
 */
export type RunError = CloroError | TaskFailed | TaskTimeout | SubmittedUnfollowable

/**
 * What kind of end an input came to, for counting a run:
 * `Completed` (the task's result), `Failed` (the task ran and ended FAILED,
 * not billed), `Refused` (no task was created: invalid input, refused item,
 * refused batch; not billed), `TimedOut` (created, not finished within the
 * run's `timeout`; may still finish and be billed), `Unfollowable` (may have
 * been created and billed, but its id cannot be learnt; see
 * `SubmittedUnfollowable`).
 *
 * @since 0.2.0
 */
export type OutcomeKind = "Completed" | "Failed" | "Refused" | "TimedOut" | "Unfollowable"

/**
 * The kind of an outcome.
 *
 * @since 0.2.0
 */
export const kindOf = (outcome: Outcome): OutcomeKind => {
  if (Either.isRight(outcome.result)) return "Completed"
  switch (outcome.result.left._tag) {
    case "TaskFailed":
      return "Failed"
    case "TaskTimeout":
      return "TimedOut"
    case "SubmittedUnfollowable":
      return "Unfollowable"
    default:
      return "Refused"
  }
}

/**
 * A run's outcomes counted by kind, with what they say about credits.
 *
 * @since 0.2.0
 */
export interface Summary {
  readonly outcomes: number
  readonly byKind: Readonly<Record<OutcomeKind, number>>
  /** The sum of known charges (completed tasks; 0 for failed and refused ones). */
  readonly creditsCharged: number
  /** The sum of the estimates of tasks that may yet be billed without this run knowing (TimedOut, Unfollowable). */
  readonly creditsMayBeCharged: number
}

/**
 * Counts outcomes by kind. Unfollowable and timed-out tasks are counted apart
 * from failures: cloro may have billed them.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { AsyncTasks } from "cloro-effect"
 *
 * declare const requests: ReadonlyArray<AsyncTasks.RunRequest>
 * const summary = AsyncTasks.run(requests).pipe(Stream.runCollect, Effect.map(AsyncTasks.summarize))
 * ```
 *
 * @since 0.2.0
 */
export const summarize = (outcomes: Iterable<Outcome>): Summary => {
  const byKind: Record<OutcomeKind, number> = { Completed: 0, Failed: 0, Refused: 0, TimedOut: 0, Unfollowable: 0 }
  let count = 0
  let creditsCharged = 0
  let creditsMayBeCharged = 0
  for (const outcome of outcomes) {
    const kind = kindOf(outcome)
    count++
    byKind[kind]++
    creditsCharged += outcome.creditsCharged ?? 0
    if (kind === "TimedOut" || kind === "Unfollowable") creditsMayBeCharged += outcome.creditsToCharge ?? 0
  }
  return { outcomes: count, byKind, creditsCharged, creditsMayBeCharged }
}

/**
 * What became of one input.
 *
 * @since 0.1.0
 */
export interface Outcome {
  /** The input's `id`, when it had one. */
  readonly id: string | undefined
  /** The input's position, from 0. */
  readonly index: number
  readonly taskType: Task.TaskType | undefined
  /** cloro's id of the task; absent when none was created, or its id could not be learnt. */
  readonly taskId: string | undefined
  /** The key the task was submitted with; absent when the input was invalid. */
  readonly idempotencyKey: string | undefined
  /** The COMPLETED task (narrow `taskType` to type `result`), or why there is none. */
  readonly result: Either.Either<Task.Completed, RunError>
  /** cloro's estimate at submission; `null` when cloro never accepted the task. */
  readonly creditsToCharge: number | null
  /** What was billed: the charge of a finished task, `0` when none was made, `null` when unknown. */
  readonly creditsCharged: number | null
}
