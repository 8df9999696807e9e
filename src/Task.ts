/**
 * The shapes of cloro's async API (`/v1/async/*`, cloro-api.md §6) and of the
 * account endpoints next to it (`/v1/credits`, `/v1/countries`, `/v1/states`).
 *
 * A task is typed by its engine end to end: `make("chatgpt", payload)` only
 * takes a ChatGPT request, and a COMPLETED `CHATGPT` task decodes its
 * `response` with ChatGPT's result schema, so `state.result` is a
 * `ChatGPT.Result` once `state.taskType` is narrowed. The client, the
 * simulator and the webhook receiver all read and write tasks through this
 * module.
 *
 * Responses are decoded tolerantly (unknown fields are dropped, fields only the
 * newest API sends are optional); submissions are validated strictly, with
 * every issue reported at once, before a request is sent.
 *
 * @since 0.1.0
 */
import * as Arr from "effect/Array"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { ParseOptions } from "effect/SchemaAST"
import * as FieldIssues from "./internal/request/fieldIssues.js"
import * as RequestBody from "./internal/request/requestBody.js"
import { FieldIssue, InvalidRequest } from "./CloroError.js"
import * as Engine from "./Engine.js"
import * as Engines from "./internal/engines.js"

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
 */
export const TaskType = Schema.Literal(...taskTypes).annotations({
  identifier: "TaskType",
  message: oneOf("a task type", taskTypes)
})

/**
 * @since 0.1.0
 */
export type TaskType = typeof TaskType.Type

/**
 * The async task type of an engine, e.g. `TaskTypeOf<"googleNews">` is `"GOOGLE_NEWS"`.
 *
 * @since 0.1.0
 */
export type TaskTypeOf<N extends Engine.EngineName> = Engines.TaskTypes[N]

const taskStatuses = ["QUEUED", "PROCESSING", "COMPLETED", "FAILED"] as const

/**
 * Where a task is in its life: `QUEUED` → `PROCESSING` → `COMPLETED` or `FAILED`.
 *
 * @since 0.1.0
 */
export const TaskStatus = Schema.Literal(...taskStatuses).annotations({
  identifier: "TaskStatus",
  message: oneOf("a task status", taskStatuses)
})

/**
 * @since 0.1.0
 */
export type TaskStatus = typeof TaskStatus.Type

// ---------------------------------------------------------------------------
// what every task response carries
// ---------------------------------------------------------------------------

/**
 * The summary of a task that every async response carries.
 *
 * `createdAt` stays the ISO string cloro sent. `latencyMs` (time from first
 * pickup to the outcome) and `idempotencyKey` are absent from older API
 * versions, and `null` while unknown or unset.
 *
 * @since 0.1.0
 */
export const TaskSummary = Schema.Struct({
  id: Schema.String,
  taskType: TaskType,
  status: TaskStatus,
  priority: Schema.Number,
  createdAt: Schema.String,
  latencyMs: Schema.optionalWith(Schema.NullOr(Schema.Number), { exact: true }),
  idempotencyKey: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true })
}).annotations({ identifier: "TaskSummary" })

/**
 * @since 0.1.0
 */
export interface TaskSummary extends Schema.Schema.Type<typeof TaskSummary> {}

/**
 * What a task costs. `creditsToCharge` is the estimate made at submission
 * (nothing is reserved); `creditsCharged` is `null` until the task finishes,
 * then what was billed (`0` for a FAILED task). They differ only for AI Mode
 * with `include.expandProducts` (+1 per product cluster).
 *
 * @since 0.1.0
 */
export const TaskCredits = Schema.Struct({
  creditsToCharge: Schema.Number,
  creditsCharged: Schema.NullOr(Schema.Number)
}).annotations({ identifier: "TaskCredits" })

/**
 * @since 0.1.0
 */
export interface TaskCredits extends Schema.Schema.Type<typeof TaskCredits> {}

