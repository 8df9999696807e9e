/**
 * `run`'s options read once into `Settings`: every field checked (counts,
 * durations, schedules, the key prefix, the webhook target, the journal's
 * shape) and every issue reported at once, the defaults filled in.
 *
 * @internal
 */
import * as Arr from "effect/Array"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as AsyncTasks from "../../AsyncTasks.js"
import type * as CloroClient from "../../CloroClient.js"
import { type CloroError, FieldIssue, type InvalidRequest } from "../../CloroError.js"
import * as Task from "../../Task.js"
import type * as Webhooks from "../../Webhooks.js"
import * as DurationHelper from "../duration.js"
import { invalidOptions } from "./errors.js"
import * as Keys from "./keys.js"

/**
 * A duration option of `run` or `wait`, read by `duration.ts`: positive
 * (`Duration.infinity` means no limit), the fallback when absent, or an issue
 * for `field`.
 *
 * @internal
 */
export const durationIssue = (
  field: string,
  input: unknown,
  fallback: Duration.Duration
): Either.Either<Duration.Duration, FieldIssue> =>
  Either.map(DurationHelper.decodeOptional(field, input, { zero: false, infinite: true }), (value) => value ?? fallback)

/** @internal */
export interface Settings {
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
  readonly journal: AsyncTasks.Journal | undefined
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
const scheduleIssues = (options: AsyncTasks.RunOptions): Either.Either<undefined, FieldIssue> => {
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

/** The defaults `AsyncTasks` documents, handed in so that they are written once, there. @internal */
export interface Defaults {
  readonly timeout: Duration.Duration
  readonly schedule: Schedule.Schedule<unknown, Task.TaskState>
  readonly pollRetrySchedule: Schedule.Schedule<unknown, CloroError>
  readonly submitRetrySchedule: Schedule.Schedule<unknown, CloroError>
  readonly queueFullSchedule: Schedule.Schedule<unknown, CloroError>
}

/** @internal */
export const settingsOf = (input: unknown, defaults: Defaults): Either.Either<Settings, InvalidRequest> => {
  if (input !== undefined && !Predicate.isRecord(input)) {
    return Either.left(invalidOptions([new FieldIssue({ field: "(options)", message: "must be an object" })]))
  }
  // a record is read field by field below, each field checked; nothing else is assumed of it
  const options: AsyncTasks.RunOptions = input ?? {}
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
    timeout: durationIssue("timeout", options.timeout, defaults.timeout),
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
      pollRetrySchedule: options.pollRetrySchedule ?? defaults.pollRetrySchedule,
      submitRetrySchedule: options.submitRetrySchedule ?? defaults.submitRetrySchedule,
      batchWindow,
      inFlight,
      pollConcurrency,
      schedule: options.schedule ?? defaults.schedule,
      timeout,
      queueFullSchedule: options.queueFullSchedule ?? defaults.queueFullSchedule,
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
