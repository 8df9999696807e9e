/**
 * Async workflows on top of `CloroClient.tasks`: `wait` follows one task to
 * its end, `run` takes any number of tasks through batches and gives back one
 * outcome per input, in completion order.
 *
 * Both poll on a declarative `Schedule` (by default as cloro's own SDK does:
 * at once, then after 2 s, growing ×1.5 up to 15 s between polls) and measure
 * time on Effect's `Clock`, so `TestClock` drives them. `run` can listen to
 * webhooks instead of polling, keeping a slow poll as a safety net for
 * deliveries that never arrive.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { AsyncTasks, Task } from "cloro-effect"
 *
 * const prompts = ["Best CRM for startups?", "Best laptop for students?"]
 * const outcomes = AsyncTasks.run(
 *   prompts.map((prompt, i) => ({ id: `row-${i}`, task: Task.make("chatgpt", { prompt, country: "US" }) }))
 * )
 * const program = Stream.runForEach(outcomes, (outcome) =>
 *   Effect.log(outcome.id, outcome.result._tag === "Right" ? "done" : outcome.result.left._tag)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Arr from "effect/Array"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as CloroClient from "./CloroClient.js"
import {
  type CloroError,
  Conflict,
  FieldIssue,
  InsufficientCredits,
  InvalidRequest,
  ResponseDecodeError,
  UnexpectedStatus
} from "./CloroError.js"
import * as Keys from "./internal/asyncTasksKeys.js"
import * as Tracker from "./internal/asyncTasksTracker.js"
import * as Task from "./Task.js"
import type * as Webhooks from "./Webhooks.js"

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

/**
 * The task ended FAILED (after cloro's own retries; it was not charged).
 * `code` and `message` are the task's `response.error`.
 *
 * @since 0.1.0
 */
export class TaskFailed extends Schema.TaggedError<TaskFailed>()("TaskFailed", {
  message: Schema.String,
  taskId: Schema.String,
  taskType: Task.TaskType,
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
  taskType: Schema.optional(Task.TaskType),
  /** The status of the last poll, when there was one. */
  lastStatus: Schema.optional(Task.TaskStatus),
  waited: Schema.DurationFromSelf
}) {}

/**
 * Every way waiting for a task can fail.
 *
 * @since 0.1.0
 */
export type WaitError = CloroError | TaskFailed | TaskTimeout

const taskFailed = (state: Task.Failed): TaskFailed =>
  new TaskFailed({
    message: state.error.message,
    taskId: state.task.id,
    taskType: state.taskType,
    code: state.error.code,
    ...(state.error.details === undefined ? {} : { details: state.error.details })
  })

const completedOrFailed = (state: Task.Completed | Task.Failed): Effect.Effect<Task.Completed, TaskFailed> =>
  state.status === "COMPLETED" ? Effect.succeed(state) : Effect.fail(taskFailed(state))

// ---------------------------------------------------------------------------
// polling
// ---------------------------------------------------------------------------

/**
 * The delays between polls: 2 s, growing ×1.5 per poll, at most 15 s apart
 * (cloro's Node SDK polls the same way).
 *
 * @since 0.1.0
 */
export const defaultPollSchedule: Schedule.Schedule<unknown> = Schedule.exponential(Duration.seconds(2), 1.5).pipe(
  Schedule.union(Schedule.spaced(Duration.seconds(15)))
)

/**
 * How long `wait` waits for a task by default: 300 s, as cloro's SDK.
 *
 * @since 0.1.0
 */
export const defaultWaitTimeout: Duration.Duration = Duration.seconds(300)

/** Polls at once, then on the schedule, until the task is finished or the schedule stops; gives the last state seen. */
const pollUntilFinished = (
  get: Effect.Effect<Task.TaskState, CloroError>,
  schedule: Schedule.Schedule<unknown, Task.TaskState>
): Effect.Effect<Task.TaskState, CloroError> =>
  Effect.flatMap(Schedule.driver(schedule), (driver) => {
    const loop = (state: Task.TaskState): Effect.Effect<Task.TaskState, CloroError> =>
      Task.isFinished(state)
        ? Effect.succeed(state)
        : Effect.matchEffect(driver.next(state), {
          onFailure: () => Effect.succeed(state),
          onSuccess: () => Effect.flatMap(get, loop)
        })
    return Effect.flatMap(get, loop)
  })