/**
 * Whether the webhook of a finished task was acknowledged. Only on COMPLETED
 * and FAILED tasks submitted with a `webhook.url`, and never in the webhook
 * delivery itself.
 *
 * @since 0.1.0
 */
export const WebhookDelivery = Schema.Struct({
  url: Schema.String,
  deliveredAt: Schema.NullOr(Schema.String),
  delivered: Schema.Boolean
}).annotations({ identifier: "WebhookDelivery" })

/**
 * @since 0.1.0
 */
export interface WebhookDelivery extends Schema.Schema.Type<typeof WebhookDelivery> {}

/**
 * Why a task FAILED (`response.error`). `details` is present only when cloro
 * has extra context; its shape is not documented.
 *
 * @since 0.1.0
 */
export const TaskError = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  details: Schema.optionalWith(Schema.Unknown, { exact: true })
}).annotations({ identifier: "TaskError" })

/**
 * @since 0.1.0
 */
export interface TaskError extends Schema.Schema.Type<typeof TaskError> {}

// ---------------------------------------------------------------------------
// submitting
// ---------------------------------------------------------------------------

/**
 * The longest `idempotencyKey` accepted locally. cloro documents no limit;
 * this bound keeps a runaway key (a whole prompt, say) from being sent.
 *
 * @since 0.1.0
 */
export const maxIdempotencyKeyLength = 255

/**
 * The most tasks one batch may hold.
 *
 * @since 0.1.0
 */
export const maxBatchSize = 500

/**
 * A task's priority: an integer from 1 (the default) to 10; higher runs first,
 * FIFO within a level.
 *
 * @since 0.1.0
 */
export const Priority = Schema.Number.annotations({ message: () => "priority must be a number" }).pipe(
  Schema.filter((n) => (Number.isInteger(n) && n >= 1 && n <= 10) || `priority must be an integer from 1 to 10 (got ${n})`),
  Schema.annotations({ identifier: "Priority" })
)

/**
 * A key that makes a submission idempotent for as long as cloro keeps the task
 * (~24 h); reusing it gives 409 `RESOURCE_ALREADY_EXISTS`.
 *
 * @since 0.1.0
 */
export const IdempotencyKey = Schema.String.annotations({ message: () => "idempotencyKey must be a string" }).pipe(
  Schema.filter((key) => key.trim().length > 0 || "idempotencyKey cannot be empty"),
  Schema.filter((key) =>
    key.length <= maxIdempotencyKeyLength ||
    `idempotencyKey is too long (${key.length} characters, max ${maxIdempotencyKeyLength})`
  ),
  Schema.annotations({ identifier: "IdempotencyKey" })
)

const isHttpUrl = (s: string): boolean => {
  if (!URL.canParse(s)) return false
  const protocol = new URL(s).protocol
  return protocol === "https:" || protocol === "http:"
}

/**
 * Where cloro POSTs the finished task: an absolute http(s) URL. `url` is the
 * only field cloro accepts here.
 *
 * @since 0.1.0
 */
export const WebhookTarget = Schema.Struct({
  url: Schema.String.annotations({ message: () => "webhook.url must be a string" }).pipe(
    Schema.filter((url) => isHttpUrl(url) || `webhook.url must be an absolute http(s) URL (got ${JSON.stringify(url)})`)
  )
}).annotations({ identifier: "WebhookTarget" })

/**
 * @since 0.1.0
 */
export interface WebhookTarget extends Schema.Schema.Type<typeof WebhookTarget> {}

/**
 * The optional parts of a submission.
 *
 * @since 0.1.0
 */
export interface SubmitOptions {
  /** 1 (default) to 10; higher runs first. */
  readonly priority?: number | undefined
  readonly idempotencyKey?: string | undefined
  readonly webhook?: WebhookTarget | undefined
  /**
   * Payload fields this library does not know yet, sent as they are beside
   * the validated `payload` (a name the payload's schema knows is refused).
   * Not part of the JSON cloro receives under this name: see `toWire`.
   */
  readonly unknownPayloadFields?: Readonly<Record<string, unknown>> | undefined
}

