/**
 * The simulator's whole world as one immutable value, and the pure
 * transitions on it. The service keeps it in a single `Ref` and applies every
 * transition with `Ref.modify`, so admission (rate window, concurrency slot,
 * balance) is one atomic step, as it is on cloro's side.
 *
 * This module owns the model, the rate windows, sync admission and charging,
 * the fault script and the counters; the async queue's transitions are in
 * `taskQueue.ts`.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import type * as Engine from "../../Engine.js"
import type { Config, EngineName, FaultRate, FaultScriptEntry } from "./config.js"
import { accountId } from "./config.js"
import type { Json } from "./generators.js"

/** @internal */
export interface Account {
  readonly id: string
  readonly balance: number
  readonly concurrency: number
  readonly perCycle: number | null
  readonly cycleResetsAt: string | null
  /** Sync monitor requests in flight plus PROCESSING tasks: they share the plan's slots. */
  readonly inFlight: number
  readonly peak: number
  readonly charged: number
}

/** @internal */
export type TaskStatus = "QUEUED" | "PROCESSING" | "COMPLETED" | "FAILED"

/** @internal */
export interface WebhookState {
  readonly url: string
  readonly delivered: boolean
  readonly deliveredAt: number | null
  readonly attempts: number
}

/** @internal */
export interface Task {
  readonly id: string
  /** Submission order, for FIFO within a priority level. */
  readonly seq: number
  readonly accountId: string
  readonly engine: EngineName
  readonly taskType: string
  /** The validated engine request, priced again when the task completes. */
  readonly payload: Engine.Request<EngineName>
  readonly priority: number
  readonly createdAt: number
  readonly idempotencyKey: string | null
  readonly status: TaskStatus
  readonly startedAt: number | null
  readonly finishedAt: number | null
  readonly creditsToCharge: number
  readonly creditsCharged: number | null
  /** The engine's `result` when COMPLETED, `{ error }` when FAILED. */
  readonly response: Json | null
  readonly webhook: WebhookState | null
}

/** One level per priority 1..10, each in submission order. @internal */
export type Queue = ReadonlyArray<Chunk.Chunk<string>>

/** @internal */
export type Window =
  | { readonly _tag: "Fixed"; readonly start: number; readonly count: number }
  /** the arrival times it let in during the last 1000 ms, in ascending order */
  | { readonly _tag: "Sliding"; readonly stamps: ReadonlyArray<number> }

/** @internal */
export interface LogEntry {
  readonly requestId: string
  readonly method: string
  readonly path: string
  /** The route template, e.g. `/v1/async/task/{taskId}`. */
  readonly endpoint: string
  readonly status: number
  readonly code: string | undefined
  readonly accountId: string | undefined
  readonly startedAt: number
  readonly durationMs: number
}

