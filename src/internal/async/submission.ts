/**
 * `run`'s submission stage: each input checked and given its idempotency
 * key (`prepare`), then sent in batches of the current size (`submitGroup`).
 * The journal is told every key before a batch is sent and every task id
 * once cloro answers. A send whose answer was lost may have created the
 * tasks, so the same batch is sent again with the same keys and the items
 * then refused as existing are followed by id when the tracker or the
 * journal knows it, or left to their webhook delivery, or reported as
 * `SubmittedUnfollowable`; never as plain failures. After such an ambiguity
 * the batch size shrinks to `batchSizeAfterAmbiguity`.
 *
 * @internal
 */
import * as Arr from "effect/Array"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type { Outcome } from "../../AsyncTasks.js"
import { type InvalidRequest, ResponseDecodeError } from "../../CloroError.js"
import * as Pricing from "../../Pricing.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import * as Task from "../../Task.js"
import { validateOwned } from "../task/submit.js"
import { describeError, requestIssue, type SubmittedUnfollowable, unfollowable } from "./errors.js"
import * as Keys from "./keys.js"
import type { RunContext } from "./runContext.js"
import {
  createsNothingOnSubmit,
  failedOutcome,
  isTaskType,
  itemError,
  type Origin,
  type Prepared,
  type Step,
  transientSubmit
} from "./steps.js"

/**
 * Checks one input and gives it its idempotency key: the task's own, one
 * derived from its id, or `randomKey` for neither. Synchronous, so that a
 * batch's inputs cost no Effect operation each.
 */
const prepare = (ctx: RunContext, request: unknown, index: number, randomKey: () => string): Either.Either<Prepared, Outcome> => {
  const { settings } = ctx
  const { webhooks } = settings
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
    : randomKey()
  const candidate = {
    ...task,
    idempotencyKey: key,
    ...(webhooks === undefined ? {} : { webhook: { url: webhooks.url } })
  }
  // validated once: the frozen copy is taken as it is by `submitBatch`
  return Either.match(validateOwned(candidate), {
    onLeft: (error) => invalid(origin, error),
    onRight: (valid): Either.Either<Prepared, Outcome> =>
      Either.right({ origin: { ...origin, idempotencyKey: key }, key, task: valid, estimate: Pricing.estimateTask(valid) })
  })
}

/**
 * Items that may exist at cloro but whose ids cannot be learnt. With
 * webhooks their deliveries, which carry the key, tell; without, they are
 * `SubmittedUnfollowable`, never plain failures.
 */
const unresolved = (
  ctx: RunContext,
  item: Prepared,
  reason: SubmittedUnfollowable["reason"],
  lastError: string | undefined
): Effect.Effect<Step> =>
  ctx.settings.webhooks !== undefined
    ? Effect.succeed({ _tag: "AwaitDelivery", origin: item.origin, key: item.key, estimate: item.estimate, reason })
    : Effect.as(ctx.tracker.release(item.key), {
      _tag: "Done",
      outcome: failedOutcome(item.origin, unfollowable(item.key, reason, item.estimate, lastError), {
        creditsToCharge: item.estimate
      })
    })

/** A key already taken: follow its task if anything knows its id. */
const alreadySubmitted = (
  ctx: RunContext,
  item: Prepared,
  ambiguous: boolean
): Effect.Effect<Step> =>
  Effect.gen(function*() {
    const { tracker } = ctx
    const { journal } = ctx.settings
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
        creditsToCharge: null
      }
    }
    return yield* unresolved(
      ctx,
      item,
      ambiguous ? "AmbiguousSubmit" : "KeyAlreadyUsed",
      "RESOURCE_ALREADY_EXISTS: the idempotency key is taken and cloro's answer does not say by which task"
    )
  })

/** One POST of a batch, without the client's retry policy: every resend is decided here. */
const sendOnce = (ctx: RunContext, items: Arr.NonEmptyReadonlyArray<Prepared>) =>
  ctx.client.tasks.submitBatch(items.map((item) => item.task), { ...ctx.settings.callOptions, retry: RetryPolicy.none }).pipe(
    Effect.either
  )

/**
 * Sends a batch until every item is accepted, refused, or known to be
 * unresolvable. A send whose answer was lost (timeout, dropped connection,
 * unreadable answer, 5xx) may have created the tasks: it is sent again with
 * the same keys, and the items then refused as already existing are the
 * ones it created. An answer without a result for an item counts the same.
 */
const submitValid = (ctx: RunContext, valid: Arr.NonEmptyReadonlyArray<Prepared>): Effect.Effect<ReadonlyArray<Step>> =>
  Effect.gen(function*() {
    const { currentBatchSize, settings, tracker } = ctx
    const { journal } = settings
    yield* tracker.registerAll(valid.map((item) => item.key))
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
      const sent = yield* sendOnce(ctx, batch)
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
              ? yield* unresolved(ctx, item, "AmbiguousSubmit", lastError)
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
      yield* tracker.assignAll(accepted.map(({ item, result }) => [item.key, result.task.id] as const))
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
              taskType: Task.stateTaskTypeOf(result.task.taskType),
              task: result.task,
              credits: result.credits
            }),
            creditsToCharge: result.credits.creditsToCharge
          })
        } else if (result.error.code === "RESOURCE_ALREADY_EXISTS") {
          steps.push(yield* alreadySubmitted(ctx, item, ambiguous))
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
            steps.push(yield* unresolved(ctx, item, "AmbiguousSubmit", describeError(error)))
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

/** Prepares a group of inputs and submits the valid ones in batches of the current size. @internal */
export const submitGroup = (ctx: RunContext, group: Chunk.Chunk<readonly [unknown, number]>): Effect.Effect<Chunk.Chunk<Step>> =>
  Effect.gen(function*() {
    const { currentBatchSize } = ctx
    const randomKey = Keys.randomKeyOf(ctx.settings.keyPrefix)
    const prepared = yield* Effect.sync(() => Chunk.map(group, ([request, index]) => prepare(ctx, request, index, randomKey)))
    const [invalid, valid] = Arr.partitionMap(prepared, (p) => p)
    const steps: Array<Step> = invalid.map((outcome): Step => ({ _tag: "Done", outcome }))
    let rest: ReadonlyArray<Prepared> = valid
    while (Arr.isNonEmptyReadonlyArray(rest)) {
      const size = yield* Ref.get(currentBatchSize)
      const batch = rest.slice(0, size)
      rest = rest.slice(size)
      if (Arr.isNonEmptyReadonlyArray(batch)) steps.push(...(yield* submitValid(ctx, batch)))
    }
    return Chunk.fromIterable(steps)
  })