/**
 * A task for engine `N`: its `taskType` and that engine's request as `payload`.
 *
 * @since 0.1.0
 */
export interface SubmitTaskOf<N extends Engine.EngineName> extends SubmitOptions {
  readonly taskType: TaskTypeOf<N>
  readonly payload: Engine.Request<N>
}

/**
 * A task to submit, discriminated on `taskType`: narrowing it types `payload`.
 *
 * @since 0.1.0
 */
export type SubmitTask = { readonly [N in Engine.EngineName]: SubmitTaskOf<N> }[Engine.EngineName]

const submitOptionFields = {
  priority: Schema.optional(Priority),
  idempotencyKey: Schema.optional(IdempotencyKey),
  webhook: Schema.optional(WebhookTarget),
  unknownPayloadFields: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
}

interface SubmitOfLambda extends Engines.PerEngine {
  readonly Out: Schema.Schema<SubmitTaskOf<Engines.EngineOf<this>>>
}

const submitOf = <N extends Engine.EngineName>(name: N): Schema.Schema<SubmitTaskOf<N>> =>
  Schema.Struct({
    taskType: Schema.Literal(Engine.engines[name].taskType),
    payload: Engine.engines[name].request,
    ...submitOptionFields
  })

/**
 * The body of `POST /v1/async/task` (and one element of a batch). Its type
 * annotation makes the compiler check that it covers every engine.
 *
 * It checks each field but not the engine's cross-field rules (`state` only
 * with US, `country` or `gl`...): use `validateSubmit` on untrusted input.
 *
 * @since 0.1.0
 */
export const SubmitTask: Schema.Schema<SubmitTask> = Schema.Union(
  // `Object.values` of a table types its elements as the union of the per-engine schemas
  ...Object.values(Engines.perEngine<SubmitOfLambda>(submitOf))
).annotations({ identifier: "SubmitTask" })

/**
 * Builds a task for an engine, typing its payload by the engine's name.
 *
 * @example
 * ```ts
 * import { Task } from "cloro-effect"
 *
 * const task = Task.make("chatgpt", { prompt: "Best CRM for startups?", country: "US" }, {
 *   priority: 5,
 *   webhook: { url: "https://example.com/hooks/cloro" }
 * })
 * // task.taskType === "CHATGPT"
 * ```
 *
 * @since 0.1.0
 */
export const make = <N extends Engine.EngineName>(
  engine: N,
  payload: Engine.Request<N>,
  options: SubmitOptions = {}
): SubmitTaskOf<N> => ({ ...options, taskType: Engine.engines[engine].taskType, payload })

/** What the envelope of a task must hold; the payload is checked by its engine. */
const SubmitEnvelope = Schema.Struct({
  taskType: TaskType,
  payload: Schema.Unknown,
  ...submitOptionFields
})

const strict: ParseOptions = { errors: "all", onExcessProperty: "error" }

const isTaskType = Schema.is(TaskType)

/** `(body)` is how `Engine.validate` names the payload itself. */
const prefixed = (prefix: string, issue: FieldIssue): FieldIssue =>
  new FieldIssue({
    field: issue.field === "(body)" ? prefix : `${prefix}.${issue.field}`,
    message: issue.message
  })

const submitIssues = (raw: unknown): ReadonlyArray<FieldIssue> => {
  const input = RequestBody.stripUndefined(raw)
  if (!Predicate.isRecord(input)) {
    return [new FieldIssue({ field: "(body)", message: "Expected a task object { taskType, payload, ... }" })]
  }
  const envelope = Either.match(Schema.decodeUnknownEither(SubmitEnvelope, strict)(input), {
    onLeft: FieldIssues.fromParseError,
    onRight: () => []
  })
  const taskType = input.taskType
  const payload = isTaskType(taskType) && "payload" in input
    ? Either.match(Engine.validate(Engine.fromTaskType(taskType).name, input.payload), {
      onLeft: (error) => error.issues.map((issue) => prefixed("payload", issue)),
      onRight: () => []
    })
    : []
  const extra = isTaskType(taskType) && Predicate.isRecord(input.unknownPayloadFields)
    ? Either.match(
      RequestBody.withUnknownFields(
        {},
        input.unknownPayloadFields,
        Engine.knownFields(Engine.fromTaskType(taskType).name),
        ""
      ),
      { onLeft: (issues) => issues.map((issue) => prefixed("unknownPayloadFields", unprefixed(issue))), onRight: () => [] }
    )
    : []
  return [...envelope, ...payload, ...extra]
}