const invalidOptions = (issues: ReadonlyArray<FieldIssue>) =>
  new InvalidRequest({
    message: `Invalid options: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`,
    source: "client",
    issues: [...issues]
  })

/** A positive duration, or an issue for `field`. */
const durationIssue = (
  field: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration
): Either.Either<Duration.Duration, FieldIssue> => {
  if (input === undefined) return Either.right(fallback)
  return Option.match(Option.filter(Duration.decodeUnknown(input), Duration.greaterThan(Duration.zero)), {
    onNone: () => Either.left(new FieldIssue({ field, message: "must be a positive duration (e.g. \"5 minutes\" or millis)" })),
    onSome: Either.right
  })
}

/**
 * Options of `wait`.
 *
 * @since 0.1.0
 */
export interface WaitOptions {
  /** Delays between polls; its input is the last state seen. Default `defaultPollSchedule`. */
  readonly schedule?: Schedule.Schedule<unknown, Task.TaskState> | undefined
  /** The longest wait; default 300 s. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Passed to each poll (`tag`, `timeout`, `retry`). */
  readonly callOptions?: CloroClient.CallOptions | undefined
}

/**
 * Waits for a task to finish: polls `GET /v1/async/task/{id}` at once, then
 * on the schedule, and ends with the COMPLETED state (narrow `taskType` to
 * type `result`), a `TaskFailed` for a FAILED task, or a `TaskTimeout` when
 * the time limit passes or the schedule stops. Transient poll errors are
 * retried by the client's `RetryPolicy`; an unknown or expired task is a
 * `NotFound`. Interrupting the wait stops the polling.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AsyncTasks, CloroClient, Task } from "cloro-effect"
 *
 * const program = Effect.gen(function* () {
 *   const cloro = yield* CloroClient.CloroClient
 *   const submitted = yield* cloro.tasks.submit(Task.make("chatgpt", { prompt: "Best CRM?", country: "US" }))
 *   const done = yield* AsyncTasks.wait(submitted.result.task.id, { timeout: "10 minutes" })
 *   if (done.taskType === "CHATGPT") yield* Effect.log(done.result.text)
 * }).pipe(Effect.catchTag("TaskFailed", (e) => Effect.log(`failed: ${e.code}`)))
 * ```
 *
 * @since 0.1.0
 */
export const wait = (
  taskId: string,
  options: WaitOptions = {}
): Effect.Effect<Task.Completed, WaitError, CloroClient.CloroClient> =>
  Effect.gen(function*() {
    const timeout = yield* Either.mapLeft(
      durationIssue("timeout", options.timeout, defaultWaitTimeout),
      (issue) => invalidOptions([issue])
    )
    const client = yield* CloroClient.CloroClient
    const last = yield* Ref.make(Option.none<Task.TaskState>())
    const start = yield* Clock.currentTimeMillis
    const get = client.tasks.get(taskId, options.callOptions).pipe(
      Effect.map((response) => response.result),
      Effect.tap((state) => Ref.set(last, Option.some(state)))
    )
    const polled = yield* pollUntilFinished(get, options.schedule ?? defaultPollSchedule).pipe(
      Effect.timeoutOption(timeout)
    )
    if (Option.isSome(polled) && Task.isFinished(polled.value)) return yield* completedOrFailed(polled.value)
    const seen = yield* Ref.get(last)
    const waited = Duration.millis((yield* Clock.currentTimeMillis) - start)
    return yield* new TaskTimeout({
      message: Option.isNone(polled)
        ? `Task ${taskId} did not finish within ${Duration.format(timeout)}`
        : `Task ${taskId} had not finished when the poll schedule stopped, after ${Duration.format(waited)}`,
      taskId,
      waited,
      ...Option.match(seen, {
        onNone: () => ({}),
        onSome: (state) => ({ taskType: state.taskType, lastStatus: state.status })
      })
    })
  }).pipe(Effect.withSpan("AsyncTasks.wait", { attributes: { "cloro.task.id": taskId } }))

// ---------------------------------------------------------------------------
// run: models
// ---------------------------------------------------------------------------

/**
 * One unit of work for `run`. Give an `id` (unique within the work) to make
 * re-running safe: the task's idempotency key is derived from it, so a task
 * submitted before is found again instead of created twice.
 *
 * @since 0.1.0
 */
export interface RunRequest {
  readonly id?: string | undefined
  readonly task: Task.SubmitTask
}

