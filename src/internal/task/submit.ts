/**
 * Submitting a task: the submission's schema per engine, its local validation
 * (every issue at once) and its wire form. Public as `Task.*`.
 *
 * @internal
 */
import * as Arr from "effect/Array"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { ParseOptions } from "effect/SchemaAST"
import * as FieldIssues from "../request/fieldIssues.js"
import * as RequestBody from "../request/requestBody.js"
import { FieldIssue, InvalidRequest } from "../../CloroError.js"
import * as Engine from "../../Engine.js"
import * as Engines from "../engines.js"
import { isKnownTaskType, TaskType, type TaskTypeOf } from "./base.js"

// ---------------------------------------------------------------------------
// submitting
// ---------------------------------------------------------------------------

/**
 * The longest `idempotencyKey` accepted locally. cloro documents no limit;
 * this bound keeps a runaway key (a whole prompt, say) from being sent.
 *
 * @since 0.1.0
 * @category Constants
 */
export const maxIdempotencyKeyLength = 255

/**
 * The most tasks one batch may hold.
 *
 * @since 0.1.0
 * @category Constants
 */
export const maxBatchSize = 500

/**
 * A task's priority: an integer from 1 (the default) to 10; higher runs first,
 * FIFO within a level.
 *
 * @since 0.1.0
 * @category Schemas
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
 * @category Schemas
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
 * @category Schemas
 */
export const WebhookTarget = Schema.Struct({
  url: Schema.String.annotations({ message: () => "webhook.url must be a string" }).pipe(
    Schema.filter((url) => isHttpUrl(url) || `webhook.url must be an absolute http(s) URL (got ${JSON.stringify(url)})`)
  )
}).annotations({ identifier: "WebhookTarget" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface WebhookTarget extends Schema.Schema.Type<typeof WebhookTarget> {}

/**
 * The optional parts of a submission.
 *
 * @since 0.1.0
 * @category Models
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
 * @category Models
 */
export interface SubmitTaskOf<N extends Engine.EngineName> extends SubmitOptions {
  readonly taskType: TaskTypeOf<N>
  readonly payload: Engine.Request<N>
}

/**
 * A task to submit, discriminated on `taskType`: narrowing it types `payload`.
 *
 * @since 0.1.0
 * @category Models
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
 * @category Schemas
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
 * @category Constructors
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

/** @internal */
export const strict: ParseOptions = { errors: "all", onExcessProperty: "error" }

const isTaskType = isKnownTaskType

/** `(body)` is how `Engine.validate` names the payload itself. */
/** @internal */
export const prefixed = (prefix: string, issue: FieldIssue): FieldIssue =>
  new FieldIssue({
    field: issue.field === "(body)" ? prefix : `${prefix}.${issue.field}`,
    message: issue.message
  })

/** @internal */
export const submitIssues = (raw: unknown): ReadonlyArray<FieldIssue> => {
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

/** @internal */
export const invalid = (what: string, issues: ReadonlyArray<FieldIssue>): InvalidRequest => {
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
 * @category Functions
 */
export const validateSubmit = (input: unknown): Either.Either<SubmitTask, InvalidRequest> => {
  const owned = Predicate.isObject(input) ? validatedOwned.get(input) : undefined
  if (owned !== undefined) return Either.right(owned)
  const stripped = RequestBody.stripUndefined(input)
  const issues = submitIssues(stripped)
  if (issues.length > 0) return Either.left(invalid("task", issues))
  // Every check passed: a plain object (a fresh copy, `stripUndefined` made it) is a task as it stands.
  // Decoding it again only to type it walked the task a second time, per task of a bulk run.
  if (isCheckedCopy(stripped)) return Either.right(stripped)
  return Either.mapLeft(
    Schema.decodeUnknownEither(SubmitTask, strict)(stripped),
    (error) => invalid("task", FieldIssues.fromParseError(error))
  )
}

/**
 * Tasks the library validated for itself and froze (`validateOwned`): they
 * cannot have changed since, so validating them again is skipped. A bulk run
 * validates each task as it reads it and hands it to `submitBatch`, which
 * validated it a second time (about 15 KB and 10 µs a task, issue 16). Keyed
 * weakly: an entry goes with its task.
 */
const validatedOwned = new WeakMap<object, SubmitTask>()

/** Freezes a plain JSON value all the way down; `false` (and nothing frozen after it) on anything else. */
const freezeJson = (u: unknown): boolean => {
  if (u === null || typeof u !== "object") return typeof u !== "function" && typeof u !== "symbol" && typeof u !== "bigint"
  if (!Array.isArray(u) && Object.getPrototypeOf(u) !== Object.prototype) return false
  for (const value of Object.values(u)) {
    if (!freezeJson(value)) return false
  }
  Object.freeze(u)
  return true
}

/**
 * `validateSubmit` for a task the library keeps to itself: the valid copy is
 * frozen (it is a fresh copy, never the caller's object) and remembered, so
 * that `validateSubmit` and `planBatch` take it as it is later. Only for
 * copies no caller sees.
 *
 * @internal
 */
export const validateOwned = (input: unknown): Either.Either<SubmitTask, InvalidRequest> =>
  Either.map(validateSubmit(input), (valid) => {
    // a copy: `stripUndefined` made it, and `validateSubmit` returns it only when it is one (else a decoded one)
    if (valid !== input && freezeJson(valid)) validatedOwned.set(valid, valid)
    return valid
  })

/**
 * Only for a value `submitIssues` found nothing wrong with: whether it is the
 * plain object those checks walked, with the payload they checked (they do
 * not ask for one; anything else is decoded, which does).
 */
const isCheckedCopy = (checked: unknown): checked is SubmitTask =>
  Predicate.isRecord(checked) && Object.getPrototypeOf(checked) === Object.prototype &&
  Predicate.isRecord(checked.payload) && !Array.isArray(checked.payload)

/**
 * The JSON body cloro receives for a validated task: `unknownPayloadFields`
 * merged into `payload`, every other field as it is.
 *
 * @since 0.1.0
 * @category Functions
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
 * @category Functions
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