const unprefixed = (issue: FieldIssue): FieldIssue =>
  new FieldIssue({ field: issue.field.replace(/^unknownFields\./, ""), message: issue.message })

const invalid = (what: string, issues: ReadonlyArray<FieldIssue>): InvalidRequest => {
  const shown = issues.slice(0, 5).map((i) => `${i.field}: ${i.message}`).join("; ")
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : ""
  return new InvalidRequest({ message: `Invalid ${what}: ${shown}${more}`, source: "client", issues: [...issues] })
}

/**
 * Validates an untrusted task locally: `taskType`, `priority` (integer 1–10),
 * `idempotencyKey` (non-empty, at most 255 characters), `webhook.url`
 * (absolute http(s)), no unknown fields, and the payload against its engine's
 * schema and cross-field rules (issues under `payload.`). Every issue is
 * reported in one `InvalidRequest` with `source: "client"`.
 *
 * @example
 * ```ts
 * import { Task } from "cloro-effect"
 *
 * Task.validateSubmit({ taskType: "CHATGPT", priority: 11, payload: { prompt: "" } })
 * // Either.left(InvalidRequest { issues: [
 * //   { field: "priority", ... }, { field: "payload.prompt", ... }, { field: "payload.country", ... } ] })
 * ```
 *
 * @since 0.1.0
 */
export const validateSubmit = (input: unknown): Either.Either<SubmitTask, InvalidRequest> => {
  const issues = submitIssues(input)
  if (issues.length > 0) return Either.left(invalid("task", issues))
  // every check passed, so this only gives the value its engine-specific type
  return Either.mapLeft(
    Schema.decodeUnknownEither(SubmitTask, strict)(RequestBody.stripUndefined(input)),
    (error) => invalid("task", FieldIssues.fromParseError(error))
  )
}

/**
 * The JSON body cloro receives for a validated task: `unknownPayloadFields`
 * merged into `payload`, every other field as it is.
 *
 * @since 0.1.0
 */
export const toWire = (task: SubmitTask): Readonly<Record<string, unknown>> => {
  const { unknownPayloadFields, ...rest } = task
  return unknownPayloadFields === undefined ? rest : { ...rest, payload: { ...task.payload, ...unknownPayloadFields } }
}

/**
 * Validates the body of a batch: 1 to 500 tasks (otherwise one issue on
 * `tasks`), each as `validateSubmit` does, with issue fields prefixed by the
 * task's index (`[3].payload.country`). Every issue of every task is listed.
 *
 * All or nothing; `CloroClient`'s `submitBatch` uses `planBatch` instead,
 * which refuses per task as cloro does and sends the rest.
 *
 * @since 0.1.0
 */
export const validateBatch = (inputs: unknown): Either.Either<Arr.NonEmptyReadonlyArray<SubmitTask>, InvalidRequest> => {
  if (!Arr.isArray(inputs) || inputs.length === 0 || inputs.length > maxBatchSize) {
    const actual = Arr.isArray(inputs) ? `${inputs.length} tasks` : "not an array"
    return Either.left(
      invalid("batch", [new FieldIssue({ field: "tasks", message: `Expected 1 to ${maxBatchSize} tasks (got ${actual})` })])
    )
  }
  const issues = inputs.flatMap((input, index) => submitIssues(input).map((issue) => prefixed(`[${index}]`, issue)))
  if (issues.length > 0) return Either.left(invalid("batch", issues))
  return Either.mapLeft(
    Schema.decodeUnknownEither(Schema.NonEmptyArray(SubmitTask), strict)(inputs),
    (error) => invalid("batch", FieldIssues.fromParseError(error))
  )
}