/**
 * Every way one task of a run can fail: refused at submission (`InvalidRequest`,
 * `InsufficientCredits`, `BudgetExceeded`, `Conflict` when its key exists and
 * its task id cannot be found...), FAILED (`TaskFailed`), not finished in
 * time (`TaskTimeout`), or an error while polling it.
 *
 * @since 0.1.0
 */
export type RunError = CloroError | TaskFailed | TaskTimeout

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

/**
 * A task accepted by cloro, as `Journal.record` receives it.
 *
 * @since 0.1.0
 */
export interface Submitted {
  readonly id: string | undefined
  readonly index: number
  readonly idempotencyKey: string
  readonly taskId: string
}

/**
 * Where a run writes down the task ids it was given, so that a later run can
 * follow tasks it finds already submitted. cloro's 409 for a reused key does
 * not say which task holds the key, and there is no way to list tasks, so
 * without a journal such a task can only be reported as a `Conflict` (or, with
 * webhooks, recognised when its delivery arrives).
 *
 * @since 0.1.0
 */
export interface Journal {
  /** Called once per submitted batch with its accepted tasks. */
  readonly record: (submitted: ReadonlyArray<Submitted>) => Effect.Effect<void>
  /** The task id recorded for a key, when a submission finds the key taken. */
  readonly lookup: (
    item: { readonly id: string | undefined; readonly index: number; readonly idempotencyKey: string }
  ) => Effect.Effect<Option.Option<string>>
}

/**
 * A journal in memory, for resuming within one process (after an interrupted
 * run, say). It keeps every entry; back a long-lived one by a database.
 *
 * @since 0.1.0
 */
export const memoryJournal: Effect.Effect<Journal> = Effect.map(
  Ref.make(HashMap.empty<string, string>()),
  (ref): Journal => ({
    record: (submitted) =>
      Ref.update(ref, (known) => submitted.reduce((map, s) => HashMap.set(map, s.idempotencyKey, s.taskId), known)),
    lookup: (item) => Effect.map(Ref.get(ref), HashMap.get(item.idempotencyKey))
  })
)

/**
 * Webhook delivery for `run`.
 *
 * @since 0.1.0
 */
export interface WebhookOptions {
  /** The accepted deliveries, e.g. `Webhooks.makeReceiver(...)`'s `events` (the run becomes its reader). */
  readonly events: Stream.Stream<Webhooks.WebhookEvent>
  /** The public URL of the receiver, put in each task's `webhook.url`. */
  readonly url: string
  /** How long to wait for a delivery before polling the task; default 2 minutes. */
  readonly fallbackAfter?: Duration.DurationInput | undefined
  /** The delays of that fallback poll; default every minute. */
  readonly fallbackSchedule?: Schedule.Schedule<unknown, Task.TaskState> | undefined
}

/**
 * Options of `run`.
 *
 * @since 0.1.0
 */
export interface RunOptions {
  /** Tasks per `POST /v1/async/task/batch`, 1 to 500; default 500. */
  readonly batchSize?: number | undefined
  /**
   * Sends a partial batch once its first task has waited this long, so a
   * slowly trickling input stream is not held back until `batchSize` inputs
   * have arrived. Default: wait for a full batch (or the end of the input).
   */
  readonly batchWindow?: Duration.DurationInput | undefined
  /**
   * Tasks submitted and not yet finished at once (each one polled, or waited
   * for); default 1,000. At most this many plus one batch are held in memory.
   */
  readonly inFlight?: number | undefined
  /** Delays between polls of one task; default `defaultPollSchedule`. */
  readonly schedule?: Schedule.Schedule<unknown, Task.TaskState> | undefined
  /** Polls sent at once when many tasks are due together; default 100. */
  readonly pollConcurrency?: number | undefined
  /** How long one task may take from when the run starts following it; default 1 hour. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Delays before sending a batch again after `QUEUE_LIMIT_EXCEEDED`; when it
   * stops, the batch's tasks end with `QueueLimitExceeded`. Default
   * `defaultQueueFullSchedule`.
   */
  readonly queueFullSchedule?: Schedule.Schedule<unknown, CloroError> | undefined
  /**
   * Put before every derived idempotency key, to keep the ids of one job apart
   * from another's for the ~24 h cloro remembers keys. Up to 128 characters.
   */
  readonly keyPrefix?: string | undefined
  /** Records accepted task ids and finds them again; see `Journal`. */
  readonly journal?: Journal | undefined
  /** Wait for webhooks instead of polling. */
  readonly webhooks?: WebhookOptions | undefined
  /** Passed to every call (`tag` for the ledger, `timeout`, `retry`). */
  readonly callOptions?: CloroClient.CallOptions | undefined
}

