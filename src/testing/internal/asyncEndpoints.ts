/**
 * The async API's endpoints over the simulator's task store: submit and
 * batch (validation, idempotency keys, the credit estimate and the queue
 * cap, all or nothing for a batch), get one task, the queue's status and
 * clearing it. The tasks themselves run in `worker.ts`.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { InvalidRequest } from "../../CloroError.js"
import * as Engine from "../../Engine.js"
import * as Pricing from "../../Pricing.js"
import * as Task from "../../Task.js"
import type { Authenticated } from "./auth.js"
import type { Context } from "./context.js"
import type { Json } from "./generators.js"
import * as Prng from "./prng.js"
import * as State from "./state.js"
import * as TaskQueue from "./taskQueue.js"
import {
  type Answer,
  failure,
  invalidJson,
  invalidRequest,
  issueDetails,
  iso,
  json,
  parseJson,
  type SimRequest
} from "./wire.js"

const summary = (task: State.Task) => ({
  id: task.id,
  taskType: task.taskType,
  status: task.status,
  priority: task.priority,
  createdAt: iso(task.createdAt),
  latencyMs: task.startedAt !== null && task.finishedAt !== null ? task.finishedAt - task.startedAt : null,
  idempotencyKey: task.idempotencyKey
})

const taskCredits = (task: State.Task) => ({
  creditsToCharge: task.creditsToCharge,
  creditsCharged: task.creditsCharged
})

/** The GET-task object; webhooks send it without the `webhook` block. @internal */
export const taskView = (task: State.Task, withWebhook: boolean): Json => ({
  task: summary(task),
  credits: taskCredits(task),
  ...(withWebhook && task.webhook !== null && (task.status === "COMPLETED" || task.status === "FAILED")
    ? {
      webhook: {
        url: task.webhook.url,
        deliveredAt: task.webhook.deliveredAt === null ? null : iso(task.webhook.deliveredAt),
        delivered: task.webhook.delivered
      }
    }
    : {}),
  ...(task.response === null ? {} : { response: task.response })
})

type Admitted =
  | { readonly _tag: "Queued"; readonly task: State.Task }
  | { readonly _tag: "Conflict"; readonly key: string }
  | { readonly _tag: "InsufficientCredits"; readonly estimate: number; readonly balance: number }

/** Admits one validated task into the queue; the queue cap is checked by the caller. */
const admitTask = (
  ctx: Context,
  s: State.State,
  submit: Task.SubmitTask,
  id: string,
  now: number
): [Admitted, State.State] => {
  const engine = Engine.fromTaskType(submit.taskType).name
  const key = submit.idempotencyKey ?? null
  if (key !== null && TaskQueue.idempotencyOwner(s, id, key, now, ctx.config.taskRetention) !== undefined) {
    return [{ _tag: "Conflict", key }, s]
  }
  const estimate = Pricing.estimate(engine, submit.payload, { mode: "async" })
  const balance = State.account(s, id)?.balance ?? 0
  if (balance < estimate) return [{ _tag: "InsufficientCredits", estimate, balance }, s]
  const [seq, s1] = TaskQueue.nextTaskSeq(s)
  const task: State.Task = {
    id: Prng.make(ctx.config.seed, `task:${seq}`).uuid("id"),
    seq,
    accountId: id,
    engine,
    taskType: submit.taskType,
    payload: submit.payload,
    priority: submit.priority ?? 1,
    createdAt: now,
    idempotencyKey: key,
    status: "QUEUED",
    startedAt: null,
    finishedAt: null,
    creditsToCharge: estimate,
    creditsCharged: null,
    response: null,
    webhook: submit.webhook === undefined
      ? null
      : { url: submit.webhook.url, delivered: false, deliveredAt: null, attempts: 0 }
  }
  return [{ _tag: "Queued", task }, TaskQueue.enqueue(s1, task)]
}

const queueFull = (ctx: Context, now: number) =>
  failure(429, "QUEUE_LIMIT_EXCEEDED", `The async queue is full (${ctx.config.queueLimit} QUEUED tasks)`, now, {
    details: { limit: ctx.config.queueLimit }
  })

/** The message and details of a refused task, the same in a submit's envelope and a batch item. */
const refusal = (admitted: Exclude<Admitted, { readonly _tag: "Queued" }>) =>
  admitted._tag === "Conflict"
    ? {
      status: 409,
      code: "RESOURCE_ALREADY_EXISTS",
      message: `A task with idempotencyKey ${JSON.stringify(admitted.key)} already exists`,
      details: { field: "idempotencyKey", value: admitted.key }
    }
    : {
      status: 403,
      code: "INSUFFICIENT_CREDITS",
      message: `Insufficient credits: this task is estimated at ${admitted.estimate}`,
      details: { required: admitted.estimate, remaining: admitted.balance }
    }