// ---------------------------------------------------------------------------
// submit and batch responses
// ---------------------------------------------------------------------------

/**
 * The answer to `POST /v1/async/task`: the new task (QUEUED) and its estimated cost.
 *
 * @since 0.1.0
 */
export const SubmitResponse = Schema.Struct({
  success: Schema.Boolean,
  task: TaskSummary,
  credits: TaskCredits
}).annotations({ identifier: "SubmitResponse" })

/**
 * @since 0.1.0
 */
export interface SubmitResponse extends Schema.Schema.Type<typeof SubmitResponse> {}

/**
 * A task of a batch that was queued.
 *
 * @since 0.1.0
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
 */
export interface BatchSuccessItem extends Schema.Schema.Type<typeof BatchSuccessItem> {}

/**
 * Why one task of a batch was refused. `code` is one of `VALIDATION_ERROR`,
 * `RESOURCE_ALREADY_EXISTS`, `INSUFFICIENT_CREDITS` today; kept a string so a
 * new code does not break decoding. For validation, `details.errors` lists
 * `{ field, message }` (older API: `details` is one `{ field, message }`).
 *
 * @since 0.1.0
 */
export const BatchItemError = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  details: Schema.optionalWith(Schema.Unknown, { exact: true }),
  timestamp: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "BatchItemError" })

/**
 * @since 0.1.0
 */
export interface BatchItemError extends Schema.Schema.Type<typeof BatchItemError> {}

/**
 * A task of a batch that was refused; the others are unaffected.
 *
 * @since 0.1.0
 */
export const BatchFailureItem = Schema.Struct({
  success: Schema.Literal(false),
  /** Zero-based position in the submitted array. */
  index: Schema.Number,
  error: BatchItemError
}).annotations({ identifier: "BatchFailureItem" })

/**
 * @since 0.1.0
 */
export interface BatchFailureItem extends Schema.Schema.Type<typeof BatchFailureItem> {}

/**
 * Counts of a batch.
 *
 * @since 0.1.0
 */
export const BatchSummary = Schema.Struct({
  total: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number
}).annotations({ identifier: "BatchSummary" })

/**
 * @since 0.1.0
 */
export interface BatchSummary extends Schema.Schema.Type<typeof BatchSummary> {}

/**
 * The answer to `POST /v1/async/task/batch`: one result per task, in input
 * order, discriminated on `success`.
 *
 * @since 0.1.0
 */
export const BatchResponse = Schema.Struct({
  success: Schema.Boolean,
  summary: BatchSummary,
  results: Schema.Array(Schema.Union(BatchSuccessItem, BatchFailureItem))
}).annotations({ identifier: "BatchResponse" })

/**
 * @since 0.1.0
 */
export interface BatchResponse extends Schema.Schema.Type<typeof BatchResponse> {}

// ---------------------------------------------------------------------------
// per-item batch refusal
// ---------------------------------------------------------------------------

/**
 * A batch split the way cloro treats it: each task on its own.
 *
 * @since 0.1.0
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

// ---------------------------------------------------------------------------
// task state (GET /v1/async/task/{id} and webhook deliveries)
// ---------------------------------------------------------------------------

/**
 * What every state holds. `status` and `taskType` repeat `task.status` and
 * `task.taskType` at the top so that TypeScript can narrow the union on them.
 */
const stateFields = {
  taskType: TaskType,
  task: TaskSummary,
  credits: TaskCredits,
  webhook: Schema.optionalWith(WebhookDelivery, { exact: true })
}

/**
 * A task waiting in the queue.
 *
 * @since 0.1.0
 */
export const Queued = Schema.Struct({ status: Schema.Literal("QUEUED"), ...stateFields }).annotations({
  identifier: "Queued"
})

/**
 * @since 0.1.0
 */