/**
 * The default wait after `QUEUE_LIMIT_EXCEEDED`: 5 s doubling up to a minute,
 * jittered, for up to 30 minutes.
 *
 * @since 0.1.0
 */
export const defaultQueueFullSchedule: Schedule.Schedule<unknown> = Schedule.exponential(Duration.seconds(5), 2).pipe(
  Schedule.union(Schedule.spaced(Duration.minutes(1))),
  Schedule.jittered,
  Schedule.upTo(Duration.minutes(30))
)

/**
 * The default time one task of a run may take. A run keeps up to `inFlight`
 * tasks in cloro's queue, and a plan works through them a few at a time, so
 * this is far longer than `wait`'s.
 *
 * @since 0.1.0
 */
export const defaultRunTimeout: Duration.Duration = Duration.hours(1)

/**
 * The idempotency key `run` gives the input with this id: the id after the
 * prefix when it is short and plain, otherwise its SHA-256. Useful to find a
 * run's tasks in a journal or in cloro's dashboard.
 *
 * @since 0.1.0
 */
export const idempotencyKeyFor = (id: string, options: { readonly keyPrefix?: string | undefined } = {}): string =>
  Keys.keyFor(id, options.keyPrefix ?? "")

// ---------------------------------------------------------------------------
// run: settings
// ---------------------------------------------------------------------------

interface Settings {
  readonly batchSize: number
  readonly batchWindow: Duration.Duration | undefined
  readonly inFlight: number
  readonly pollConcurrency: number
  readonly schedule: Schedule.Schedule<unknown, Task.TaskState>
  readonly timeout: Duration.Duration
  readonly queueFullSchedule: Schedule.Schedule<unknown, CloroError>
  readonly keyPrefix: string
  readonly journal: Journal | undefined
  readonly webhooks:
    | {
      readonly events: Stream.Stream<Webhooks.WebhookEvent>
      readonly url: string
      readonly fallbackAfter: Duration.Duration
      readonly fallbackSchedule: Schedule.Schedule<unknown, Task.TaskState>
    }
    | undefined
  readonly callOptions: CloroClient.CallOptions | undefined
}

const isWebhookTarget = Schema.is(Task.WebhookTarget)

const countIssue = (field: string, value: number | undefined, fallback: number, max: number) =>
  value === undefined
    ? Either.right(fallback)
    : Number.isInteger(value) && value >= 1 && value <= max
    ? Either.right(value)
    : Either.left(
      new FieldIssue({ field, message: `must be an integer from 1${max === Infinity ? " up" : ` to ${max}`}` })
    )

const settingsOf = (options: RunOptions): Either.Either<Settings, InvalidRequest> => {
  const hooks = options.webhooks
  const keyPrefix = options.keyPrefix ?? ""
  const fields = {
    batchSize: countIssue("batchSize", options.batchSize, Task.maxBatchSize, Task.maxBatchSize),
    inFlight: countIssue("inFlight", options.inFlight, 1_000, Infinity),
    pollConcurrency: countIssue("pollConcurrency", options.pollConcurrency, 100, Infinity),
    timeout: durationIssue("timeout", options.timeout, defaultRunTimeout),
    keyPrefix: Keys.validPrefix(keyPrefix)
      ? Either.right(keyPrefix)
      : Either.left(
        new FieldIssue({
          field: "keyPrefix",
          message: `must be at most ${Keys.maxPrefixLength} letters, digits or . _ : @ / + = -`
        })
      ),
    webhookUrl: hooks === undefined || isWebhookTarget({ url: hooks.url })
      ? Either.right(hooks?.url)
      : Either.left(new FieldIssue({ field: "webhooks.url", message: "must be an absolute http(s) URL" })),
    fallbackAfter: durationIssue("webhooks.fallbackAfter", hooks?.fallbackAfter, Duration.minutes(2)),
    batchWindow: options.batchWindow === undefined
      ? Either.right(undefined)
      : durationIssue("batchWindow", options.batchWindow, Duration.zero)
  }
  return Either.all(fields).pipe(
    // every issue, not only the first that `Either.all` stops at
    Either.mapLeft(() => invalidOptions(Arr.getLefts(Object.values(fields)))),
    Either.map(({ batchSize, batchWindow, fallbackAfter, inFlight, pollConcurrency, timeout }): Settings => ({
      batchSize,
      batchWindow,
      inFlight,
      pollConcurrency,
      schedule: options.schedule ?? defaultPollSchedule,
      timeout,
      queueFullSchedule: options.queueFullSchedule ?? defaultQueueFullSchedule,
      keyPrefix,
      journal: options.journal,
      webhooks: hooks === undefined ? undefined : {
        events: hooks.events,
        url: hooks.url,
        fallbackAfter,
        fallbackSchedule: hooks.fallbackSchedule ?? Schedule.spaced(Duration.minutes(1))
      },
      callOptions: options.callOptions
    }))
  )
}

