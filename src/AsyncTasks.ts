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
import * as Cause from "effect/Cause"
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
  DurationMillis,
  FieldIssue,
  InsufficientCredits,
  InvalidRequest,
  ResponseDecodeError,
  UnexpectedStatus
} from "./CloroError.js"
import * as Keys from "./internal/async/keys.js"
import * as Pricing from "./Pricing.js"
import * as Tracker from "./internal/async/tracker.js"
import * as RetryPolicy from "./RetryPolicy.js"
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

/**
 * The delays before polling again after a poll failed (a 5xx, a timeout, a
 * dropped connection, an unreadable answer): 1 s doubling up to 30 s,
 * jittered, for as long as the task's timeout allows. A failed poll says
 * nothing about the task, so it never ends a wait by itself.
 *
 * @since 0.2.0
 */
export const defaultPollRetrySchedule: Schedule.Schedule<unknown, CloroError> = Schedule.exponential(
  Duration.seconds(1),
  2
).pipe(
  Schedule.union(Schedule.spaced(Duration.seconds(30))),
  Schedule.jittered
)

/** Poll errors that no later poll can cure, for a task id the caller gave `wait`. */
const endsAWait: ReadonlySet<CloroError["_tag"]> = new Set<CloroError["_tag"]>(["NotFound", "InvalidRequest", "Unauthorized"])

/**
 * Polls at once, then on the schedule, until the task is finished or the
 * schedule stops; gives the last state seen. A failed poll is tried again on
 * `retry` (restarted when it stops) unless it is one of `endsAWait`.
 */
const pollUntilFinished = (
  get: Effect.Effect<Task.TaskState, CloroError>,
  schedule: Schedule.Schedule<unknown, Task.TaskState>,
  retry: Schedule.Schedule<unknown, CloroError>,
  lastError: Ref.Ref<Option.Option<CloroError>>
): Effect.Effect<Task.TaskState, CloroError> =>
  Effect.gen(function*() {
    const driver = yield* Schedule.driver(schedule)
    const retryDriver = yield* Schedule.driver(retry)
    const poll: Effect.Effect<Task.TaskState, CloroError> = get.pipe(
      Effect.tap(() => Effect.zipRight(Ref.set(lastError, Option.none()), retryDriver.reset)),
      Effect.catchAll((error) =>
        endsAWait.has(error._tag)
          ? Effect.fail(error)
          : Ref.set(lastError, Option.some(error)).pipe(
            Effect.zipRight(Effect.catchAll(retryDriver.next(error), () => Effect.zipRight(retryDriver.reset, retryDriver.next(error)))),
            Effect.catchAll(() => Effect.sleep(Duration.seconds(1))),
            Effect.zipRight(Effect.suspend(() => poll))
          )
      )
    )
    const loop = (state: Task.TaskState): Effect.Effect<Task.TaskState, CloroError> =>
      Task.isFinished(state)
        ? Effect.succeed(state)
        : Effect.matchEffect(driver.next(state), {
          onFailure: () => Effect.succeed(state),
          onSuccess: () => Effect.flatMap(poll, loop)
        })
    return yield* Effect.flatMap(poll, loop)
  })

const describeError = (error: { readonly _tag: string; readonly message: string }): string =>
  `${error._tag}: ${error.message}`

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
  /** Delays before polling again after a failed poll; default `defaultPollRetrySchedule`. */
  readonly pollRetrySchedule?: Schedule.Schedule<unknown, CloroError> | undefined
  /**
   * Passed to each poll (`tag`, `timeout`). Polls are sent without the
   * client's retry policy unless `retry` is given here: failed polls are
   * retried on `pollRetrySchedule` instead, until the timeout.
   */
  readonly callOptions?: CloroClient.CallOptions | undefined
}