export interface Queued extends Schema.Schema.Type<typeof Queued> {}

/**
 * A task a worker is running; it holds one of the plan's concurrency slots.
 *
 * @since 0.1.0
 */
export const Processing = Schema.Struct({ status: Schema.Literal("PROCESSING"), ...stateFields }).annotations({
  identifier: "Processing"
})

/**
 * @since 0.1.0
 */
export interface Processing extends Schema.Schema.Type<typeof Processing> {}

/**
 * A task that failed for good (after cloro's own retries); never charged.
 *
 * @since 0.1.0
 */
export const Failed = Schema.Struct({ status: Schema.Literal("FAILED"), ...stateFields, error: TaskError })
  .annotations({ identifier: "Failed" })

/**
 * @since 0.1.0
 */
export interface Failed extends Schema.Schema.Type<typeof Failed> {}

/**
 * A completed task of engine `N`, with that engine's `result`.
 *
 * @since 0.1.0
 */
export interface CompletedOf<N extends Engine.EngineName> {
  readonly status: "COMPLETED"
  readonly taskType: TaskTypeOf<N>
  readonly task: TaskSummary
  readonly credits: TaskCredits
  readonly webhook?: WebhookDelivery
  readonly result: Engine.Result<N>
}

/**
 * A completed task of any engine; narrow `taskType` to type `result`.
 *
 * @since 0.1.0
 */
export type Completed = { readonly [N in Engine.EngineName]: CompletedOf<N> }[Engine.EngineName]

interface CompletedOfLambda extends Engines.PerEngine {
  readonly Out: Schema.Schema<CompletedOf<Engines.EngineOf<this>>>
}

const completedOf = <N extends Engine.EngineName>(name: N): Schema.Schema<CompletedOf<N>> =>
  Schema.Struct({
    status: Schema.Literal("COMPLETED"),
    ...stateFields,
    taskType: Schema.Literal(Engine.engines[name].taskType),
    // a decoded state holds the decoded result: `TaskStatusResponse` decodes the wire form
    result: Schema.typeSchema(Engine.engines[name].result)
  })

/**
 * @since 0.1.0
 */
export const Completed: Schema.Schema<Completed> = Schema.Union(
  ...Object.values(Engines.perEngine<CompletedOfLambda>(completedOf))
).annotations({ identifier: "Completed" })

/**
 * A task as cloro reports it, discriminated on `status` (and, once COMPLETED,
 * on `taskType`).
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Task } from "cloro-effect"
 *
 * declare const json: unknown // a body from GET /v1/async/task/{taskId}
 * const state = Either.getOrThrow(Task.decodeTaskStatus(json))
 * if (state.status === "COMPLETED" && state.taskType === "CHATGPT") {
 *   state.result.text // typed as ChatGPT's result
 * } else if (state.status === "FAILED") {
 *   state.error.code
 * }
 * ```
 *
 * @since 0.1.0
 */
export type TaskState = Queued | Processing | Completed | Failed

/**
 * The schema of a decoded `TaskState` (its own type on both sides).
 *
 * @since 0.1.0
 */
export const TaskState: Schema.Schema<TaskState> = Schema.Union(Queued, Processing, Completed, Failed)
  .annotations({ identifier: "TaskState" })

/** The body of `GET /v1/async/task/{id}` as sent; a webhook delivery lacks `webhook`. */
const TaskStatusWire = Schema.Struct({
  task: TaskSummary,
  credits: TaskCredits,
  webhook: Schema.optionalWith(WebhookDelivery, { exact: true }),
  response: Schema.optionalWith(Schema.Unknown, { exact: true })
})

/**
 * The code given to a FAILED task whose `response` carries no error object,
 * so that such a task still reads as FAILED rather than as a decoding error.
 *
 * @since 0.1.0
 */
export const unknownFailureCode = "UNKNOWN"