/** `POST /v1/async/task` @internal */
export const submit = (ctx: Context, request: SimRequest, auth: Authenticated): Effect.Effect<Answer> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const parsed = parseJson(request.body)
    if (Either.isLeft(parsed)) return invalidJson(parsed.left, now)
    const validated = Task.validateSubmit(parsed.right)
    if (Either.isLeft(validated)) return invalidRequest(issueDetails(validated.left.issues), now)
    const admitted = yield* Ref.modify(ctx.state, (s): [Admitted | "full", State.State] =>
      TaskQueue.queuedCount(s, auth.accountId) >= ctx.config.queueLimit
        ? ["full", s]
        : admitTask(ctx, s, validated.right, auth.accountId, now))
    if (admitted === "full") return queueFull(ctx, now)
    if (admitted._tag !== "Queued") {
      const { code, details, message, status } = refusal(admitted)
      return failure(status, code, message, now, { details })
    }
    yield* ctx.wake
    return json(200, { success: true, task: summary(admitted.task), credits: taskCredits(admitted.task) })
  })

/** `POST /v1/async/task/batch`: one result per item, in order. @internal */
export const batch = (ctx: Context, request: SimRequest, auth: Authenticated): Effect.Effect<Answer> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const parsed = parseJson(request.body)
    if (Either.isLeft(parsed)) return invalidJson(parsed.left, now)
    const items = parsed.right
    if (!Array.isArray(items) || items.length === 0 || items.length > Task.maxBatchSize) {
      return invalidRequest([{
        field: "(body)",
        message: `Expected an array of 1 to ${Task.maxBatchSize} tasks (got ${
          Array.isArray(items) ? `${items.length} tasks` : "not an array"
        })`
      }], now)
    }
    const validated = items.map((item) => Task.validateSubmit(item))
    const valid = validated.filter(Either.isRight).length
    const batchItem = (
      current: State.State,
      v: Either.Either<Task.SubmitTask, InvalidRequest>,
      index: number
    ): [Json, State.State] => {
      const itemFailure = (code: string, message: string, details?: unknown): Json => ({
        success: false,
        index,
        error: { code, message, ...(details === undefined ? {} : { details }), timestamp: iso(now) }
      })
      if (Either.isLeft(v)) {
        return [itemFailure("VALIDATION_ERROR", "Task validation failed", { errors: issueDetails(v.left.issues) }), current]
      }
      const [admitted, next] = admitTask(ctx, current, v.right, auth.accountId, now)
      if (admitted._tag !== "Queued") {
        const { code, details, message } = refusal(admitted)
        return [itemFailure(code, message, details), next]
      }
      return [{ success: true, index, task: summary(admitted.task), credits: taskCredits(admitted.task) }, next]
    }
    const outcome = yield* Ref.modify(ctx.state, (s): [ReadonlyArray<Json> | "full", State.State] => {
      // The queue check is all or nothing: the whole batch, or none of it.
      if (TaskQueue.queuedCount(s, auth.accountId) + valid > ctx.config.queueLimit) return ["full", s]
      return validated.reduce<[ReadonlyArray<Json>, State.State]>(
        ([done, current], v, index) => {
          const [item, next] = batchItem(current, v, index)
          return [[...done, item], next]
        },
        [[], s]
      )
    })
    if (outcome === "full") return queueFull(ctx, now)
    yield* ctx.wake
    const succeeded = outcome.filter((r) => r.success === true).length
    return json(200, {
      success: true,
      summary: { total: outcome.length, succeeded, failed: outcome.length - succeeded },
      results: outcome
    })
  })

/** `GET /v1/async/task/{taskId}`: another account's task is as absent as a missing one. @internal */
export const getTask = (ctx: Context, taskId: string, auth: Authenticated): Effect.Effect<Answer> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const s = yield* Ref.get(ctx.state)
    const task = TaskQueue.liveTask(s, taskId, now, ctx.config.taskRetention)
    if (task === undefined || task.accountId !== auth.accountId) {
      return failure(404, "RESOURCE_NOT_FOUND", `Task ${taskId} not found`, now, { details: { id: taskId } })
    }
    return json(200, taskView(task, true))
  })

/** `GET /v1/async/status` @internal */
export const status = (ctx: Context, auth: Authenticated): Effect.Effect<Answer> =>
  Effect.gen(function*() {
    const s = yield* Ref.get(ctx.state)
    const queue = Option.getOrElse(HashMap.get(s.queues, auth.accountId), () => [])
    const account = State.account(s, auth.accountId)
    const processing = Chunk.size(
      Chunk.filter(Chunk.fromIterable(HashMap.values(s.tasks)), (t) =>
        t.accountId === auth.accountId && t.status === "PROCESSING")
    )
    const breakdown = queue
      .map((level, i) => ({ priority: i + 1, count: Chunk.size(level) }))
      .filter((b) => b.count > 0)
      .reverse()
    return json(200, {
      queuedTasks: TaskQueue.queuedCount(s, auth.accountId),
      processingTasks: processing,
      priorityBreakdown: breakdown,
      concurrency: account === undefined ? null : { used: account.inFlight, max: account.concurrency }
    })
  })

/** `DELETE /v1/async/queue` @internal */
export const clear = (ctx: Context, auth: Authenticated): Effect.Effect<Answer> =>
  Ref.modify(ctx.state, (s) => TaskQueue.clearQueue(s, auth.accountId)).pipe(
    Effect.map((cleared) => json(200, { success: true, cleared }))
  )