/**
 * Waits for a task to finish: polls `GET /v1/async/task/{id}` at once, then
 * on the schedule, and ends with the COMPLETED state (narrow `taskType` to
 * type `result`), a `TaskFailed` for a FAILED task, or a `TaskTimeout` when
 * the time limit passes or the schedule stops. A failed poll never ends the
 * wait: it is tried again on `pollRetrySchedule` until the timeout (whose
 * `TaskTimeout` then carries `lastPollError`), except an unknown or expired
 * task (`NotFound`), a malformed id (`InvalidRequest`) and a refused key
 * (`Unauthorized`), which no later poll can cure. Interrupting the wait stops
 * the polling.
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
    if (!Predicate.isString(taskId)) {
      return yield* invalidOptions([new FieldIssue({ field: "taskId", message: "must be a task id string" })])
    }
    const opts: WaitOptions = Predicate.isRecord(options) ? options : {}
    const timeout = yield* Either.mapLeft(
      durationIssue("timeout", opts.timeout, defaultWaitTimeout),
      (issue) => invalidOptions([issue])
    )
    const client = yield* CloroClient.CloroClient
    const last = yield* Ref.make(Option.none<Task.TaskState>())
    const lastError = yield* Ref.make(Option.none<CloroError>())
    const start = yield* Clock.currentTimeMillis
    const callOptions: CloroClient.CallOptions = { ...opts.callOptions, retry: opts.callOptions?.retry ?? RetryPolicy.none }
    const get = client.tasks.get(taskId, callOptions).pipe(
      Effect.map((response) => response.result),
      Effect.tap((state) => Ref.set(last, Option.some(state)))
    )
    const polled = yield* pollUntilFinished(
      get,
      opts.schedule ?? defaultPollSchedule,
      opts.pollRetrySchedule ?? defaultPollRetrySchedule,
      lastError
    ).pipe(Effect.timeoutOption(timeout))
    if (Option.isSome(polled) && Task.isFinished(polled.value)) return yield* completedOrFailed(polled.value)
    const seen = yield* Ref.get(last)
    const failing = yield* Ref.get(lastError)
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
      }),
      ...Option.match(failing, { onNone: () => ({}), onSome: (error) => ({ lastPollError: describeError(error) }) })
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
export type RunError = CloroError | TaskFailed | TaskTimeout | SubmittedUnfollowable

/**
 * What kind of end an input came to, for counting a run:
 * `Completed` (the task's result), `Failed` (the task ran and ended FAILED,
 * not billed), `Refused` (no task was created: invalid input, refused item,
 * refused batch; not billed), `TimedOut` (created, not finished within the
 * run's `timeout`; may still finish and be billed), `Unfollowable` (may have
 * been created and billed, but its id cannot be learnt; see
 * `SubmittedUnfollowable`).
 *
 * @since 0.2.0
 */
export type OutcomeKind = "Completed" | "Failed" | "Refused" | "TimedOut" | "Unfollowable"

/**
 * The kind of an outcome.
 *
 * @since 0.2.0
 */
export const kindOf = (outcome: Outcome): OutcomeKind => {
  if (Either.isRight(outcome.result)) return "Completed"
  switch (outcome.result.left._tag) {
    case "TaskFailed":
      return "Failed"
    case "TaskTimeout":
      return "TimedOut"
    case "SubmittedUnfollowable":
      return "Unfollowable"
    default:
      return "Refused"
  }
}

/**
 * A run's outcomes counted by kind, with what they say about credits.
 *
 * @since 0.2.0
 */
export interface Summary {
  readonly outcomes: number
  readonly byKind: Readonly<Record<OutcomeKind, number>>
  /** The sum of known charges (completed tasks; 0 for failed and refused ones). */
  readonly creditsCharged: number
  /** The sum of the estimates of tasks that may yet be billed without this run knowing (TimedOut, Unfollowable). */
  readonly creditsMayBeCharged: number
}

/**
 * Counts outcomes by kind. Unfollowable and timed-out tasks are counted apart
 * from failures: cloro may have billed them.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { AsyncTasks } from "cloro-effect"
 *
 * declare const requests: ReadonlyArray<AsyncTasks.RunRequest>
 * const summary = AsyncTasks.run(requests).pipe(Stream.runCollect, Effect.map(AsyncTasks.summarize))
 * ```
 *
 * @since 0.2.0
 */