const failureOf = (response: unknown): unknown => {
  const error = Predicate.isRecord(response) ? response.error : undefined
  if (Predicate.isString(error)) return { code: unknownFailureCode, message: error }
  if (error === undefined || error === null) {
    return { code: unknownFailureCode, message: "cloro reported the task FAILED without an error" }
  }
  return error
}

/**
 * A COMPLETED task's `response`. cloro's newest spec calls it the provider's
 * result, an older one the full response object, and the official SDK's
 * fixtures wrap it as `{ success, result }` like a sync answer: both decode.
 */
const resultOf = (response: unknown): unknown =>
  Predicate.isRecord(response) && Predicate.isBoolean(response.success) && Predicate.isRecord(response.result)
    ? response.result
    : response

const decodeResult = <N extends Engine.EngineName>(name: N, response: unknown, options: ParseOptions) =>
  ParseResult.decodeUnknown(Engine.engines[name].result)(resultOf(response), options)

/**
 * The body of `GET /v1/async/task/{id}` (and of a webhook delivery), decoded
 * into a `TaskState`: the `response` of a COMPLETED task is decoded by the
 * result schema of the engine `task.taskType` names (issues point at
 * `response`), the `response.error` of a FAILED one becomes `error`.
 * Encoding gives the wire shape back, for the simulator.
 *
 * @since 0.1.0
 */
export const TaskStatusResponse: Schema.Schema<TaskState, Schema.Schema.Encoded<typeof TaskStatusWire>> = Schema
  .transformOrFail(TaskStatusWire, Schema.typeSchema(TaskState), {
    // not strict: which schema checks `response` is only known at run time, so
    // the decoded value is checked again, and typed, by `TaskState`
    strict: false,
    decode: ({ credits, response, task, webhook }, options, ast) => {
      const base = { status: task.status, taskType: task.taskType, task, credits, ...(webhook ? { webhook } : {}) }
      switch (task.status) {
        case "QUEUED":
        case "PROCESSING":
          return ParseResult.succeed(base)
        case "FAILED":
          return ParseResult.decodeUnknown(TaskError)(failureOf(response), options).pipe(
            ParseResult.mapBoth({
              onFailure: (issue) => new ParseResult.Pointer(["response", "error"], response, issue),
              onSuccess: (error) => ({ ...base, error })
            })
          )
        case "COMPLETED":
          if (response === undefined) {
            return ParseResult.fail(
              new ParseResult.Pointer(
                "response",
                response,
                new ParseResult.Type(ast, response, "a COMPLETED task carries its result in `response`")
              )
            )
          }
          return decodeResult(Engine.fromTaskType(task.taskType).name, response, options).pipe(
            ParseResult.mapBoth({
              onFailure: (issue) => new ParseResult.Pointer("response", response, issue),
              onSuccess: (result) => ({ ...base, result })
            })
          )
      }
    },
    encode: (state) =>
      ParseResult.succeed({
        // the top-level discriminants are the ones code narrows on, so they win
        task: { ...state.task, status: state.status, taskType: state.taskType },
        credits: state.credits,
        ...(state.webhook ? { webhook: state.webhook } : {}),
        ...(state.status === "COMPLETED"
          ? { response: state.result }
          : state.status === "FAILED"
          ? { response: { error: state.error } }
          : {})
      })
  })
  .annotations({ identifier: "TaskStatusResponse" })

/**
 * Decodes a parsed task body (`GET /v1/async/task/{id}` or a webhook
 * delivery); every issue is reported.
 *
 * @since 0.1.0
 */
export const decodeTaskStatus: (json: unknown) => Either.Either<TaskState, ParseResult.ParseError> = Schema
  .decodeUnknownEither(TaskStatusResponse, { errors: "all" })

/**
 * Encodes a task state into the body cloro sends for it.
 *
 * @since 0.1.0
 */
export const encodeTaskStatus: (
  state: TaskState
) => Either.Either<Schema.Schema.Encoded<typeof TaskStatusResponse>, ParseResult.ParseError> = Schema.encodeEither(
  TaskStatusResponse
)

