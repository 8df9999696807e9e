/**
 * The errors of the async workflows (`TaskFailed`, `TaskTimeout`,
 * `SubmittedUnfollowable`, re-exported by `AsyncTasks`) and the helpers that
 * build them and the client-side `InvalidRequest`s of bad options or input,
 * so that every stage of `wait`, `submit` and `run` words them the same way.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { DurationMillis, FieldIssue, InvalidRequest } from "../../CloroError.js"
import * as Task from "../../Task.js"

/**
 * The task ended FAILED (after cloro's own retries; it was not charged).
 * `code` and `message` are the task's `response.error`.
 *
 * @since 0.1.0
 */
export class TaskFailed extends Schema.TaggedError<TaskFailed>()("TaskFailed", {
  message: Schema.String,
  taskId: Schema.String,
  /** `Task.unknownTaskType` for a type cloro added after this version. */
  taskType: Task.StateTaskType,
  code: Schema.String,
  details: Schema.optional(Schema.Unknown)
}) {}

/**
 * The task had not finished when the wait ended: the time limit passed, or
 * the poll schedule stopped. The task may still finish; wait for it again by
 * its `taskId`.
 *
 * @since 0.1.0
 */
export class TaskTimeout extends Schema.TaggedError<TaskTimeout>()("TaskTimeout", {
  message: Schema.String,
  taskId: Schema.String,
  taskType: Schema.optional(Task.StateTaskType),
  /** The status of the last poll, when there was one. */
  lastStatus: Schema.optional(Task.TaskStatus),
  /** When the last polls failed: the last poll's error (`_tag: message`). Failed polls never end a wait early. */
  lastPollError: Schema.optional(Schema.String),
  waited: DurationMillis
}) {}

/**
 * cloro may have created (and will then bill) this task, but its id cannot be
 * learnt: a submission's answer was lost (a timeout, a dropped connection, an
 * unreadable answer) and sending it again found the idempotency key taken, or
 * the key was taken before this run and no journal knew its task. cloro's 409
 * does not carry the task id and there is no way to list tasks, so without a
 * webhook delivery nothing can follow it. It is not a failure of the task:
 * count it apart, and look it up in cloro's dashboard by `idempotencyKey`.
 *
 * @since 0.2.0
 */
export class SubmittedUnfollowable extends Schema.TaggedError<SubmittedUnfollowable>()("SubmittedUnfollowable", {
  message: Schema.String,
  /** The key the task was (or may have been) created with; absent only for a single submit sent without one. */
  idempotencyKey: Schema.optional(Schema.String),
  /** Always true: cloro bills the task when it completes, and nothing here can tell whether it did. */
  mayBeCharged: Schema.Literal(true),
  /**
   * `AmbiguousSubmit`: this run's own submission got no readable answer;
   * `KeyAlreadyUsed`: the key was taken before this run sent it.
   */
  reason: Schema.Literal("AmbiguousSubmit", "KeyAlreadyUsed"),
  /** cloro's estimate of the task, the most it is likely to be billed (AI Mode's expandProducts aside). */
  creditsToCharge: Schema.optional(Schema.Number),
  /** The error of the last submission attempt, `_tag: message`. */
  lastError: Schema.optional(Schema.String)
}) {}

/** @internal */
export const taskFailed = (state: Task.Failed): TaskFailed =>
  new TaskFailed({
    message: state.error.message,
    taskId: state.task.id,
    taskType: state.taskType,
    code: state.error.code,
    ...(state.error.details === undefined ? {} : { details: state.error.details })
  })

/** @internal */
export const completedOrFailed = (state: Task.Completed | Task.Failed): Effect.Effect<Task.Completed, TaskFailed> =>
  state.status === "COMPLETED" ? Effect.succeed(state) : Effect.fail(taskFailed(state))

/** `_tag: message`, as errors are quoted in `lastError` and `lastPollError`. @internal */
export const describeError = (error: { readonly _tag: string; readonly message: string }): string =>
  `${error._tag}: ${error.message}`

/** @internal */
export const invalidOptions = (issues: ReadonlyArray<FieldIssue>) =>
  new InvalidRequest({
    message: `Invalid options: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`,
    source: "client",
    issues: [...issues]
  })

/** @internal */
export const requestIssue = (message: string) =>
  new InvalidRequest({
    message: `Invalid request: ${message}`,
    source: "client",
    issues: [new FieldIssue({ field: "(request)", message })]
  })

/** @internal */
export const unfollowable = (
  key: string,
  reason: SubmittedUnfollowable["reason"],
  estimate: number,
  lastError: string | undefined
) =>
  new SubmittedUnfollowable({
    message: reason === "AmbiguousSubmit"
      ? `cloro may have created task ${key} (the submission's answer was lost) and cannot say its id`
      : `A task with idempotency key ${key} existed before this run, and nothing here knows its id (give a journal)`,
    idempotencyKey: key,
    mayBeCharged: true,
    reason,
    creditsToCharge: estimate,
    ...(lastError === undefined ? {} : { lastError })
  })