export const summarize = (outcomes: Iterable<Outcome>): Summary => {
  const byKind: Record<OutcomeKind, number> = { Completed: 0, Failed: 0, Refused: 0, TimedOut: 0, Unfollowable: 0 }
  let count = 0
  let creditsCharged = 0
  let creditsMayBeCharged = 0
  for (const outcome of outcomes) {
    const kind = kindOf(outcome)
    count++
    byKind[kind]++
    creditsCharged += outcome.creditsCharged ?? 0
    if (kind === "TimedOut" || kind === "Unfollowable") creditsMayBeCharged += outcome.creditsToCharge ?? 0
  }
  return { outcomes: count, byKind, creditsCharged, creditsMayBeCharged }
}

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
 * An input about to be sent, as `Journal.intend` receives it.
 *
 * @since 0.2.0
 */
export interface Intent {
  readonly id: string | undefined
  readonly index: number
  readonly idempotencyKey: string
}

/**
 * Where a run writes down what it sends and the task ids it was given, so
 * that a later run can follow tasks it finds already submitted. cloro's 409
 * for a reused key does not say which task holds the key, and there is no way
 * to list tasks, so without a journal such a task can only be reported as
 * `SubmittedUnfollowable` (or, with webhooks, recognised when its delivery
 * arrives). Make both writes durable before they return: a run that is
 * killed between sending and `record` leaves tasks only `intend` knows of.
 *
 * @since 0.1.0
 */
