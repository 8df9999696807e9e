/**
 * A task's state (`GET /v1/async/task/{id}` and webhook deliveries): the
 * union over statuses and, once COMPLETED, over engines, and its decoding
 * from the wire. Public as `Task.*`.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import type { ParseOptions } from "effect/SchemaAST"
import * as Engine from "../../Engine.js"
import * as Engines from "../engines.js"
import * as FastDecode from "../request/fastDecode.js"
import {
  StateTaskType,
  stateTaskTypeOf,
  TaskCredits,
  TaskError,
  TaskStatus,
  TaskSummary,
  type TaskTypeOf,
  unknownTaskType,
  WebhookDelivery
} from "./base.js"

// ---------------------------------------------------------------------------
// task state (GET /v1/async/task/{id} and webhook deliveries)
// ---------------------------------------------------------------------------

/**
 * What every state holds. `status` and `taskType` repeat `task.status` and
 * `task.taskType` at the top so that TypeScript can narrow the union on them.
 */
const stateFields = {
  taskType: StateTaskType,
  task: TaskSummary,
  credits: TaskCredits,
  webhook: Schema.optionalWith(WebhookDelivery, { exact: true })
}

/**
 * A task waiting in the queue.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Queued = Schema.Struct({ status: Schema.Literal("QUEUED"), ...stateFields }).annotations({
  identifier: "Queued"
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Queued extends Schema.Schema.Type<typeof Queued> {}

/**
 * A task a worker is running; it holds one of the plan's concurrency slots.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Processing = Schema.Struct({ status: Schema.Literal("PROCESSING"), ...stateFields }).annotations({
  identifier: "Processing"
})

/**
 * @since 0.1.0
 * @category Models
 */
export interface Processing extends Schema.Schema.Type<typeof Processing> {}

/**
 * A task that failed for good (after cloro's own retries); never charged.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Failed = Schema.Struct({ status: Schema.Literal("FAILED"), ...stateFields, error: TaskError })
  .annotations({ identifier: "Failed" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface Failed extends Schema.Schema.Type<typeof Failed> {}

/**
 * A completed task of engine `N`, with that engine's `result`.
 *
 * @since 0.1.0
 * @category Models
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
 * A completed task of a type this version does not know (`taskType` is
 * `unknownTaskType`, the type cloro sent is `task.taskType`): its `response`
 * kept as `result`, unread JSON.
 *
 * @since 0.5.0
 * @category Schemas
 */
export const CompletedUnknown = Schema.Struct({
  status: Schema.Literal("COMPLETED"),
  ...stateFields,
  taskType: Schema.Literal(unknownTaskType),
  result: Schema.Unknown
}).annotations({ identifier: "CompletedUnknown" })

/**
 * @since 0.5.0
 * @category Models
 */
export interface CompletedUnknown extends Schema.Schema.Type<typeof CompletedUnknown> {}

/**
 * A completed task of any engine, or of a type this version does not know;
 * narrow `taskType` to type `result`.
 *
 * @since 0.1.0
 * @category Models
 */
export type Completed = { readonly [N in Engine.EngineName]: CompletedOf<N> }[Engine.EngineName] | CompletedUnknown

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
 * @category Schemas
 */
export const Completed: Schema.Schema<Completed> = Schema.Union(
  ...Object.values(Engines.perEngine<CompletedOfLambda>(completedOf)),
  CompletedUnknown
).annotations({ identifier: "Completed" })

/**
 * A task as cloro reports it, discriminated on `status` (and, once COMPLETED,
 * on `taskType`). A task of a type cloro added after this version reads with
 * `taskType` `unknownTaskType` (a COMPLETED one as `CompletedUnknown`).
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
 * @category Models
 */
export type TaskState = Queued | Processing | Completed | Failed

/**
 * The schema of a decoded `TaskState` (its own type on both sides).
 *
 * @since 0.1.0
 * @category Schemas
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
 * @category Constants
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

const decodeResult = <N extends Engine.EngineName>(name: N, response: unknown, options: ParseOptions) => {
  const schema = Engine.engines[name].result
  const input = resultOf(response)
  // The result's fast path where it gives what these options would (it declines the rest).
  if (FastDecode.emulates(options)) {
    const result = FastDecode.compileSchema(schema)(input)
    if (result !== FastDecode.Fail) return Either.right(result)
  }
  return ParseResult.decodeUnknownEither(schema)(input, options)
}

const decodeError = ParseResult.decodeUnknownEither(TaskError)

const validateState = ParseResult.validate(TaskState)

/**
 * The decoded side of `TaskStatusResponse`. Decoding builds the state from
 * parts each decoded by its own schema (the summary, the credits, the
 * engine's result), so what it gives is trusted and checked only for its
 * discriminants: validating it again against the whole `TaskState` union
 * copied and walked the result a second time, most of a poll's decoding
 * (194 µs against 27 µs for the google result alone). Encoding, where the
 * state comes from the caller, checks it in full.
 */
