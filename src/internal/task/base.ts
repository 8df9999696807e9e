/**
 * What every task response carries: the task types and statuses, the task
 * summary, its credits, its webhook delivery and its error. Public as `Task.*`.
 *
 * @internal
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Engine from "../../Engine.js"
import * as Engines from "../engines.js"

// ---------------------------------------------------------------------------
// task types and statuses
// ---------------------------------------------------------------------------

/** One issue for a bad value, rather than one per literal of the union. */
const oneOf = (what: string, literals: ReadonlyArray<string>) => (issue: ParseResult.ParseIssue) => ({
  message: `Expected ${what} (${literals.join(", ")}), got ${
    issue._tag === "Type" || issue._tag === "Composite" ? JSON.stringify(issue.actual) ?? "undefined" : "nothing"
  }`,
  override: true
})

const taskTypes = Engines.taskTypes

/**
 * The engine of a task, as the async API spells it. There is no AI Overview
 * type: use `GOOGLE` with `include.aioverview`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TaskType = Schema.Literal(...taskTypes).annotations({
  identifier: "TaskType",
  message: oneOf("a task type", taskTypes)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type TaskType = typeof TaskType.Type

/**
 * The top-level `taskType` of a task state whose type this version does not
 * know (one cloro added after it was released). Such a task reads as a task
 * of an unknown engine rather than failing to decode: the type cloro sent
 * stays in `task.taskType`, and a COMPLETED one keeps its raw `response` as
 * `result`.
 *
 * @since 0.5.0
 * @category Constants
 */
export const unknownTaskType = "UNKNOWN" as const

/**
 * The `taskType` of a task state: a known `TaskType`, or `unknownTaskType`.
 *
 * @since 0.5.0
 * @category Schemas
 */
export const StateTaskType = Schema.Union(TaskType, Schema.Literal(unknownTaskType)).annotations({
  identifier: "StateTaskType"
})

/**
 * @since 0.5.0
 * @category Models
 */
export type StateTaskType = typeof StateTaskType.Type

const knownTaskTypes: ReadonlySet<unknown> = new Set(TaskType.literals)

/**
 * Whether a value is a `TaskType`: what `Schema.is(TaskType)` answers, by a
 * set lookup (the schema's guard allocated about 2 KB a call, several calls
 * a task in a bulk run).
 *
 * @internal
 */
export const isKnownTaskType = (u: unknown): u is TaskType => knownTaskTypes.has(u)

/**
 * A task type as cloro sent it, read as a known `TaskType` or `unknownTaskType`.
 *
 * @since 0.5.0
 * @category Functions
 */
export const stateTaskTypeOf = (taskType: string): StateTaskType => isKnownTaskType(taskType) ? taskType : unknownTaskType

/**
 * The async task type of an engine, e.g. `TaskTypeOf<"googleNews">` is `"GOOGLE_NEWS"`.
 *
 * @since 0.1.0
 * @category Models
 */
export type TaskTypeOf<N extends Engine.EngineName> = Engines.TaskTypes[N]

const taskStatuses = ["QUEUED", "PROCESSING", "COMPLETED", "FAILED"] as const

/**
 * Where a task is in its life: `QUEUED` → `PROCESSING` → `COMPLETED` or `FAILED`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TaskStatus = Schema.Literal(...taskStatuses).annotations({
  identifier: "TaskStatus",
  message: oneOf("a task status", taskStatuses)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type TaskStatus = typeof TaskStatus.Type

// ---------------------------------------------------------------------------
// what every task response carries
// ---------------------------------------------------------------------------

/**
 * The summary of a task that every async response carries.
 *
 * `taskType` is read tolerantly: any string, so that a task of a type cloro
 * added later still decodes (see `unknownTaskType`); submitting one is still
 * refused. `createdAt` stays the ISO string cloro sent. `latencyMs` (time from first
 * pickup to the outcome) and `idempotencyKey` are absent from older API
 * versions, and `null` while unknown or unset.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TaskSummary = Schema.Struct({
  id: Schema.String,
  taskType: Schema.String,
  status: TaskStatus,
  priority: Schema.Number,
  createdAt: Schema.String,
  latencyMs: Schema.optionalWith(Schema.NullOr(Schema.Number), { exact: true }),
  idempotencyKey: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true })
}).annotations({ identifier: "TaskSummary" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface TaskSummary extends Schema.Schema.Type<typeof TaskSummary> {}

/**
 * What a task costs. `creditsToCharge` is the estimate made at submission
 * (nothing is reserved); `creditsCharged` is `null` until the task finishes,
 * then what was billed (`0` for a FAILED task). They differ only for AI Mode
 * with `include.expandProducts` (+1 per product cluster).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TaskCredits = Schema.Struct({
  creditsToCharge: Schema.Number,
  creditsCharged: Schema.NullOr(Schema.Number)
}).annotations({ identifier: "TaskCredits" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface TaskCredits extends Schema.Schema.Type<typeof TaskCredits> {}

/**
 * Whether the webhook of a finished task was acknowledged. Only on COMPLETED
 * and FAILED tasks submitted with a `webhook.url`, and never in the webhook
 * delivery itself.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const WebhookDelivery = Schema.Struct({
  url: Schema.String,
  deliveredAt: Schema.NullOr(Schema.String),
  delivered: Schema.Boolean
}).annotations({ identifier: "WebhookDelivery" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface WebhookDelivery extends Schema.Schema.Type<typeof WebhookDelivery> {}

/**
 * Why a task FAILED (`response.error`). `details` is present only when cloro
 * has extra context; its shape is not documented.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TaskError = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  details: Schema.optionalWith(Schema.Unknown, { exact: true })
}).annotations({ identifier: "TaskError" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface TaskError extends Schema.Schema.Type<typeof TaskError> {}
