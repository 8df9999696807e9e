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
 * This module owns the public surface: the options, defaults and entry
 * points. What a run gives back (`Outcome`, `summarize`) is in
 * `internal/async/outcome.ts` and the `Journal` in `journal.ts`, both
 * re-exported here. The workings are in `internal/async/`: `wait.ts`,
 * `submitOne.ts`, and `run.ts` with its stages (`settings.ts`,
 * `submission.ts`, `follow.ts`, over the shared `runContext.ts` and the
 * `tracker.ts` that polls).
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
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as CloroClient from "./CloroClient.js"
import type { CloroError, InvalidRequest } from "./CloroError.js"
import type { SubmittedUnfollowable, TaskFailed, TaskTimeout } from "./internal/async/errors.js"
import type { Journal } from "./internal/async/journal.js"
import * as Keys from "./internal/async/keys.js"
import type { Outcome } from "./internal/async/outcome.js"
import * as Run from "./internal/async/run.js"
import * as SubmitOne from "./internal/async/submitOne.js"
import * as Wait from "./internal/async/wait.js"
import * as Task from "./Task.js"
import type * as Webhooks from "./Webhooks.js"

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

export { SubmittedUnfollowable, TaskFailed, TaskTimeout } from "./internal/async/errors.js"
export { type Intent, type Journal, memoryJournal, type Submitted } from "./internal/async/journal.js"
export { kindOf, type Outcome, type OutcomeKind, type RunError, summarize, type Summary } from "./internal/async/outcome.js"

/**
 * Every way waiting for a task can fail.
 *
 * @since 0.1.0
 */
export type WaitError = CloroError | TaskFailed | TaskTimeout

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
  Wait.wait(taskId, options, {
    timeout: defaultWaitTimeout,
    schedule: defaultPollSchedule,
    pollRetrySchedule: defaultPollRetrySchedule
  })

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
   * Tasks submitted whose outcome the stream's reader has not taken yet, at
   * once (each one polled or waited for, or finished and waiting to be
   * read); default 1,000. At most this many plus one batch are held in
   * memory, each an entry in the run's poll tracker rather than a fiber, and
   * a slow reader holds submission back.
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
  SubmitOne.submit(task, options, defaultSubmitRetrySchedule)


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
  Run.run(requests, options, {
    timeout: defaultRunTimeout,
    schedule: defaultPollSchedule,
    pollRetrySchedule: defaultPollRetrySchedule,
    submitRetrySchedule: defaultSubmitRetrySchedule,
    queueFullSchedule: defaultQueueFullSchedule
  })
