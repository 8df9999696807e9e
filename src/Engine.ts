/**
 * The answer engines cloro scrapes, each described once: its sync path, its
 * async `taskType`, the schemas of its request and of its `result`, and the
 * cross-field rules its request must meet.
 *
 * The client, the simulator, the pricing table, the async API and the CLI
 * all read one registry (`src/internal/engines.ts`), so an engine is added
 * with one entry there and its schema file (CONTRIBUTING.md, "Adding an
 * engine").
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as FieldIssues from "./internal/request/fieldIssues.js"
import { FieldIssue, InvalidRequest } from "./CloroError.js"
import * as Engines from "./internal/engines.js"
import * as RequestBody from "./internal/request/requestBody.js"

/**
 * Country and US-state codes, also under `Common`.
 *
 * @since 0.1.0
 */
export { CountryCode, countryCodes, UsState, usStates } from "./engines/Common.js"

/**
 * An engine's short name, as the client's `monitor.*` methods spell it.
 *
 * @since 0.1.0
 * @category Models
 */
export type EngineName = Engines.Name

/**
 * The engine's name in the async API (`taskType`).
 *
 * @since 0.1.0
 * @category Models
 */
export type TaskType = Engines.TaskType

/**
 * Everything the library knows about one engine.
 *
 * @since 0.1.0
 * @category Models
 */
export interface EngineSpec<Name extends string, Type extends string, Req, Res, ResEncoded = Res> {
  readonly name: Name
  readonly taskType: Type
  /** Sync endpoint, e.g. `/v1/monitor/chatgpt`. */
  readonly path: string
  /** The request body; decoding it checks field types, ranges and unknown keys. */
  readonly request: Schema.Schema<Req>
  /**
   * The engine's `result` object; unknown fields are ignored. Its encoded side
   * differs from its type where a field the spec does not require gets a
   * default (`text` decodes to `""`, `sources` to `[]` when absent).
   */
  readonly result: Schema.Schema<Res, ResEncoded>
  /**
   * Rules across fields that a schema alone does not express (`country` vs
   * `gl`, `state` only with US...). They read the raw body so that they report
   * alongside schema issues, not only once the schema passes.
   */
  readonly crossFieldIssues: (body: Readonly<Record<string, unknown>>) => ReadonlyArray<FieldIssue>
}

/**
 * The request type of an engine.
 *
 * @since 0.1.0
 * @category Models
 */
export type Request<N extends EngineName> = Engines.Requests[N]

/**
 * The `result` type of an engine.
 *
 * @since 0.1.0
 * @category Models
 */
export type Result<N extends EngineName> = Engines.Results[N]

/**
 * The `result` of an engine as it travels in JSON (before defaults are applied).
 *
 * @since 0.1.0
 * @category Models
 */
export type ResultEncoded<N extends EngineName> = Engines.ResultsEncoded[N]

/**
 * Every engine by name.
 *
 * @since 0.1.0
 * @category Constants
 */
export const engines: {
  readonly [N in EngineName]: EngineSpec<N, Engines.TaskTypes[N], Request<N>, Result<N>, ResultEncoded<N>>
} =
  Engines.registry

/**
 * Every engine name, in a stable order.
 *
 * @since 0.1.0
 * @category Constants
 */
export const names: ReadonlyArray<EngineName> = Engines.names

/**
 * Looks an engine up by its async `taskType`. Total: every `TaskType` has
 * an engine (for a string that may be none, see `findByTaskType`). With a
 * literal task type the spec is that engine's; with a `TaskType` read from a
 * task it is the union of all specs, whose `name` then selects the engine for
 * `validate` or `decodeResult`.
 *
 * @example
 * ```ts
 * import { Engine } from "cloro-effect"
 *
 * Engine.fromTaskType("GOOGLE_NEWS").path // "/v1/monitor/google/news"
 * ```
 *
 * @since 0.1.0
 * @category Functions
 */
export const fromTaskType = <T extends TaskType>(taskType: T): Engines.ByTaskType[T] => Engines.fromTaskType(taskType)