// ---------------------------------------------------------------------------
// run: steps
// ---------------------------------------------------------------------------

/** What an outcome says about the input, whatever became of it. */
interface Origin {
  readonly id: string | undefined
  readonly index: number
  readonly taskType: Task.TaskType | undefined
  readonly idempotencyKey: string | undefined
}

/** A valid input, ready to be sent. */
interface Prepared {
  readonly origin: Origin
  readonly key: string
  readonly task: Task.SubmitTask
}

/** What a submission leaves to do for one input. */
type Step =
  | { readonly _tag: "Done"; readonly outcome: Outcome }
  | {
    readonly _tag: "Follow"
    readonly origin: Origin
    readonly key: string
    readonly taskId: string
    /** The state at submission, so that the first poll waits for the schedule. */
    readonly initial: Option.Option<Task.TaskState>
    readonly creditsToCharge: number | null
    readonly delivered: Deferred.Deferred<Tracker.Finished, RunError>
  }
  | {
    /** With webhooks, a key found taken whose task id nothing knew: only its delivery can tell. */
    readonly _tag: "AwaitDelivery"
    readonly origin: Origin
    readonly key: string
    readonly delivered: Deferred.Deferred<Tracker.Finished, RunError>
  }

/**
 * Errors after which no task can exist: refused before sending, or by an
 * answer that creates nothing. Any other (a timeout, a 5xx) leaves it unknown.
 */