const statuses: ReadonlySet<unknown> = new Set(TaskStatus.literals)
const stateTaskTypes: ReadonlySet<unknown> = new Set(
  StateTaskType.members.flatMap((member): ReadonlyArray<unknown> => member.literals)
)
/** `Schema.is` of these literal unions allocated about 2 KB a call; a set lookup answers the same. */
const isStatus = (u: unknown): u is TaskStatus => statuses.has(u)
const isStateTaskType = (u: unknown): u is StateTaskType => stateTaskTypes.has(u)

/** A state the transformation built: its discriminants, and the part its status carries. */
const isBuiltState = (input: unknown): input is TaskState =>
  Predicate.isRecord(input) && isStatus(input.status) && isStateTaskType(input.taskType) &&
  Predicate.isRecord(input.task) && Predicate.isRecord(input.credits) &&
  (input.status !== "COMPLETED" || "result" in input) && (input.status !== "FAILED" || "error" in input)

const DecodedState = Schema.declare([], {
  decode: () => (input, _, ast) =>
    isBuiltState(input)
      ? ParseResult.succeed(input)
      : ParseResult.fail(new ParseResult.Type(ast, input, "Expected a task state")),
  encode: () => (input, options) => validateState(input, options)
}, { identifier: "TaskState" })

/** The wire body's decoded parts: what the state is built from. */
type Wire = Schema.Schema.Type<typeof TaskStatusWire>

/**
 * Builds the state from the wire body's decoded parts: the `response` of a
 * COMPLETED task decoded by its engine's result schema, the error of a
 * FAILED one. `TaskStatusResponse`'s decoding and `decodeTaskStatus`'s fast
 * path share it.
 */
const stateOf = (
  { credits, response, task, webhook }: Wire,
  options: ParseOptions,
  ast: SchemaAST.AST
): Either.Either<unknown, ParseResult.ParseIssue> => {
  const taskType = stateTaskTypeOf(task.taskType)
  const base = { status: task.status, taskType, task, credits, ...(webhook ? { webhook } : {}) }
  switch (task.status) {
    case "QUEUED":
    case "PROCESSING":
      return Either.right(base)
    case "FAILED":
      return Either.mapBoth(decodeError(failureOf(response), options), {
        onLeft: (issue) => new ParseResult.Pointer(["response", "error"], response, issue),
        onRight: (error) => ({ ...base, error })
      })
    case "COMPLETED":
      if (response === undefined) {
        return Either.left(
          new ParseResult.Pointer(
            "response",
            response,
            new ParseResult.Type(ast, response, "a COMPLETED task carries its result in `response`")
          )
        )
      }
      // a type this version does not know: its response is kept as it came
      if (taskType === unknownTaskType) return Either.right({ ...base, taskType, result: response })
      return Either.mapBoth(decodeResult(Engine.fromTaskType(taskType).name, response, options), {
        onLeft: (issue) => new ParseResult.Pointer("response", response, issue),
        onRight: (result) => ({ ...base, result })
      })
  }
}

/**
 * The body of `GET /v1/async/task/{id}` (and of a webhook delivery), decoded
 * into a `TaskState`: the `response` of a COMPLETED task is decoded by the
 * result schema of the engine `task.taskType` names (issues point at
 * `response`), the `response.error` of a FAILED one becomes `error`.
 * Encoding gives the wire shape back, for the simulator.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TaskStatusResponse: Schema.Schema<TaskState, Schema.Schema.Encoded<typeof TaskStatusWire>> = Schema
  .transformOrFail(TaskStatusWire, DecodedState, {
    // not strict: which schema checks `response` is only known at run time
    strict: false,
    decode: (wire, options, ast) => stateOf(wire, options, ast),
    encode: (state) =>
      ParseResult.succeed({
        // the top-level discriminants are the ones code narrows on, so they win
        task: {
          ...state.task,
          status: state.status,
          taskType: state.taskType === unknownTaskType ? state.task.taskType : state.taskType
        },
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

const decodeBySchema = Schema.decodeUnknownEither(TaskStatusResponse, { errors: "all" })
const decodeFast = FastDecode.compileSchema(TaskStatusResponse)

/**
 * Decodes a parsed task body (`GET /v1/async/task/{id}` or a webhook
 * delivery); every issue is reported.
 *
 * A body goes through the schema's fast path first (`FastDecode`: the wire
 * struct, then the part its status carries, a COMPLETED task's result or a
 * FAILED one's error): the same state `TaskStatusResponse` decodes to, for a
 * fraction of the allocation (the generic struct decoding was about 30 KB of
 * a poll's, issue 16). A body it declines, and any issue, is decoded by
 * `TaskStatusResponse`, so errors read as they always did.
 *
 * @since 0.1.0
 * @category Functions
 */
export const decodeTaskStatus = (json: unknown): Either.Either<TaskState, ParseResult.ParseError> => {
  const state = decodeFast(json)
  return state === FastDecode.Fail ? decodeBySchema(json) : Either.right(state)
}

/**
 * Encodes a task state into the body cloro sends for it.
 *
 * @since 0.1.0
 * @category Functions
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
 * @category Guards
 */
export const isFinished = (state: TaskState): state is Completed | Failed =>
  state.status === "COMPLETED" || state.status === "FAILED"