/**
 * Looks an engine up by a task type that may not be one (a string read from
 * a file, a header, a command line): `Some` of its spec, or `None`. Where the
 * value is already a `TaskType` (decoded by `Task.TaskType`), `fromTaskType`
 * needs no `Option`.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import { Engine } from "cloro-effect"
 *
 * Engine.findByTaskType("GEMINI").pipe(Option.map((spec) => spec.name)) // Option.some("gemini")
 * Engine.findByTaskType("BING") // Option.none()
 * ```
 *
 * @since 0.4.0
 * @category Functions
 */
export const findByTaskType = (taskType: string): Option.Option<(typeof engines)[EngineName]> =>
  Engines.findByTaskType(taskType)

/**
 * Decodes an engine's `result` object (the sync response's `result`, or a
 * completed task's `response`), ignoring fields the schema does not know.
 *
 * @since 0.1.0
 * @category Functions
 */
export const decodeResult = <N extends EngineName>(
  name: N,
  input: unknown
): Either.Either<Result<N>, ParseResult.ParseError> =>
  Schema.decodeUnknownEither(Engines.registry[name].result, { errors: "all" })(input)

const notAnObject = new FieldIssue({ field: "(body)", message: "The request body must be a JSON object" })

const invalidRequest = (name: EngineName, issues: ReadonlyArray<FieldIssue>): InvalidRequest =>
  new InvalidRequest({
    message: `Invalid ${name} request: ${issues.map((issue) => `${issue.field}: ${issue.message}`).join("; ")}`,
    source: "client",
    issues
  })

/**
 * Validates a request for an engine locally, collecting every issue (schema
 * and cross-field) into one `InvalidRequest` with `source: "client"`.
 *
 * @example
 * ```ts
 * import { Engine } from "cloro-effect"
 *
 * Engine.validate("chatgpt", { prompt: "", country: "US" })
 * // Either.left(InvalidRequest { issues: [{ field: "prompt", message: "Prompt cannot be empty" }] })
 * ```
 *
 * @since 0.1.0
 * @category Functions
 */
export const validate = <N extends EngineName>(
  name: N,
  raw: unknown
): Either.Either<Request<N>, InvalidRequest> => {
  // `undefined` means absent, as in JSON: `{ include: undefined }` is `{}`
  const input = RequestBody.stripUndefined(raw)
  if (!Predicate.isRecord(input)) {
    return Either.left(invalidRequest(name, [notAnObject]))
  }
  const spec = Engines.registry[name]
  const decoded = Schema.decodeUnknownEither(spec.request, { errors: "all", onExcessProperty: "error" })(input)
  const issues = [
    ...Either.match(decoded, { onLeft: FieldIssues.fromParseError, onRight: () => [] }),
    ...spec.crossFieldIssues(input)
  ]
  return Either.isRight(decoded) && issues.length === 0
    ? Either.right(decoded.right)
    : Either.left(invalidRequest(name, issues))
}

/**
 * The request fields an engine's schema knows, e.g. to check that an
 * `unknownFields` escape hatch does not shadow a checked field.
 *
 * @since 0.1.0
 * @category Functions
 */
export const knownFields = (name: EngineName): ReadonlyArray<string> =>
  SchemaAST.getPropertySignatures(Engines.registry[name].request.ast).map((signature) => String(signature.name))

/**
 * The JSON body for a validated request plus fields this library does not
 * know yet (`CallOptions.unknownFields`), sent as they are. A name the
 * engine's schema knows, or a value that is not JSON, is an `InvalidRequest`:
 * the escape hatch is for new parameters, not for skipping local checks.
 *
 * @example
 * ```ts
 * import { Engine } from "cloro-effect"
 *
 * Engine.withUnknownFields("chatgpt", { prompt: "Hi", country: "US" }, { brandNewParam: true })
 * // Either.right({ prompt: "Hi", country: "US", brandNewParam: true })
 * ```
 *
 * @since 0.1.0
 * @category Functions
 */
export const withUnknownFields = <N extends EngineName>(
  name: N,
  request: Request<N>,
  unknownFields: Readonly<Record<string, unknown>> | undefined
): Either.Either<Readonly<Record<string, unknown>>, InvalidRequest> =>
  Either.mapBoth(RequestBody.withUnknownFields(request, unknownFields, knownFields(name)), {
    onLeft: (issues) => invalidRequest(name, issues),
    onRight: (body) => ({ ...(Predicate.isRecord(body) ? body : {}) })
  })