/**
 * Whether a task has reached its final state (COMPLETED or FAILED).
 *
 * @since 0.1.0
 */
export const isFinished = (state: TaskState): state is Completed | Failed =>
  state.status === "COMPLETED" || state.status === "FAILED"

// ---------------------------------------------------------------------------
// queue, credits and reference data
// ---------------------------------------------------------------------------

/**
 * Queued tasks at one priority level.
 *
 * @since 0.1.0
 */
export const PriorityCount = Schema.Struct({
  priority: Schema.Number,
  count: Schema.Number
}).annotations({ identifier: "PriorityCount" })

/**
 * @since 0.1.0
 */
export interface PriorityCount extends Schema.Schema.Type<typeof PriorityCount> {}

/**
 * Concurrency slots in use out of the plan's maximum.
 *
 * @since 0.1.0
 */
export const QueueConcurrency = Schema.Struct({
  used: Schema.optional(Schema.Number),
  max: Schema.optional(Schema.Number)
}).annotations({ identifier: "QueueConcurrency" })

/**
 * @since 0.1.0
 */
export interface QueueConcurrency extends Schema.Schema.Type<typeof QueueConcurrency> {}

/**
 * The answer to `GET /v1/async/status`: the organization's queue.
 * `priorityBreakdown` (non-empty levels, highest first) is absent from older
 * API versions; `concurrency` is `null` when cloro could not read it, and when
 * it is missing.
 *
 * @since 0.1.0
 */
export const AsyncStatus = Schema.Struct({
  queuedTasks: Schema.Number,
  processingTasks: Schema.Number,
  priorityBreakdown: Schema.optionalWith(Schema.Array(PriorityCount), { exact: true }),
  concurrency: Schema.optionalWith(Schema.NullOr(QueueConcurrency), { exact: true, default: () => null })
}).annotations({ identifier: "AsyncStatus" })

/**
 * @since 0.1.0
 */
export interface AsyncStatus extends Schema.Schema.Type<typeof AsyncStatus> {}

/**
 * The answer to `DELETE /v1/async/queue`: how many QUEUED tasks were removed
 * (uncharged; repeating it is harmless).
 *
 * @since 0.1.0
 */
export const ClearQueueResponse = Schema.Struct({
  success: Schema.Boolean,
  cleared: Schema.Number
}).annotations({ identifier: "ClearQueueResponse" })

/**
 * @since 0.1.0
 */
export interface ClearQueueResponse extends Schema.Schema.Type<typeof ClearQueueResponse> {}

/**
 * The answer to `GET /v1/credits`. `perCycle` and `cycleResetsAt` (ISO) are
 * `null` on the free tier; the balance may lag by up to 60 s.
 *
 * @since 0.1.0
 */
export const CreditsBalance = Schema.Struct({
  remaining: Schema.Number,
  perCycle: Schema.NullOr(Schema.Number),
  cycleResetsAt: Schema.NullOr(Schema.String)
}).annotations({ identifier: "CreditsBalance" })

/**
 * @since 0.1.0
 */
export interface CreditsBalance extends Schema.Schema.Type<typeof CreditsBalance> {}

/**
 * The answer to `GET /v1/countries`: ISO 3166-1 alpha-2 codes.
 *
 * @since 0.1.0
 */
export const Countries = Schema.Array(Schema.String).annotations({ identifier: "Countries" })

/**
 * @since 0.1.0
 */
export type Countries = typeof Countries.Type

/**
 * A US state for `state` targeting.
 *
 * @since 0.1.0
 */
export const State = Schema.Struct({
  code: Schema.String,
  name: Schema.String
}).annotations({ identifier: "State" })

/**
 * @since 0.1.0
 */
export interface State extends Schema.Schema.Type<typeof State> {}

/**
 * The answer to `GET /v1/states?country=US` (`[]` for other countries).
 *
 * @since 0.1.0
 */
export const States = Schema.Array(State).annotations({ identifier: "States" })

/**
 * @since 0.1.0
 */
export type States = typeof States.Type
