/**
 * The shapes of cloro's async API (`/v1/async/*`, cloro-api.md §6).
 *
 * A task is typed by its engine end to end: `make("chatgpt", payload)` only
 * takes a ChatGPT request, and a COMPLETED `CHATGPT` task decodes its
 * `response` with ChatGPT's result schema, so `state.result` is a
 * `ChatGPT.Result` once `state.taskType` is narrowed. The client, the
 * simulator and the webhook receiver all read and write tasks through this
 * module.
 *
 * Responses are decoded tolerantly (unknown fields are dropped, fields only the
 * newest API sends are optional, a task type cloro added later reads as
 * `unknownTaskType` with its response kept); submissions are validated strictly, with
 * every issue reported at once, before a request is sent.
 *
 * This file holds the queue's schemas and gathers the rest, one file per
 * seam in `src/internal/task/`: `base.ts` (what every task response
 * carries), `submit.ts` (submitting and validating), `batch.ts` (batch
 * answers and per-task refusal), `state.ts` (a task's state and its
 * decoding). The account endpoints' schemas are in `Account`, re-exported
 * here.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

export {
  StateTaskType,
  stateTaskTypeOf,
  TaskCredits,
  TaskError,
  TaskStatus,
  TaskSummary,
  TaskType,
  type TaskTypeOf,
  unknownTaskType,
  WebhookDelivery
} from "./internal/task/base.js"
export {
  IdempotencyKey,
  Priority,
  type SubmitOptions,
  SubmitTask,
  type SubmitTaskOf,
  WebhookTarget,
  make,
  maxBatchSize,
  maxIdempotencyKeyLength,
  toWire,
  validateBatch,
  validateSubmit
} from "./internal/task/submit.js"
export {
  BatchFailureItem,
  BatchItemError,
  type BatchPlan,
  BatchResponse,
  BatchSuccessItem,
  BatchSummary,
  SubmitResponse,
  mergeBatch,
  planBatch
} from "./internal/task/batch.js"
export {
  Completed,
  type CompletedOf,
  CompletedUnknown,
  Failed,
  Processing,
  Queued,
  TaskState,
  TaskStatusResponse,
  decodeTaskStatus,
  encodeTaskStatus,
  isFinished,
  unknownFailureCode
} from "./internal/task/state.js"
export {
  Countries,
  CreditsBalance,
  State,
  States
} from "./Account.js"

/**
 * Queued tasks at one priority level.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const PriorityCount = Schema.Struct({
  priority: Schema.Number,
  count: Schema.Number
}).annotations({ identifier: "PriorityCount" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface PriorityCount extends Schema.Schema.Type<typeof PriorityCount> {}

/**
 * Concurrency slots in use out of the plan's maximum.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const QueueConcurrency = Schema.Struct({
  used: Schema.optional(Schema.Number),
  max: Schema.optional(Schema.Number)
}).annotations({ identifier: "QueueConcurrency" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface QueueConcurrency extends Schema.Schema.Type<typeof QueueConcurrency> {}

/**
 * The answer to `GET /v1/async/status`: the organization's queue.
 * `priorityBreakdown` (non-empty levels, highest first) is absent from older
 * API versions; `concurrency` is `null` when cloro could not read it, and when
 * it is missing.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const AsyncStatus = Schema.Struct({
  queuedTasks: Schema.Number,
  processingTasks: Schema.Number,
  priorityBreakdown: Schema.optionalWith(Schema.Array(PriorityCount), { exact: true }),
  concurrency: Schema.optionalWith(Schema.NullOr(QueueConcurrency), { exact: true, default: () => null })
}).annotations({ identifier: "AsyncStatus" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface AsyncStatus extends Schema.Schema.Type<typeof AsyncStatus> {}

/**
 * The answer to `DELETE /v1/async/queue`: how many QUEUED tasks were removed
 * (uncharged; repeating it is harmless).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ClearQueueResponse = Schema.Struct({
  success: Schema.Boolean,
  cleared: Schema.Number
}).annotations({ identifier: "ClearQueueResponse" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface ClearQueueResponse extends Schema.Schema.Type<typeof ClearQueueResponse> {}