export interface Journal {
  /** Called once per batch, before it is sent, with the keys it carries. */
  readonly intend: (items: ReadonlyArray<Intent>) => Effect.Effect<void>
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
  Ref.make(HashMap.empty<string, Option.Option<string>>()),
  (ref): Journal => ({
    intend: (items) =>
      Ref.update(ref, (known) =>
        items.reduce((map, item) => HashMap.has(map, item.idempotencyKey) ? map : HashMap.set(map, item.idempotencyKey, Option.none()), known)),
    record: (submitted) =>
      Ref.update(ref, (known) => submitted.reduce((map, s) => HashMap.set(map, s.idempotencyKey, Option.some(s.taskId)), known)),
    lookup: (item) => Effect.map(Ref.get(ref), (known) => Option.flatten(HashMap.get(known, item.idempotencyKey)))
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
  /**
   * Delays before polling a task again after a failed poll; default
   * `defaultPollRetrySchedule`. Polls are sent without the client's retry
   * policy and its budget: a failed poll never ends a task, only the task's
   * finished state, its delivery or `timeout` do.
   */
  readonly pollRetrySchedule?: Schedule.Schedule<unknown, CloroError> | undefined
  /**
   * Delays before sending a batch again after a failure that may have left it
   * half done (timeout, dropped connection, unreadable answer, 5xx) or a rate
   * limit; default `defaultSubmitRetrySchedule`. Batches are sent without the
   * client's retry policy: the same keys are sent again here, and the items
   * then found already existing are the tasks the lost answer created.
   */
  readonly submitRetrySchedule?: Schedule.Schedule<unknown, CloroError> | undefined
  /**
   * The batch size after a submission whose answer was lost, so that the
   * next lost answer leaves fewer tasks unknown; it doubles back to
   * `batchSize` with each clean batch. Default 25.
   */
  readonly batchSizeAfterAmbiguity?: number | undefined
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
 * The default wait before sending a batch again after an ambiguous failure
 * or a rate limit: 1 s doubling up to 30 s, jittered, for up to 10 minutes
 * (an outage of a few minutes is waited out).
 *
 * @since 0.2.0
 */
export const defaultSubmitRetrySchedule: Schedule.Schedule<unknown> = Schedule.exponential(Duration.seconds(1), 2).pipe(
  Schedule.union(Schedule.spaced(Duration.seconds(30))),
  Schedule.jittered,
  Schedule.upTo(Duration.minutes(10))
)

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
// submit: one task
// ---------------------------------------------------------------------------

/**
 * Options of `submit`.
 *
 * @since 0.2.0
 */
export interface SubmitOptions {
  /** Delays before sending again after a failure that may have created the task; default `defaultSubmitRetrySchedule`. */
  readonly retrySchedule?: Schedule.Schedule<unknown, CloroError> | undefined
  /** Looked up when the key turns out taken; written before sending and when cloro answers. */
  readonly journal?: Journal | undefined
  /** Passed to every send (`tag`, `timeout`); the client's retry policy is not used. */
  readonly callOptions?: CloroClient.CallOptions | undefined
}

/**
 * Every way `submit` can fail.
 *
 * @since 0.2.0
 */
export type SubmitError = CloroError | SubmittedUnfollowable

/**
 * Submits one task so that an answer lost on the way (a timeout, a dropped
 * connection, an unreadable answer, a 5xx) is never reported as a plain
 * failure. The task is sent with its idempotency key (a random one when it
 * has none) and sent again on `retrySchedule` after such a failure; when the
 * resend finds the key taken, the lost answer did create the task, and its id
 * comes from the `journal` when one knows it, or the call fails with
 * `SubmittedUnfollowable` (`mayBeCharged: true`) instead of `Conflict`.
 * A key taken before this call is `SubmittedUnfollowable` with
 * `reason: "KeyAlreadyUsed"`. `CloroClient.tasks.submit` alone cannot tell
 * these cases apart (cloro's 409 carries no task id).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AsyncTasks, Task } from "cloro-effect"
 *
 * const submitted = AsyncTasks.submit(Task.make("chatgpt", { prompt: "Best CRM?", country: "US" }, { idempotencyKey: "row-7" })).pipe(
 *   Effect.catchTag("SubmittedUnfollowable", (e) => Effect.log(`created but unfollowable: ${e.idempotencyKey}`))
 * )
 * ```
 *
 * @since 0.2.0
 */
export const submit = (
  task: Task.SubmitTask,
  options: SubmitOptions = {}
): Effect.Effect<Task.SubmitResponse, SubmitError, CloroClient.CloroClient> =>
  Effect.gen(function*() {
    const opts: SubmitOptions = Predicate.isRecord(options) ? options : {}
    if (!Predicate.isRecord(task)) return yield* requestIssue("task must be a task object")
    if (opts.retrySchedule !== undefined && !Schedule.isSchedule(opts.retrySchedule)) {
      return yield* invalidOptions([new FieldIssue({ field: "retrySchedule", message: "must be a Schedule" })])
    }
    const client = yield* CloroClient.CloroClient
    const key = Predicate.isString(task.idempotencyKey) ? task.idempotencyKey : yield* Keys.randomKey("")
    const valid = yield* Task.validateSubmit({ ...task, idempotencyKey: key })
    const estimate = Pricing.estimateTask(valid)
    const journal = opts.journal
    if (journal !== undefined) yield* journal.intend([{ id: undefined, index: 0, idempotencyKey: key }])
    const retry = yield* Schedule.driver(opts.retrySchedule ?? defaultSubmitRetrySchedule)
    const callOptions: CloroClient.CallOptions = { ...opts.callOptions, retry: RetryPolicy.none }
    let ambiguous = false
    let lastError: CloroError | undefined = undefined
    while (true) {
      const sent = yield* Effect.either(client.tasks.submit(valid, callOptions))
      if (Either.isRight(sent)) {
        if (journal !== undefined) {
          yield* journal.record([{ id: undefined, index: 0, idempotencyKey: key, taskId: sent.right.result.task.id }])
        }
        return sent.right.result
      }
      const error = sent.left
      if (error._tag === "Conflict") {
        const known = journal === undefined ? Option.none() : yield* journal.lookup({ id: undefined, index: 0, idempotencyKey: key })
        if (Option.isSome(known)) {
          // the task exists and its id is known: give what a fresh submission would have
          const state = yield* Effect.either(client.tasks.get(known.value, callOptions))
          if (Either.isRight(state)) {
            return { success: true, task: state.right.result.task, credits: state.right.result.credits }
          }
        }
        return yield* unfollowable(
          key,
          ambiguous ? "AmbiguousSubmit" : "KeyAlreadyUsed",
          estimate,
          lastError === undefined ? describeError(error) : describeError(lastError)
        )
      }
      if (!transientSubmit.has(error._tag)) {
        if (ambiguous) {
          return yield* unfollowable(key, "AmbiguousSubmit", estimate, describeError(error))
        }
        return yield* error
      }
      if (!createsNothingOnSubmit.has(error._tag)) {
        ambiguous = true
        lastError = error
      }
      const again = yield* Effect.either(retry.next(error))
      if (Either.isLeft(again)) {
        return yield* ambiguous ? unfollowable(key, "AmbiguousSubmit", estimate, describeError(error)) : Effect.fail(error)
      }
    }
  }).pipe(Effect.withSpan("AsyncTasks.submit"))

// ---------------------------------------------------------------------------
// run: settings
// ---------------------------------------------------------------------------

interface Settings {
  readonly batchSize: number
  readonly batchWindow: Duration.Duration | undefined
  readonly inFlight: number
  readonly pollConcurrency: number
  readonly pollRetrySchedule: Schedule.Schedule<unknown, CloroError>
  readonly submitRetrySchedule: Schedule.Schedule<unknown, CloroError>
  readonly batchSizeAfterAmbiguity: number
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

/** Every schedule option that is given must be a `Schedule`. */
const scheduleIssues = (options: RunOptions): Either.Either<undefined, FieldIssue> => {
  const given = {
    schedule: options.schedule,
    pollRetrySchedule: options.pollRetrySchedule,
    submitRetrySchedule: options.submitRetrySchedule,
    queueFullSchedule: options.queueFullSchedule,
    "webhooks.fallbackSchedule": options.webhooks?.fallbackSchedule
  }
  const bad = Object.entries(given).find(([, value]) => value !== undefined && !Schedule.isSchedule(value))
  return bad === undefined ? Either.right(undefined) : Either.left(new FieldIssue({ field: bad[0], message: "must be a Schedule" }))
}

const settingsOf = (input: unknown): Either.Either<Settings, InvalidRequest> => {
  if (input !== undefined && !Predicate.isRecord(input)) {
    return Either.left(invalidOptions([new FieldIssue({ field: "(options)", message: "must be an object" })]))
  }
  // a record is read field by field below, each field checked; nothing else is assumed of it
  const options: RunOptions = input ?? {}
  const hooks = options.webhooks
  if (hooks !== undefined && !(Predicate.isRecord(hooks) && Predicate.hasProperty(hooks.events, Stream.StreamTypeId))) {
    return Either.left(
      invalidOptions([new FieldIssue({ field: "webhooks", message: "must be { events: Stream, url, ... } (see makeReceiver)" })])
    )
  }
  const keyPrefix = options.keyPrefix ?? ""
  const fields = {
    batchSize: countIssue("batchSize", options.batchSize, Task.maxBatchSize, Task.maxBatchSize),
    inFlight: countIssue("inFlight", options.inFlight, 1_000, Infinity),
    pollConcurrency: countIssue("pollConcurrency", options.pollConcurrency, 100, Infinity),
    batchSizeAfterAmbiguity: countIssue("batchSizeAfterAmbiguity", options.batchSizeAfterAmbiguity, 25, Task.maxBatchSize),
    timeout: durationIssue("timeout", options.timeout, defaultRunTimeout),
    keyPrefix: Predicate.isString(keyPrefix) && Keys.validPrefix(keyPrefix)
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
    schedules: scheduleIssues(options),
    journal: options.journal === undefined ||
        (Predicate.isRecord(options.journal) && Predicate.isFunction(options.journal.intend) &&
          Predicate.isFunction(options.journal.record) && Predicate.isFunction(options.journal.lookup))
      ? Either.right(undefined)
      : Either.left(new FieldIssue({ field: "journal", message: "must have intend, record and lookup functions" })),
    batchWindow: options.batchWindow === undefined
      ? Either.right(undefined)
      : durationIssue("batchWindow", options.batchWindow, Duration.zero)
  }
  return Either.all(fields).pipe(
    // every issue, not only the first that `Either.all` stops at
    Either.mapLeft(() => invalidOptions(Arr.getLefts(Object.values(fields)))),
    Either.map((
      { batchSize, batchSizeAfterAmbiguity, batchWindow, fallbackAfter, inFlight, pollConcurrency, timeout }
    ): Settings => ({
      batchSize,
      batchSizeAfterAmbiguity: Math.min(batchSize, batchSizeAfterAmbiguity),
      pollRetrySchedule: options.pollRetrySchedule ?? defaultPollRetrySchedule,
      submitRetrySchedule: options.submitRetrySchedule ?? defaultSubmitRetrySchedule,
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
  /** What cloro is likely to bill for it. */
  readonly estimate: number
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
    /** With webhooks, a task that may exist but whose id nothing knew: only its delivery can tell. */
    readonly _tag: "AwaitDelivery"
    readonly origin: Origin
    readonly key: string
    readonly estimate: number
    readonly reason: SubmittedUnfollowable["reason"]
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

const unfollowable = (
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

/** Submission errors worth sending the same batch again for, on `submitRetrySchedule`. */
const transientSubmit: ReadonlySet<CloroError["_tag"]> = new Set<CloroError["_tag"]>([
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
const createsNothingOnSubmit: ReadonlySet<CloroError["_tag"]> = new Set<CloroError["_tag"]>([
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
    if (!isStream(requests) && !Predicate.isIterable(requests)) {
      return yield* invalidOptions([new FieldIssue({ field: "requests", message: "must be an Iterable or a Stream of { id?, task }" })])
    }
    const settings = yield* settingsOf(options)
    const client = yield* CloroClient.CloroClient
    const { callOptions, journal, webhooks } = settings
    const tracker = yield* Tracker.make<RunError>({
      // without the client's retry policy: a failed poll is retried on the tracker's own schedule, until the task's timeout
      get: (taskId) =>
        Effect.map(client.tasks.get(taskId, { ...callOptions, retry: RetryPolicy.none }), (response) => response.result),
      concurrency: settings.pollConcurrency
    })
    // The batch size now: `batchSizeAfterAmbiguity` after a submission whose answer was lost, doubling back per clean batch.
    const currentBatchSize = yield* Ref.make(settings.batchSize)

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
            Either.right({ origin: { ...origin, idempotencyKey: key }, key, task: valid, estimate: Pricing.estimateTask(valid) })
        })
      })

    /**
     * Items that may exist at cloro but whose ids cannot be learnt. With
     * webhooks their deliveries, which carry the key, tell; without, they are
     * `SubmittedUnfollowable`, never plain failures.
     */
    const unresolved = (
      item: Prepared,
      delivered: Deferred.Deferred<Tracker.Finished, RunError>,
      reason: SubmittedUnfollowable["reason"],
      lastError: string | undefined
    ): Effect.Effect<Step> =>
      webhooks !== undefined
        ? Effect.succeed({ _tag: "AwaitDelivery", origin: item.origin, key: item.key, estimate: item.estimate, reason, delivered })
        : Effect.as(tracker.release(item.key), {
          _tag: "Done",
          outcome: failedOutcome(item.origin, unfollowable(item.key, reason, item.estimate, lastError), {
            creditsToCharge: item.estimate
          })
        })

    /** A key already taken: follow its task if anything knows its id. */
    const alreadySubmitted = (
      item: Prepared,
      delivered: Deferred.Deferred<Tracker.Finished, RunError>,
      ambiguous: boolean
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
        return yield* unresolved(
          item,
          delivered,
          ambiguous ? "AmbiguousSubmit" : "KeyAlreadyUsed",
          "RESOURCE_ALREADY_EXISTS: the idempotency key is taken and cloro's answer does not say by which task"
        )
      })

    /** One POST of a batch, without the client's retry policy: every resend is decided here. */
    const sendOnce = (items: Arr.NonEmptyReadonlyArray<Prepared>) =>
      client.tasks.submitBatch(items.map((item) => item.task), { ...callOptions, retry: RetryPolicy.none }).pipe(
        Effect.either
      )

    /**
     * Sends a batch until every item is accepted, refused, or known to be
     * unresolvable. A send whose answer was lost (timeout, dropped connection,
     * unreadable answer, 5xx) may have created the tasks: it is sent again with
     * the same keys, and the items then refused as already existing are the
     * ones it created. An answer without a result for an item counts the same.
     */
    const submitValid = (valid: Arr.NonEmptyReadonlyArray<Prepared>): Effect.Effect<ReadonlyArray<Step>> =>
      Effect.gen(function*() {
        const delivered = new Map<string, Deferred.Deferred<Tracker.Finished, RunError>>()
        for (const item of valid) delivered.set(item.key, yield* tracker.register(item.key))
        const deferredOf = (item: Prepared) => delivered.get(item.key)!
        if (journal !== undefined) {
          // before sending: a crash after this leaves a record of every key that may exist at cloro
          yield* journal.intend(valid.map((item) => ({ id: item.origin.id, index: item.origin.index, idempotencyKey: item.key })))
        }
        const retry = yield* Schedule.driver(settings.submitRetrySchedule)
        const queueFull = yield* Schedule.driver(settings.queueFullSchedule)
        const steps: Array<Step> = []
        let pending: ReadonlyArray<Prepared> = valid
        let ambiguous = false
        while (Arr.isNonEmptyReadonlyArray(pending)) {
          const batch: Arr.NonEmptyReadonlyArray<Prepared> = pending
          const sent = yield* sendOnce(batch)
          if (Either.isLeft(sent)) {
            const error = sent.left
            const lastError = describeError(error)
            const wait = error._tag === "QueueLimitExceeded"
              ? queueFull.next(error).pipe(
                Effect.tap(() => Effect.logWarning("cloro's async queue is full; sending the batch again later"))
              )
              : transientSubmit.has(error._tag)
              ? retry.next(error)
              : Effect.fail(Option.none())
            if (!createsNothingOnSubmit.has(error._tag)) ambiguous = true
            const again = yield* Effect.either(wait)
            if (Either.isRight(again)) continue
            // no more sending: items that an earlier attempt may have created are unresolved, the rest refused
            for (const item of batch) {
              steps.push(
                ambiguous
                  ? yield* unresolved(item, deferredOf(item), "AmbiguousSubmit", lastError)
                  : yield* Effect.as(tracker.release(item.key), {
                    _tag: "Done" as const,
                    outcome: failedOutcome(item.origin, error)
                  })
              )
            }
            break
          }
          const results = new Map(sent.right.result.results.map((result) => [result.index, result] as const))
          const accepted = batch.flatMap((item, index) => {
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
          const missing: Array<Prepared> = []
          for (const [index, item] of batch.entries()) {
            const result = results.get(index)
            if (result === undefined) {
              missing.push(item)
            } else if (result.success) {
              steps.push({
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
                delivered: deferredOf(item)
              })
            } else if (result.error.code === "RESOURCE_ALREADY_EXISTS") {
              steps.push(yield* alreadySubmitted(item, deferredOf(item), ambiguous))
            } else {
              steps.push(
                yield* Effect.as(tracker.release(item.key), {
                  _tag: "Done" as const,
                  outcome: failedOutcome(item.origin, itemError(result.error))
                })
              )
            }
          }
          if (missing.length > 0) {
            // an answer that leaves items out says nothing about them: ask again
            ambiguous = true
            const error = new ResponseDecodeError({
              message: "The batch answer has no result for some tasks",
              path: "/v1/async/task/batch",
              description: `${missing.length} of ${batch.length} results are missing`
            })
            const again = yield* Effect.either(retry.next(error))
            if (Either.isLeft(again)) {
              for (const item of missing) {
                steps.push(yield* unresolved(item, deferredOf(item), "AmbiguousSubmit", describeError(error)))
              }
              break
            }
          }
          pending = missing
        }
        // the blast radius of the next lost answer: smaller batches after one, back up after clean ones
        yield* Ref.update(currentBatchSize, (size) =>
          ambiguous ? Math.min(size, settings.batchSizeAfterAmbiguity) : Math.min(settings.batchSize, size * 2))
        if (ambiguous) {
          yield* Effect.logWarning(
            `A batch answer was lost; sending batches of ${settings.batchSizeAfterAmbiguity} until answers come back`
          )
        }
        return steps
      }).pipe(Effect.withSpan("AsyncTasks.submitBatch", { attributes: { "cloro.batch.size": valid.length } }))

    const submitGroup = (group: Chunk.Chunk<readonly [unknown, number]>): Effect.Effect<Chunk.Chunk<Step>> =>
      Effect.gen(function*() {
        const prepared = yield* Effect.forEach(group, ([request, index]) => prepare(request, index))
        const [invalid, valid] = Arr.partitionMap(prepared, (p) => p)
        const steps: Array<Step> = invalid.map((outcome): Step => ({ _tag: "Done", outcome }))
        let rest: ReadonlyArray<Prepared> = valid
        while (Arr.isNonEmptyReadonlyArray(rest)) {
          const size = yield* Ref.get(currentBatchSize)
          const batch = rest.slice(0, size)
          rest = rest.slice(size)
          if (Arr.isNonEmptyReadonlyArray(batch)) steps.push(...(yield* submitValid(batch)))
        }
        return Chunk.fromIterable(steps)
      })

    const timedOut = (taskId: string, origin: Origin) =>
    (
      why: Tracker.Expiry,
      last: Option.Option<Task.TaskState>,
      waited: Duration.Duration,
      lastError: Option.Option<CloroError>
    ): RunError =>
      new TaskTimeout({
        message: why === "deadline"
          ? `Task ${taskId} did not finish within ${Duration.format(settings.timeout)}`
          : `Task ${taskId} had not finished when the poll schedule stopped, after ${Duration.format(waited)}`,
        taskId,
        waited,
        ...(origin.taskType === undefined ? {} : { taskType: origin.taskType }),
        ...Option.match(last, { onNone: () => ({}), onSome: (state) => ({ lastStatus: state.status }) }),
        ...Option.match(lastError, { onNone: () => ({}), onSome: (error) => ({ lastPollError: describeError(error) }) })
      })

    const planOf = (step: Extract<Step, { _tag: "Follow" | "AwaitDelivery" }>): Tracker.Plan<RunError> => {
      if (step._tag === "AwaitDelivery") {
        // A task whose id is unknown cannot be polled: only its delivery tells. One this run may have
        // created is waited for as long as any task; one taken before the run, for `fallbackAfter`.
        const wait = step.reason === "AmbiguousSubmit"
          ? settings.timeout
          : Duration.min(webhooks?.fallbackAfter ?? Duration.zero, settings.timeout)
        return {
          taskId: undefined,
          schedule: settings.schedule,
          first: { _tag: "Now" },
          timeout: wait,
          retry: settings.pollRetrySchedule,
          expired: () =>
            unfollowable(
              step.key,
              step.reason,
              step.estimate,
              `no webhook delivery carrying this key arrived within ${Duration.format(wait)}`
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
          retry: settings.pollRetrySchedule,
          expired
        }
        : {
          taskId: step.taskId,
          schedule: webhooks.fallbackSchedule,
          first: { _tag: "After", delay: webhooks.fallbackAfter },
          timeout: settings.timeout,
          retry: settings.pollRetrySchedule,
          expired
        }
    }

    const follow = (step: Extract<Step, { _tag: "Follow" | "AwaitDelivery" }>): Effect.Effect<Outcome> => {
      const known = step._tag === "Follow"
        ? { taskId: step.taskId, creditsToCharge: step.creditsToCharge }
        : { creditsToCharge: step.estimate }
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

    // An iterable that throws while being read ends the input with a typed error, as a failing stream does.
    const source: Stream.Stream<unknown, E | InvalidRequest, R> = isStream(requests)
      ? requests
      : Stream.fromIterable(requests).pipe(
        Stream.catchAllCause((cause) =>
          Stream.fail(requestIssue(`the input iterable threw while being read: ${Cause.pretty(cause).split("\n")[0]}`))
        )
      )
    // A failing input stream must not drop the outcomes of tasks already submitted:
    // the input ends there, every task sent so far is followed to its outcome, and
    // only then does the run fail with the input's error.
    const inputFailure = yield* Ref.make<Option.Option<E | InvalidRequest>>(Option.none())
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
