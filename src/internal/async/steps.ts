/**
 * What `run` knows about each input between its stages: its `Origin`, a
 * `Prepared` task ready to send, the `Step` a submission leaves (done,
 * follow a known task id, or await a webhook delivery), how an error or a
 * finished task becomes an `Outcome` (with what may have been billed), and
 * which submission errors are worth sending again or say nothing was created.
 *
 * @internal
 */
import * as Arr from "effect/Array"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { Outcome, RunError } from "../../AsyncTasks.js"
import { type CloroError, FieldIssue, InsufficientCredits, InvalidRequest, UnexpectedStatus } from "../../CloroError.js"
import * as Task from "../../Task.js"
import { isKnownTaskType } from "../task/base.js"
import { type SubmittedUnfollowable, taskFailed } from "./errors.js"
import type * as Tracker from "./tracker.js"

/** What an outcome says about the input, whatever became of it. */
export interface Origin {
  readonly id: string | undefined
  readonly index: number
  readonly taskType: Task.TaskType | undefined
  readonly idempotencyKey: string | undefined
}

/** A valid input, ready to be sent. */
export interface Prepared {
  readonly origin: Origin
  readonly key: string
  readonly task: Task.SubmitTask
  /** What cloro is likely to bill for it. */
  readonly estimate: number
}

/** What a submission leaves to do for one input. */
export type Step =
  | { readonly _tag: "Done"; readonly outcome: Outcome }
  | {
    readonly _tag: "Follow"
    readonly origin: Origin
    readonly key: string
    readonly taskId: string
    /** The state at submission, so that the first poll waits for the schedule. */
    readonly initial: Option.Option<Task.TaskState>
    readonly creditsToCharge: number | null
  }
  | {
    /** With webhooks, a task that may exist but whose id nothing knew: only its delivery can tell. */
    readonly _tag: "AwaitDelivery"
    readonly origin: Origin
    readonly key: string
    readonly estimate: number
    readonly reason: SubmittedUnfollowable["reason"]
  }

/**
 * Errors after which no task can exist: refused before sending, or by an
 * answer that creates nothing. Any other (a timeout, a 5xx) leaves it unknown.
 */
export const createsNothing: ReadonlySet<RunError["_tag"]> = new Set<RunError["_tag"]>([
  "InvalidRequest",
  "Unauthorized",
  "InsufficientCredits",
  "QueueLimitExceeded",
  "RateLimitExceeded",
  "BudgetExceeded",
  "AdmissionTimeout",
  "AdmissionQueueFull",
  "LimiterUnavailable"
])

/** An outcome without a finished task; `creditsCharged` is 0 only when nothing can have been billed. */
export const failedOutcome = (
  origin: Origin,
  error: RunError,
  known: { readonly taskId?: string | undefined; readonly creditsToCharge?: number | null } = {}
): Outcome => ({
  ...origin,
  taskId: known.taskId,
  result: Either.left(error),
  creditsToCharge: known.creditsToCharge ?? null,
  creditsCharged: known.taskId === undefined && createsNothing.has(error._tag) ? 0 : null
})

export const finishedOutcome = (origin: Origin, state: Tracker.Finished): Outcome => ({
  ...origin,
  // a type this version does not know: the input's own (the task's result is kept all the same)
  taskType: state.taskType === Task.unknownTaskType ? origin.taskType : state.taskType,
  taskId: state.task.id,
  result: state.status === "COMPLETED" ? Either.right(state) : Either.left(taskFailed(state)),
  creditsToCharge: state.credits.creditsToCharge,
  creditsCharged: state.credits.creditsCharged
})

/** Submission errors worth sending the same batch again for, on `submitRetrySchedule`. */
export const transientSubmit: ReadonlySet<CloroError["_tag"]> = new Set<CloroError["_tag"]>([
  "Timeout",
  "TransportError",
  "ResponseDecodeError",
  "ServerError",
  "ServiceUnavailable",
  "UnexpectedStatus",
  "RequestCanceled",
  "RateLimitExceeded",
  "ConcurrentLimitExceeded"
])

/** Submission errors that say no task was created; any other leaves it unknown. */
export const createsNothingOnSubmit: ReadonlySet<CloroError["_tag"]> = new Set<CloroError["_tag"]>([
  "InvalidRequest",
  "Unauthorized",
  "InsufficientCredits",
  "QueueLimitExceeded",
  "RateLimitExceeded",
  "ConcurrentLimitExceeded",
  "BudgetExceeded",
  "AdmissionTimeout",
  "AdmissionQueueFull",
  "Conflict",
  "NotFound"
])

export const isTaskType = isKnownTaskType

/** The issues of a batch item refused for validation, in either documented shape. */
export const itemIssues = (details: unknown): Array<FieldIssue> => {
  const asIssue = (raw: unknown): Array<FieldIssue> =>
    Predicate.isRecord(raw) && Predicate.isString(raw.field) && Predicate.isString(raw.message)
      ? [new FieldIssue({ field: raw.field, message: raw.message })]
      : []
  if (Predicate.isRecord(details) && Arr.isArray(details.errors)) return details.errors.flatMap(asIssue)
  if (Arr.isArray(details)) return details.flatMap(asIssue)
  return asIssue(details)
}

export const itemError = (error: Task.BatchItemError): CloroError => {
  switch (error.code) {
    case "VALIDATION_ERROR":
      return new InvalidRequest({ message: error.message, source: "server", issues: itemIssues(error.details) })
    case "INSUFFICIENT_CREDITS":
      return new InsufficientCredits({ message: error.message, status: 403 })
    default:
      return new UnexpectedStatus({ message: error.message, code: error.code })
  }
}

export const isStream = <A, E, R>(input: Iterable<A> | Stream.Stream<A, E, R>): input is Stream.Stream<A, E, R> =>
  Predicate.hasProperty(input, Stream.StreamTypeId)