/** @internal */
export interface WebhookAttempt {
  readonly taskId: string
  readonly attempt: number
  readonly url: string
  readonly at: number
  /** The receiver's status, or undefined when the request itself failed. */
  readonly status: number | undefined
  readonly ok: boolean
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** @internal */
export interface State {
  readonly accounts: HashMap.HashMap<string, Account>
  readonly tasks: HashMap.HashMap<string, Task>
  readonly queues: HashMap.HashMap<string, Queue>
  /** `accountId \0 idempotencyKey` to task id. */
  readonly idempotency: HashMap.HashMap<string, string>
  readonly processing: number
  readonly windows: HashMap.HashMap<string, Window>
  readonly script: Chunk.Chunk<FaultScriptEntry>
  readonly faultRate: FaultRate | undefined
  readonly requestSeq: number
  readonly taskSeq: number
  readonly requests: Readonly<Record<string, Readonly<Record<string, number>>>>
  readonly rejections: Readonly<Record<string, number>>
  readonly creditsCharged: number
  readonly log: Chunk.Chunk<LogEntry>
  readonly webhooks: Chunk.Chunk<WebhookAttempt>
}

/** Ten empty priority levels. @internal */
export const emptyQueue: Queue = Array.from({ length: 10 }, () => Chunk.empty<string>())

/** @internal */
export const initial = (config: Config): State => ({
  accounts: HashMap.fromIterable(
    config.accounts.map((account, i) => {
      const id = account.id ?? accountId(i)
      return [id, {
        id,
        balance: account.plan.credits,
        concurrency: account.plan.concurrency,
        perCycle: account.plan.perCycle,
        cycleResetsAt: account.plan.cycleResetsAt,
        inFlight: 0,
        peak: 0,
        charged: 0
      }] as const
    })
  ),
  tasks: HashMap.empty(),
  queues: HashMap.empty(),
  idempotency: HashMap.empty(),
  processing: 0,
  windows: HashMap.empty(),
  script: Chunk.fromIterable(config.faults.script),
  faultRate: config.faults.rate,
  requestSeq: 0,
  taskSeq: 0,
  requests: {},
  rejections: {},
  creditsCharged: 0,
  log: Chunk.empty(),
  webhooks: Chunk.empty()
})

/** @internal */
export const updateAccount = (state: State, id: string, f: (account: Account) => Account): State => ({
  ...state,
  accounts: HashMap.modify(state.accounts, id, f)
})

/** @internal */
export const account = (state: State, id: string): Account | undefined => Option.getOrUndefined(HashMap.get(state.accounts, id))

// ---------------------------------------------------------------------------
// rate limit
// ---------------------------------------------------------------------------

/** @internal */
export interface RateDecision {
  readonly allowed: boolean
  readonly remaining: number
}

/** The index of the first of the ascending `sorted` greater than `at`. */
const firstAfter = (sorted: ReadonlyArray<number>, at: number): number => {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if ((sorted[mid] ?? Number.POSITIVE_INFINITY) <= at) low = mid + 1
    else high = mid
  }
  return low
}

/**
 * Counts one request in a bucket. A fixed window opens with the first request
 * after the previous one expired (so a burst is never split by a wall-clock
 * second boundary); a sliding window counts the requests it let in during
 * the last 1000 ms.
 *
 * @internal
 */
export const takeRate = (
  state: State,
  bucket: string,
  now: number,
  limit: number,
  mode: "fixed" | "sliding"
): [RateDecision, State] => {
  const current = Option.getOrUndefined(HashMap.get(state.windows, bucket))
  if (mode === "fixed") {
    const window = current?._tag === "Fixed" && now - current.start < 1000 ? current : { _tag: "Fixed" as const, start: now, count: 0 }
    if (window.count >= limit) return [{ allowed: false, remaining: 0 }, state]
    const next = { ...window, count: window.count + 1 }
    return [{ allowed: true, remaining: limit - next.count }, { ...state, windows: HashMap.set(state.windows, bucket, next) }]
  }
  // Every stamp out of the window goes, not only a leading run of them: a
  // request's `now` is when its handler started, and handlers interleave, so
  // requests reach this point a little out of order. The stamps are kept
  // sorted (each inserted in place, nearly always at the end), so the ones out
  // of the window are exactly a leading run, found by binary search: O(log n)
  // and one copy per request instead of a filter over the whole second (at
  // 500/s that filter was most of the simulator's time per request).
  const previous = current?._tag === "Sliding" ? current.stamps : []
  const stamps = previous.slice(firstAfter(previous, now - 1000))
  if (stamps.length >= limit) {
    return [{ allowed: false, remaining: 0 }, { ...state, windows: HashMap.set(state.windows, bucket, { _tag: "Sliding", stamps }) }]
  }
  stamps.splice(firstAfter(stamps, now), 0, now)
  return [
    { allowed: true, remaining: limit - stamps.length },
    { ...state, windows: HashMap.set(state.windows, bucket, { _tag: "Sliding", stamps }) }
  ]
}

// ---------------------------------------------------------------------------
// sync admission and charging
// ---------------------------------------------------------------------------

/** @internal */
export type Admission =
  | { readonly _tag: "Admitted"; readonly account: Account }
  | { readonly _tag: "ConcurrencyExceeded"; readonly account: Account }
  | { readonly _tag: "InsufficientCredits"; readonly account: Account }
  | { readonly _tag: "UnknownAccount" }

/**
 * Takes a concurrency slot for a sync monitor request, if one is free and the
 * balance covers the estimate. Nothing is reserved: the charge happens on success.
 *
 * @internal
 */
