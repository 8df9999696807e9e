/**
 * Batches: the answers to `POST /v1/async/task` and `/batch`, and the
 * per-task split of a batch the way cloro treats it (`planBatch`,
 * `mergeBatch`). Public as `Task.*`.
 *
 * @internal
 */
import * as Arr from "effect/Array"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { FieldIssue, InvalidRequest } from "../../CloroError.js"
import { TaskCredits, TaskSummary } from "./base.js"
import { SubmitTask, invalid, maxBatchSize, validateSubmit } from "./submit.js"

// ---------------------------------------------------------------------------
// submit and batch responses
// ---------------------------------------------------------------------------

/**
 * The answer to `POST /v1/async/task`: the new task (QUEUED) and its estimated cost.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const SubmitResponse = Schema.Struct({
  success: Schema.Boolean,
  task: TaskSummary,
  credits: TaskCredits
}).annotations({ identifier: "SubmitResponse" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface SubmitResponse extends Schema.Schema.Type<typeof SubmitResponse> {}

/**
 * A task of a batch that was queued.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const BatchSuccessItem = Schema.Struct({
  success: Schema.Literal(true),
  /** Zero-based position in the submitted array. */
  index: Schema.Number,
  task: TaskSummary,
  credits: TaskCredits
}).annotations({ identifier: "BatchSuccessItem" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface BatchSuccessItem extends Schema.Schema.Type<typeof BatchSuccessItem> {}

/**
 * Why one task of a batch was refused. `code` is one of `VALIDATION_ERROR`,
 * `RESOURCE_ALREADY_EXISTS`, `INSUFFICIENT_CREDITS` today; kept a string so a
 * new code does not break decoding. For validation, `details.errors` lists
 * `{ field, message }` (older API: `details` is one `{ field, message }`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const BatchItemError = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  details: Schema.optionalWith(Schema.Unknown, { exact: true }),
  timestamp: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "BatchItemError" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface BatchItemError extends Schema.Schema.Type<typeof BatchItemError> {}

/**
 * A task of a batch that was refused; the others are unaffected.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const BatchFailureItem = Schema.Struct({
  success: Schema.Literal(false),
  /** Zero-based position in the submitted array. */
  index: Schema.Number,
  error: BatchItemError
}).annotations({ identifier: "BatchFailureItem" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface BatchFailureItem extends Schema.Schema.Type<typeof BatchFailureItem> {}

/**
 * Counts of a batch.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const BatchSummary = Schema.Struct({
  total: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number
}).annotations({ identifier: "BatchSummary" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface BatchSummary extends Schema.Schema.Type<typeof BatchSummary> {}

/**
 * The answer to `POST /v1/async/task/batch`: one result per task, in input
 * order, discriminated on `success`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const BatchResponse = Schema.Struct({
  success: Schema.Boolean,
  summary: BatchSummary,
  results: Schema.Array(Schema.Union(BatchSuccessItem, BatchFailureItem))
}).annotations({ identifier: "BatchResponse" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface BatchResponse extends Schema.Schema.Type<typeof BatchResponse> {}

// ---------------------------------------------------------------------------
// per-item batch refusal
// ---------------------------------------------------------------------------

/**
 * A batch split the way cloro treats it: each task on its own.
 *
 * @since 0.1.0
 * @category Models
 */
export interface BatchPlan {
  /** The tasks that passed local validation, with their index in the submitted array. */
  readonly send: ReadonlyArray<{ readonly index: number; readonly task: SubmitTask }>
  /** The tasks refused locally, in cloro's per-item shape (`VALIDATION_ERROR`, `details.errors`). */
  readonly refused: ReadonlyArray<BatchFailureItem>
}

/**
 * Validates each task of a batch on its own. Only a batch that is not an
 * array of 1 to 500 tasks is refused as a whole (cloro answers such a batch
 * with a 400); an invalid task becomes a `BatchFailureItem` with
 * `details: { errors: [{ field, message }], source: "client" }`, so that the
 * rest can still be sent.
 *
 * @since 0.1.0
 * @category Functions
 */
export const planBatch = (inputs: unknown, timestamp: string): Either.Either<BatchPlan, InvalidRequest> => {
  if (!Arr.isArray(inputs) || inputs.length === 0 || inputs.length > maxBatchSize) {
    const actual = Arr.isArray(inputs) ? `${inputs.length} tasks` : "not an array"
    return Either.left(
      invalid("batch", [new FieldIssue({ field: "tasks", message: `Expected 1 to ${maxBatchSize} tasks (got ${actual})` })])
    )
  }
  const send: Array<{ readonly index: number; readonly task: SubmitTask }> = []
  const refused: Array<BatchFailureItem> = []
  inputs.forEach((input, index) =>
    Either.match(validateSubmit(input), {
      onRight: (task) => send.push({ index, task }),
      onLeft: (error) =>
        refused.push({
          success: false,
          index,
          error: {
            code: "VALIDATION_ERROR",
            message: `Invalid task at index ${index}: ${error.issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`,
            details: { errors: error.issues.map((i) => ({ field: i.field, message: i.message })), source: "client" },
            timestamp
          }
        })
    })
  )
  return Either.right({ send, refused })
}

/**
 * The answer for the whole submitted batch: cloro's answer for the tasks that
 * were sent (its indexes mapped back to positions in the submitted array)
 * merged with the local refusals, in input order, with the refusals added to
 * cloro's counts.
 * Without an answer (nothing was sent) only the refusals are listed.
 *
 * @since 0.1.0
 * @category Functions
 */
export const mergeBatch = (plan: BatchPlan, sent: BatchResponse | undefined): BatchResponse => {
  const remote = (sent?.results ?? []).map((item) => ({ ...item, index: plan.send[item.index]?.index ?? item.index }))
  const results = [...remote, ...plan.refused].sort((a, b) => a.index - b.index)
  // cloro's counts are kept as it sent them; the local refusals are added to them
  const summary = sent?.summary ?? { total: 0, succeeded: 0, failed: 0 }
  return {
    success: sent?.success ?? true,
    summary: {
      total: summary.total + plan.refused.length,
      succeeded: summary.succeeded,
      failed: summary.failed + plan.refused.length
    },
    results
  }
}
