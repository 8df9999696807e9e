/**
 * `AsyncTasks.submit`: one task sent so that a lost answer is never a plain
 * failure. Sent with its idempotency key and again on the retry schedule
 * after an answer that may have created it; a key then found taken is the
 * task this call created, followed by the journal's id when it knows it,
 * else `SubmittedUnfollowable`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import type * as AsyncTasks from "../../AsyncTasks.js"
import * as CloroClient from "../../CloroClient.js"
import { type CloroError, FieldIssue } from "../../CloroError.js"
import * as Pricing from "../../Pricing.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import * as Task from "../../Task.js"
import { validateOwned } from "../task/submit.js"
import { describeError, invalidOptions, requestIssue, unfollowable } from "./errors.js"
import * as Keys from "./keys.js"
import { createsNothingOnSubmit, transientSubmit } from "./steps.js"

/** @internal */
export const submit = (
  task: Task.SubmitTask,
  options: AsyncTasks.SubmitOptions,
  defaultRetrySchedule: Schedule.Schedule<unknown, CloroError>
): Effect.Effect<Task.SubmitResponse, AsyncTasks.SubmitError, CloroClient.CloroClient> =>
  Effect.gen(function*() {
    const opts: AsyncTasks.SubmitOptions = Predicate.isRecord(options) ? options : {}
    if (!Predicate.isRecord(task)) return yield* requestIssue("task must be a task object")
    if (opts.retrySchedule !== undefined && !Schedule.isSchedule(opts.retrySchedule)) {
      return yield* invalidOptions([new FieldIssue({ field: "retrySchedule", message: "must be a Schedule" })])
    }
    const client = yield* CloroClient.CloroClient
    const key = Predicate.isString(task.idempotencyKey) ? task.idempotencyKey : yield* Keys.randomKey("")
    // validated once: the frozen copy is taken as it is by `tasks.submit`
    const valid = yield* validateOwned({ ...task, idempotencyKey: key })
    const estimate = Pricing.estimateTask(valid)
    const journal = opts.journal
    if (journal !== undefined) yield* journal.intend([{ id: undefined, index: 0, idempotencyKey: key }])
    const retry = yield* Schedule.driver(opts.retrySchedule ?? defaultRetrySchedule)
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