const createsNothing: ReadonlySet<RunError["_tag"]> = new Set<RunError["_tag"]>([
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
const failedOutcome = (
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

const finishedOutcome = (origin: Origin, state: Tracker.Finished): Outcome => ({
  ...origin,
  taskType: state.taskType,
  taskId: state.task.id,
  result: state.status === "COMPLETED" ? Either.right(state) : Either.left(taskFailed(state)),
  creditsToCharge: state.credits.creditsToCharge,
  creditsCharged: state.credits.creditsCharged
})

const keyTaken = (key: string, message: string) =>
  new Conflict({ message, status: 409, code: "RESOURCE_ALREADY_EXISTS", field: "idempotencyKey", value: key })

const isTaskType = Schema.is(Task.TaskType)

const requestIssue = (message: string) =>
  new InvalidRequest({
    message: `Invalid request: ${message}`,
    source: "client",
    issues: [new FieldIssue({ field: "(request)", message })]
  })

/** The issues of a batch item refused for validation, in either documented shape. */
const itemIssues = (details: unknown): Array<FieldIssue> => {
  const asIssue = (raw: unknown): Array<FieldIssue> =>
    Predicate.isRecord(raw) && Predicate.isString(raw.field) && Predicate.isString(raw.message)
      ? [new FieldIssue({ field: raw.field, message: raw.message })]
      : []
  if (Predicate.isRecord(details) && Arr.isArray(details.errors)) return details.errors.flatMap(asIssue)
  if (Arr.isArray(details)) return details.flatMap(asIssue)
  return asIssue(details)
}

const itemError = (error: Task.BatchItemError): CloroError => {
  switch (error.code) {
    case "VALIDATION_ERROR":
      return new InvalidRequest({ message: error.message, source: "server", issues: itemIssues(error.details) })
    case "INSUFFICIENT_CREDITS":
      return new InsufficientCredits({ message: error.message, status: 403 })
    default:
      return new UnexpectedStatus({ message: error.message, code: error.code })
  }
}

const isStream = <A, E, R>(input: Iterable<A> | Stream.Stream<A, E, R>): input is Stream.Stream<A, E, R> =>
  Predicate.hasProperty(input, Stream.StreamTypeId)

/**
 * Runs any number of tasks and streams one outcome per input, in the order
 * the tasks finish.
 *
 * Inputs are read lazily and sent in batches of `batchSize`, each task with
 * an idempotency key (derived from its `id`, random without one, or the
 * task's own), so that sending a batch again creates nothing twice: after
 * `QUEUE_LIMIT_EXCEEDED` the run waits on `queueFullSchedule` and sends the
 * same batch again, and re-running interrupted work with the same ids finds
 * the tasks already there (follow them by giving a `journal`). At most
 * `inFlight` tasks are followed at once, each polled on `schedule`, or, with
 * `webhooks`, waited for by its delivery with a slow poll as a fallback.
 *
 * Nothing is lost: an invalid input, a task refused in its batch or a batch
 * refused as a whole gives outcomes with the error, and the stream itself
 * fails only when the options are invalid or the input stream fails.
 * Every finished task is settled in the client's `Credits` ledger, whether it
 * was seen by a poll or by a webhook delivery.
 *
 * @example
 * ```ts
 * import { Effect, Either, Stream } from "effect"
 * import { AsyncTasks, Task } from "cloro-effect"
 *
 * const requests = Stream.range(1, 10_000).pipe(
 *   Stream.map((n) => ({ id: `q-${n}`, task: Task.make("google", { query: `crm ${n}`, country: "US" }) }))
 * )
 * const failures = AsyncTasks.run(requests, { inFlight: 2_000 }).pipe(
 *   Stream.filter((outcome) => Either.isLeft(outcome.result)),
 *   Stream.runCount
 * )
 * ```
 *
 * @since 0.1.0
 */
export const run = <E = never, R = never>(
  requests: Iterable<RunRequest> | Stream.Stream<RunRequest, E, R>,
  options: RunOptions = {}
): Stream.Stream<Outcome, E | InvalidRequest, R | CloroClient.CloroClient> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const settings = yield* settingsOf(options)
    const client = yield* CloroClient.CloroClient
    const { callOptions, journal, webhooks } = settings
    const tracker = yield* Tracker.make<RunError>({
      get: (taskId) => Effect.map(client.tasks.get(taskId, callOptions), (response) => response.result),
      concurrency: settings.pollConcurrency
    })

    if (webhooks !== undefined) {
      // Polls settle through the client's own ledger; deliveries are handed to it here.
      yield* Stream.runForEach(webhooks.events, (event) =>
        Effect.flatMap(tracker.deliver(event.state), (ours) => (ours ? client.tasks.settle(event.state, callOptions?.tag) : Effect.void))).pipe(
          Effect.forkScoped
        )
    }

    const prepare = (request: unknown, index: number): Effect.Effect<Either.Either<Prepared, Outcome>> =>
      Effect.gen(function*() {
        const invalid = (origin: Origin, error: InvalidRequest) => Either.left(failedOutcome(origin, error))
        if (!Predicate.isRecord(request)) {
          return invalid(
            { id: undefined, index, taskType: undefined, idempotencyKey: undefined },
            requestIssue("expected { id?, task }")
          )
        }
        const rawId = request.id
        const id = Predicate.isString(rawId) ? rawId : undefined
        const task = request.task
        const taskType = Predicate.isRecord(task) && isTaskType(task.taskType) ? task.taskType : undefined
        const origin: Origin = { id, index, taskType, idempotencyKey: undefined }
        if (rawId !== undefined && (id === undefined || id.length === 0)) {
          return invalid(origin, requestIssue("id must be a non-empty string"))
        }
        if (!Predicate.isRecord(task)) return invalid(origin, requestIssue("task must be a task object"))
        const key = Predicate.isString(task.idempotencyKey)
          ? task.idempotencyKey
          : id !== undefined
          ? Keys.keyFor(id, settings.keyPrefix)
          : yield* Keys.randomKey(settings.keyPrefix)
        const candidate = {
          ...task,
          idempotencyKey: key,
          ...(webhooks === undefined ? {} : { webhook: { url: webhooks.url } })
        }
        return Either.match(Task.validateSubmit(candidate), {
          onLeft: (error) => invalid(origin, error),
          onRight: (valid): Either.Either<Prepared, Outcome> =>
            Either.right({ origin: { ...origin, idempotencyKey: key }, key, task: valid })
        })
      })

    /** A key already taken: follow its task if anything knows its id. */
    const alreadySubmitted = (
      item: Prepared,
      error: Task.BatchItemError,
      delivered: Deferred.Deferred<Tracker.Finished, RunError>
    ): Effect.Effect<Step> =>
      Effect.gen(function*() {
        const inRun = yield* tracker.taskIdOf(item.key)
        const known = Option.isSome(inRun) || journal === undefined
          ? inRun
          : yield* journal.lookup({ id: item.origin.id, index: item.origin.index, idempotencyKey: item.key })
        if (Option.isSome(known)) {
          yield* tracker.assign(item.key, known.value)
          return {
            _tag: "Follow",
            origin: item.origin,
            key: item.key,
            taskId: known.value,
            initial: Option.none(),
            creditsToCharge: null,
            delivered
          }
        }
        // a delivery carries the task's key, so a webhook can still find it
        if (webhooks !== undefined) return { _tag: "AwaitDelivery", origin: item.origin, key: item.key, delivered }
        yield* tracker.release(item.key)
        return {
          _tag: "Done",
          outcome: failedOutcome(
            item.origin,
            keyTaken(item.key, `${error.message}; this run does not know its task id (give a journal to follow it)`)
          )
        }
      })

    const submitValid = (valid: Arr.NonEmptyReadonlyArray<Prepared>): Effect.Effect<ReadonlyArray<Step>> =>
      Effect.gen(function*() {
        const delivered = yield* Effect.forEach(valid, (item) => tracker.register(item.key))
        const sent = yield* client.tasks.submitBatch(valid.map((item) => item.task), callOptions).pipe(
          Effect.retry({
            schedule: settings.queueFullSchedule.pipe(
              Schedule.tapInput(() => Effect.logWarning("cloro's async queue is full; sending the batch again later"))
            ),
            while: (error) => error._tag === "QueueLimitExceeded"
          }),
          Effect.either
        )
        if (Either.isLeft(sent)) {
          yield* Effect.forEach(valid, (item) => tracker.release(item.key), { discard: true })
          return valid.map((item): Step => ({ _tag: "Done", outcome: failedOutcome(item.origin, sent.left) }))
        }
        const results = new Map(sent.right.result.results.map((result) => [result.index, result] as const))
        const accepted = valid.flatMap((item, index) => {
          const result = results.get(index)
          return result?.success === true ? [{ item, result }] : []
        })
        // before the refusals are looked at, so that a key taken earlier in the same batch is known
        yield* Effect.forEach(accepted, ({ item, result }) => tracker.assign(item.key, result.task.id), {
          discard: true
        })
        if (journal !== undefined && accepted.length > 0) {
          yield* journal.record(accepted.map(({ item, result }) => ({
            id: item.origin.id,
            index: item.origin.index,
            idempotencyKey: item.key,
            taskId: result.task.id
          })))
        }
        return yield* Effect.forEach(valid, (item, index): Effect.Effect<Step> => {
          const result = results.get(index)
          const deferred = delivered[index]
          if (result === undefined || deferred === undefined) {
            return Effect.as(tracker.release(item.key), {
              _tag: "Done",
              outcome: failedOutcome(
                item.origin,
                new ResponseDecodeError({
                  message: "The batch answer has no result for this task",
                  path: "/v1/async/task/batch",
                  description: `results[index=${index}] is missing`
                })
              )
            })
          }
          if (result.success) {
            return Effect.succeed({
              _tag: "Follow",
              origin: item.origin,
              key: item.key,
              taskId: result.task.id,
              initial: Option.some({
                status: result.task.status === "PROCESSING" ? "PROCESSING" : "QUEUED",
                taskType: result.task.taskType,
                task: result.task,
                credits: result.credits
              }),
              creditsToCharge: result.credits.creditsToCharge,
              delivered: deferred
            })
          }
          if (result.error.code === "RESOURCE_ALREADY_EXISTS") return alreadySubmitted(item, result.error, deferred)
          return Effect.as(tracker.release(item.key), {
            _tag: "Done",
            outcome: failedOutcome(item.origin, itemError(result.error))
          })
        })
      }).pipe(Effect.withSpan("AsyncTasks.submitBatch", { attributes: { "cloro.batch.size": valid.length } }))

    const submitGroup = (group: Chunk.Chunk<readonly [unknown, number]>): Effect.Effect<Chunk.Chunk<Step>> =>
      Effect.gen(function*() {
        const prepared = yield* Effect.forEach(group, ([request, index]) => prepare(request, index))
        const [invalid, valid] = Arr.partitionMap(prepared, (p) => p)
        const done = invalid.map((outcome): Step => ({ _tag: "Done", outcome }))
        if (!Arr.isNonEmptyReadonlyArray(valid)) return Chunk.fromIterable(done)
        return Chunk.fromIterable([...done, ...(yield* submitValid(valid))])
      })

    const timedOut = (taskId: string, origin: Origin) =>
    (why: Tracker.Expiry, last: Option.Option<Task.TaskState>, waited: Duration.Duration): RunError =>
      new TaskTimeout({
        message: why === "deadline"
          ? `Task ${taskId} did not finish within ${Duration.format(settings.timeout)}`
          : `Task ${taskId} had not finished when the poll schedule stopped, after ${Duration.format(waited)}`,
        taskId,
        waited,
        ...(origin.taskType === undefined ? {} : { taskType: origin.taskType }),
        ...Option.match(last, { onNone: () => ({}), onSome: (state) => ({ lastStatus: state.status }) })
      })

    const planOf = (step: Extract<Step, { _tag: "Follow" | "AwaitDelivery" }>): Tracker.Plan<RunError> => {
      if (step._tag === "AwaitDelivery") {
        // a task whose id is unknown cannot be polled: only its delivery, within `fallbackAfter`, tells
        const wait = Duration.min(webhooks?.fallbackAfter ?? Duration.zero, settings.timeout)
        return {
          taskId: undefined,
          schedule: settings.schedule,
          first: { _tag: "Now" },
          timeout: wait,
          expired: () =>
            keyTaken(
              step.key,
              "A task with this idempotency key already exists, this run does not know its id, and no webhook for it arrived"
            )
        }
      }
      const expired = timedOut(step.taskId, step.origin)
      return webhooks === undefined
        ? {
          taskId: step.taskId,
          schedule: settings.schedule,
          first: Option.match(step.initial, {
            onNone: () => ({ _tag: "Now" }),
            onSome: (state) => ({ _tag: "Schedule", state })
          }),
          timeout: settings.timeout,
          expired
        }
        : {
          taskId: step.taskId,
          schedule: webhooks.fallbackSchedule,
          first: { _tag: "After", delay: webhooks.fallbackAfter },
          timeout: settings.timeout,
          expired
        }
    }

    const follow = (step: Extract<Step, { _tag: "Follow" | "AwaitDelivery" }>): Effect.Effect<Outcome> => {
      const known = step._tag === "Follow" ? { taskId: step.taskId, creditsToCharge: step.creditsToCharge } : {}
      return tracker.watch(step.key, planOf(step)).pipe(
        Effect.zipRight(Effect.either(Deferred.await(step.delivered))),
        Effect.map(Either.match({
          onLeft: (error) => failedOutcome(step.origin, error, known),
          onRight: (state) => finishedOutcome(step.origin, state)
        })),
        Effect.ensuring(tracker.release(step.key))
      )
    }

    const outcomeOf = (step: Step): Effect.Effect<Outcome> =>
      step._tag === "Done" ? Effect.succeed(step.outcome) : follow(step)

    const source: Stream.Stream<unknown, E, R> = isStream(requests) ? requests : Stream.fromIterable(requests)
    // A failing input stream must not drop the outcomes of tasks already submitted:
    // the input ends there, every task sent so far is followed to its outcome, and
    // only then does the run fail with the input's error.
    const inputFailure = yield* Ref.make<Option.Option<E>>(Option.none())
    const inputs = source.pipe(
      Stream.catchAll((error) => Stream.fromEffect(Ref.set(inputFailure, Option.some(error))).pipe(Stream.drain))
    )
    const failIfInputFailed = Stream.fromEffect(Ref.get(inputFailure)).pipe(
      Stream.flatMap(Option.match({ onNone: () => Stream.empty, onSome: Stream.fail }))
    )
    return inputs.pipe(
      Stream.zipWithIndex,
      settings.batchWindow === undefined
        ? Stream.grouped(settings.batchSize)
        : Stream.groupedWithin(settings.batchSize, settings.batchWindow),
      Stream.mapEffect(submitGroup),
      Stream.flattenChunks,
      Stream.mapEffect(outcomeOf, { concurrency: settings.inFlight, unordered: true }),
      Stream.concat(failIfInputFailed)
    )
  }))