export const admit = (state: State, id: string, estimate: number): [Admission, State] => {
  const current = account(state, id)
  if (current === undefined) return [{ _tag: "UnknownAccount" }, state]
  if (current.inFlight >= current.concurrency) return [{ _tag: "ConcurrencyExceeded", account: current }, state]
  if (current.balance < estimate) return [{ _tag: "InsufficientCredits", account: current }, state]
  const next = takeSlot(current)
  return [{ _tag: "Admitted", account: next }, updateAccount(state, id, () => next)]
}

/**
 * One more slot held (a sync request or a PROCESSING task), raising the peak if it is one.
 *
 * @internal
 */
export const takeSlot = (a: Account): Account => ({ ...a, inFlight: a.inFlight + 1, peak: Math.max(a.peak, a.inFlight + 1) })

/** Gives a slot back. @internal */
export const release = (state: State, id: string): State =>
  updateAccount(state, id, (a) => ({ ...a, inFlight: Math.max(0, a.inFlight - 1) }))

/**
 * Charges an account if the balance covers it (it never goes below zero).
 *
 * @internal
 */
export const charge = (state: State, id: string, amount: number): [Account | undefined, State] => {
  const current = account(state, id)
  if (current === undefined || current.balance < amount) return [undefined, state]
  const next = { ...current, balance: current.balance - amount, charged: current.charged + amount }
  return [next, { ...updateAccount(state, id, () => next), creditsCharged: state.creditsCharged + amount }]
}

// ---------------------------------------------------------------------------
// faults
// ---------------------------------------------------------------------------

/** What a fault rule is matched against. @internal */
export interface FaultTarget {
  readonly on: "request" | "task"
  readonly method: string
  readonly endpoint: string
  readonly engine: EngineName | undefined
}

/** @internal */
export const faultMatches = (
  rule: Pick<FaultScriptEntry, "on" | "path" | "engine" | "method">,
  target: FaultTarget
): boolean =>
  rule.on === target.on &&
  (rule.path === undefined || rule.path === target.endpoint) &&
  (rule.engine === undefined || rule.engine === target.engine) &&
  (rule.method === undefined || rule.method === target.method)

/**
 * Takes the first script entry matching the target, consuming one of its `times`.
 *
 * @internal
 */
export const takeScripted = (state: State, target: FaultTarget): [FaultScriptEntry | undefined, State] => {
  const index = Chunk.findFirstIndex(state.script, (entry) => faultMatches(entry, target))
  if (Option.isNone(index)) return [undefined, state]
  const entry = Chunk.unsafeGet(state.script, index.value)
  const script = entry.times > 1
    ? Chunk.replace(state.script, index.value, { ...entry, times: entry.times - 1 })
    : Chunk.remove(state.script, index.value)
  return [entry, { ...state, script }]
}

// ---------------------------------------------------------------------------
// counters
// ---------------------------------------------------------------------------

/** @internal */
export const nextRequestSeq = (state: State): [number, State] => [state.requestSeq, {
  ...state,
  requestSeq: state.requestSeq + 1
}]

/** @internal */
export const record = (state: State, entry: LogEntry, logLimit: number): State => {
  const byStatus = state.requests[entry.endpoint] ?? {}
  const status = String(entry.status)
  const log = Chunk.append(state.log, entry)
  return {
    ...state,
    requests: { ...state.requests, [entry.endpoint]: { ...byStatus, [status]: (byStatus[status] ?? 0) + 1 } },
    rejections: entry.status === 429 && entry.code !== undefined
      ? { ...state.rejections, [entry.code]: (state.rejections[entry.code] ?? 0) + 1 }
      : state.rejections,
    log: Chunk.size(log) > logLimit ? Chunk.takeRight(log, logLimit) : log
  }
}

/** @internal */
export const recordWebhook = (state: State, attempt: WebhookAttempt, logLimit: number): State => {
  const webhooks = Chunk.append(state.webhooks, attempt)
  return { ...state, webhooks: Chunk.size(webhooks) > logLimit ? Chunk.takeRight(webhooks, logLimit) : webhooks }
}
