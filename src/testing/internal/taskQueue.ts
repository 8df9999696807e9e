/**
 * The async queue's pure transitions on the simulator's `State`: idempotency
 * keys and retention, enqueueing by priority, dispatching QUEUED tasks into
 * free slots (highest priority first, FIFO within a level), finishing and
 * charging a task, clearing an account's queue, and a task's webhook state.
 * The model itself, and the sync admission and charging these reuse, are in
 * `state.ts`.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type { Json } from "./generators.js"
import type { State, Task, WebhookState } from "./state.js"
import { account, charge, emptyQueue, release, takeSlot, updateAccount } from "./state.js"

const idempotencySlot = (accountId: string, key: string): string => `${accountId}\u0000${key}`

/** @internal */
export const liveTask = (state: State, id: string, now: number, retention: number): Task | undefined =>
  Option.getOrUndefined(HashMap.get(state.tasks, id).pipe(Option.filter((t) => now - t.createdAt < retention)))

/** @internal */
export const idempotencyOwner = (
  state: State,
  accountId: string,
  key: string,
  now: number,
  retention: number
): Task | undefined =>
  Option.getOrUndefined(
    Option.flatMap(
      HashMap.get(state.idempotency, idempotencySlot(accountId, key)),
      (id) => Option.fromNullable(liveTask(state, id, now, retention))
    )
  )

/** @internal */
export const queuedCount = (state: State, accountId: string): number =>
  Option.match(HashMap.get(state.queues, accountId), {
    onNone: () => 0,
    onSome: (queue) => queue.reduce((n, level) => n + Chunk.size(level), 0)
  })

/** @internal */
export const nextTaskSeq = (state: State): [number, State] => [state.taskSeq, { ...state, taskSeq: state.taskSeq + 1 }]

/** @internal */
export const enqueue = (state: State, task: Task): State => {
  const queue = Option.getOrElse(HashMap.get(state.queues, task.accountId), () => emptyQueue)
  const level = task.priority - 1
  return {
    ...state,
    tasks: HashMap.set(state.tasks, task.id, task),
    queues: HashMap.set(
      state.queues,
      task.accountId,
      queue.map((chunk, i) => (i === level ? Chunk.append(chunk, task.id) : chunk))
    ),
    idempotency: task.idempotencyKey === null
      ? state.idempotency
      : HashMap.set(state.idempotency, idempotencySlot(task.accountId, task.idempotencyKey), task.id)
  }
}

/**
 * Moves QUEUED tasks to PROCESSING wherever an account has a free slot,
 * highest priority first and FIFO within a level, up to `maxWorkers` overall.
 *
 * @internal
 */
export const dispatch = (state: State, now: number, maxWorkers: number): [ReadonlyArray<Task>, State] => {
  const started: Array<Task> = []
  let next = state
  for (const [id, queue] of state.queues) {
    let levels = queue
    let acct = account(next, id)
    while (acct !== undefined && acct.inFlight < acct.concurrency && next.processing < maxWorkers) {
      const level = findLastIndex(levels, (chunk) => Chunk.isNonEmpty(chunk))
      if (level < 0) break
      const taskId = Chunk.unsafeHead(levels[level] ?? Chunk.empty())
      levels = levels.map((chunk, i) => (i === level ? Chunk.drop(chunk, 1) : chunk))
      const task = Option.getOrUndefined(HashMap.get(next.tasks, taskId))
      if (task === undefined || task.status !== "QUEUED") continue
      const running: Task = { ...task, status: "PROCESSING", startedAt: now }
      const busy = takeSlot(acct)
      started.push(running)
      next = {
        ...updateAccount(next, id, () => busy),
        tasks: HashMap.set(next.tasks, taskId, running),
        processing: next.processing + 1
      }
      acct = busy
    }
    next = { ...next, queues: HashMap.set(next.queues, id, levels) }
  }
  return [started, next]
}

const findLastIndex = <A>(items: ReadonlyArray<A>, f: (a: A) => boolean): number => {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]
    if (item !== undefined && f(item)) return i
  }
  return -1
}

/** @internal */
export type Outcome =
  | { readonly _tag: "Completed"; readonly result: Json; readonly price: number }
  | { readonly _tag: "Failed"; readonly code: string; readonly message: string; readonly details?: Json }

/**
 * Ends a PROCESSING task: frees its slot and charges it if it completed and
 * the balance still covers the price (else it fails with
 * `INSUFFICIENT_CREDITS`, charged 0, as every FAILED task is).
 *
 * @internal
 */
export const finish = (state: State, id: string, outcome: Outcome, now: number): [Task | undefined, State] => {
  const task = Option.getOrUndefined(HashMap.get(state.tasks, id))
  if (task === undefined || task.status !== "PROCESSING") return [undefined, state]
  const freed: State = {
    ...release(state, task.accountId),
    processing: Math.max(0, state.processing - 1)
  }
  const failed = (code: string, message: string, details?: Json): [Task, State] => {
    const done: Task = {
      ...task,
      status: "FAILED",
      finishedAt: now,
      creditsCharged: 0,
      response: { error: { code, message, ...(details === undefined ? {} : { details }) } }
    }
    return [done, { ...freed, tasks: HashMap.set(freed.tasks, id, done) }]
  }
  if (outcome._tag === "Failed") return failed(outcome.code, outcome.message, outcome.details)
  const [charged, afterCharge] = charge(freed, task.accountId, outcome.price)
  if (charged === undefined) {
    return failed("INSUFFICIENT_CREDITS", "Insufficient credits to complete the task")
  }
  const done: Task = {
    ...task,
    status: "COMPLETED",
    finishedAt: now,
    creditsCharged: outcome.price,
    response: outcome.result
  }
  return [done, { ...afterCharge, tasks: HashMap.set(afterCharge.tasks, id, done) }]
}

/**
 * Deletes every QUEUED task of an account (PROCESSING and finished ones stay).
 *
 * @internal
 */
export const clearQueue = (state: State, accountId: string): [number, State] => {
  const queue = Option.getOrUndefined(HashMap.get(state.queues, accountId))
  if (queue === undefined) return [0, state]
  const ids = queue.flatMap((level) => Chunk.toReadonlyArray(level))
  const queued = ids.flatMap((id) => Option.toArray(HashMap.get(state.tasks, id))).filter((t) => t.status === "QUEUED")
  return [queued.length, {
    ...state,
    queues: HashMap.set(state.queues, accountId, emptyQueue),
    tasks: queued.reduce((tasks, t) => HashMap.remove(tasks, t.id), state.tasks),
    idempotency: queued.reduce(
      (map, t) => (t.idempotencyKey === null ? map : HashMap.remove(map, idempotencySlot(t.accountId, t.idempotencyKey))),
      state.idempotency
    )
  }]
}

/** @internal */
export const updateWebhook = (state: State, taskId: string, f: (w: WebhookState) => WebhookState): State => ({
  ...state,
  tasks: HashMap.modify(state.tasks, taskId, (t) => (t.webhook === null ? t : { ...t, webhook: f(t.webhook) }))
})
