/**
 * The tasks a run is following, by idempotency key, and the one fiber that
 * polls them.
 *
 * Each task ends once, by its webhook delivery, a poll or its deadline,
 * whichever comes first, and its end is handed to the callbacks its
 * followers left (`watch`): a task in flight is an entry in a map and a slot
 * in a heap, not a fiber waiting on a deferred (a fiber per task, with the
 * stream stage that ran it, cost about 27 KB of live heap each). Rather than a timer per task, a single
 * poller sleeps until the earliest poll or deadline that is due, then polls
 * every due task (a bounded number at once) and steps each task's own
 * schedule. Tasks submitted together come due together, so a run of
 * thousands wakes a handful of times per round instead of once per task.
 *
 * A poll that fails never ends a task: it is tried again on the plan's
 * `retry` schedule (its own, not the client's, whose budget is shared with
 * sends) until the task's deadline. Only the task's finished state, its
 * delivery or its deadline end it.
 *
 * At most `concurrency` polls run at once. The poller starts no more than
 * that; the other due tasks wait in a line of keys, and the fiber whose poll
 * ends goes on with the next one in line (its permit handed over), so nothing
 * waits on a semaphore, memory does not grow with the number of due tasks,
 * and a poll that ends neither forks a fiber nor wakes the poller.
 *
 * Each watched task sits once in a heap ordered by its next due time (its
 * next poll, or its deadline while it polls or waits for a permit), so a
 * wake-up costs O(log n) per task it handles and nothing per task not due:
 * a run of 1,000 in flight does not walk 1,000 entries on every wake.
 *
 * Only tasks in flight are held: an entry goes when its last follower is
 * done, which keeps a run of a million tasks at the size of its window.
 *
 * Every change of the state is one synchronous `Ref.modify` (callbacks and
 * polls run after it), so a plain `Ref` is atomic here; a `SynchronizedRef`
 * added a semaphore round trip to each of the several changes per task.
 * The maps by key and by task id are mutable `Map`s, like the heap, changed
 * only inside that `modify`: an immutable `HashMap` copied a path of nodes
 * on each of the several changes per task, garbage that lived as long as a
 * task waits and so was promoted to the old space (issue 16).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import type * as Scope from "effect/Scope"
import * as Ref from "effect/Ref"
import type { CloroError } from "../../CloroError.js"
import * as WaitQueue from "../limits/waitQueue.js"
import * as Task from "../../Task.js"

/** A finished task, as a webhook or a poll reports it. @internal */
export type Finished = Task.Completed | Task.Failed

/** Why a watch ended without a finished task. @internal */
export type Expiry = "deadline" | "schedule"

/**
 * How to watch a task once a follower starts on it.
 *
 * @internal
 */
export interface Plan<E> {
  /** The task to poll; without one only a delivery (or the deadline) ends the watch. */
  readonly taskId: string | undefined
  readonly schedule: Schedule.Schedule<unknown, Task.TaskState>
  /**
   * When to poll first: at once, after the schedule's first delay given the
   * state at submission, or after a fixed delay (then on the schedule).
   */
  readonly first:
    | { readonly _tag: "Now" }
    | { readonly _tag: "Schedule"; readonly state: Task.TaskState }
    | { readonly _tag: "After"; readonly delay: Duration.Duration }
  readonly timeout: Duration.Duration
  /** Delays before polling again after a failed poll; restarted when it stops. */
  readonly retry: Schedule.Schedule<unknown, CloroError>
  /** The failure when the deadline passes or the schedule stops first. */
  readonly expired: (
    why: Expiry,
    last: Option.Option<Task.TaskState>,
    waited: Duration.Duration,
    lastError: Option.Option<CloroError>
  ) => E
}

interface Watching<E> {
  readonly plan: Plan<E>
  readonly scheduleState: unknown
  /** `Infinity` when there is nothing to poll. */
  readonly nextPollAt: number
  readonly deadline: number
  readonly startedAt: number
  readonly last: Option.Option<Task.TaskState>
  /** The error of the last poll, while polls are failing. */
  readonly lastError: Option.Option<CloroError>
  /** The retry schedule's state while polls are failing; `undefined` after a good poll. */
  readonly retryState: unknown
  /** A poll of this task is in flight. */
  readonly polling: boolean
}

/**
 * A watched task's place in the due-time heap. Mutable, like the limiters'
 * queues, and changed only inside the state's `modify`: moving a task in the
 * heap must cost O(log n), not a copy.
 */
interface Slot {
  readonly key: string
  /** when the task is next due: its next poll, or its deadline while it polls or waits for a permit */
  at: number
  /** its index in the heap; -1 once out of it */
  index: number
  /** waiting in the line for a poll permit */
  ready: boolean
}

/** What a follower of a key is told when its task ends. @internal */
export type OnEnd<E> = (result: Either.Either<Finished, E | CloroError>) => Effect.Effect<void>

interface Entry<E> {
  /** The task's end, once known; kept for a follower that starts watching after it. */
  readonly result: Either.Either<Finished, E | CloroError> | undefined
  /** The followers' callbacks not yet called. */
  readonly onEnd: ReadonlyArray<OnEnd<E>>
  /** in the heap while watched and not done */
  readonly slot: Slot
  readonly taskId: string | undefined
  /** Followers of this key; the entry goes when the last one is done. */
  readonly followers: number
  /** Set once the task has ended, so that nothing polls it again. */
  readonly done: boolean
  readonly watching: Watching<E> | undefined
}

interface State<E> {
  /** Mutable, changed only inside the state's `modify`. */
  readonly byKey: Map<string, Entry<E>>
  /** When the poller means to look again; `Infinity` while it waits for a signal. */
  readonly plannedWake: number
  /** For deliveries that do not echo `idempotencyKey` (older API versions). */
  readonly keyByTaskId: Map<string, string>
  /** Polls running now; never above `concurrency`. */
  readonly active: number
  /** Watched tasks by due time (a binary min-heap of slots). */
  readonly heap: Array<Slot>
  /** Keys due for a poll that found no permit free, oldest first. */
  readonly ready: WaitQueue.WaitQueue<string>
}

const swap = (heap: Array<Slot>, i: number, j: number): void => {
  const a = heap[i]!
  const b = heap[j]!
  heap[i] = b
  heap[j] = a
  b.index = i
  a.index = j
}

const siftUp = (heap: Array<Slot>, index: number): void => {
  let i = index
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (heap[parent]!.at <= heap[i]!.at) return
    swap(heap, i, parent)
    i = parent
  }
}

const siftDown = (heap: Array<Slot>, index: number): void => {
  let i = index
  for (;;) {
    const left = 2 * i + 1
    const right = left + 1
    let least = i
    if (left < heap.length && heap[left]!.at < heap[least]!.at) least = left
    if (right < heap.length && heap[right]!.at < heap[least]!.at) least = right
    if (least === i) return
    swap(heap, i, least)
    i = least
  }
}

/** Puts `slot` in the heap at time `at`, or moves it there. O(log n). */
const schedule = (heap: Array<Slot>, slot: Slot, at: number): void => {
  if (slot.index < 0) {
    slot.at = at
    slot.index = heap.length
    heap.push(slot)
    siftUp(heap, slot.index)
    return
  }
  const before = slot.at
  slot.at = at
  if (at < before) siftUp(heap, slot.index)
  else siftDown(heap, slot.index)
}

/** Takes `slot` out of the heap, if it is in it. O(log n). */
const unschedule = (heap: Array<Slot>, slot: Slot): void => {
  const index = slot.index
  if (index < 0) return
  const last = heap.length - 1
  if (index !== last) swap(heap, index, last)
  heap.pop()
  slot.index = -1
  if (index < heap.length) {
    siftDown(heap, index)
    siftUp(heap, index)
  }
}

/** When a watch is next due: its deadline while it polls, else its next poll or deadline. */
const dueOf = <E>(watching: Watching<E>): number =>
  watching.polling ? watching.deadline : Math.min(watching.nextPollAt, watching.deadline)

/** @internal */
export interface Tracker<E> {
  /** Adds a follower of `key`; every follower of a key shares its end. */
  readonly register: (key: string) => Effect.Effect<void>
  /** `register` for each key, in one change of the state (a batch's worth). */
  readonly registerAll: (keys: Iterable<string>) => Effect.Effect<void>
  /** Records the task id a key was accepted (or found) under. */
  readonly assign: (key: string, taskId: string) => Effect.Effect<void>
  /** `assign` for each pair, in one change of the state. */
  readonly assignAll: (pairs: Iterable<readonly [key: string, taskId: string]>) => Effect.Effect<void>
  readonly taskIdOf: (key: string) => Effect.Effect<Option.Option<string>>
  /** Hands a delivery to the followers of its task; `false` when none is in flight. */
  readonly deliver: (state: Finished) => Effect.Effect<boolean>
  /**
   * Starts polling and the deadline of `key` (the first follower's plan
   * wins) and calls `onEnd` once when the task ends (at once if it already
   * has). `onEnd` runs in the fiber that saw the end (a poll, a delivery, the
   * poller), so it must be short and must not wait.
   */
  readonly watch: (key: string, plan: Plan<E>, onEnd: OnEnd<E>) => Effect.Effect<void>
  /** Removes a follower of `key`. */
  readonly release: (key: string) => Effect.Effect<void>
}

/** Replaces the entry of `key`, if there is one. Inside the state's `modify` only. */
const modifyEntry = <E>(s: State<E>, key: string, f: (entry: Entry<E>) => Entry<E>): State<E> => {
  const entry = s.byKey.get(key)
  if (entry !== undefined) s.byKey.set(key, f(entry))
  return s
}


/**
 * Makes a tracker whose poller runs in the current scope, polling with `get`
 * at most `concurrency` tasks at once.
 *
 * @internal
 */
export const make = <E>(options: {
  readonly get: (taskId: string) => Effect.Effect<Task.TaskState, CloroError>
  readonly concurrency: number
}): Effect.Effect<Tracker<E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const ref = yield* Ref.make<State<E>>({
      byKey: new Map(),
      plannedWake: Infinity,
      keyByTaskId: new Map(),
      active: 0,
      heap: [],
      ready: WaitQueue.make()
    })
    const wake = yield* Queue.sliding<void>(1)
    const signal = Effect.asVoid(Queue.offer(wake, undefined))

    /** Calls each callback with the task's end, outside the state's lock (a callback may release its key). */
    const tell = (onEnd: ReadonlyArray<OnEnd<E>>, result: Either.Either<Finished, E | CloroError>): Effect.Effect<void> =>
      // a task almost always has one follower: its callback alone, without a loop's few operations
      onEnd.length === 1 ? onEnd[0]!(result) : Effect.forEach(onEnd, (f) => f(result), { discard: true })

    /** Ends an entry once, stops watching it and tells its followers; `false` when it had ended already. */
    const complete = (key: string, result: Either.Either<Finished, E | CloroError>) =>
      Ref.modify(ref, (s) => {
        const entry = s.byKey.get(key)
        if (entry === undefined || entry.done) return [undefined, s] as const
        unschedule(s.heap, entry.slot)
        return [entry.onEnd, modifyEntry(s, key, (e) => ({ ...e, done: true, result, onEnd: [] }))] as const
      }).pipe(Effect.flatMap((onEnd) => onEnd === undefined ? Effect.succeed(false) : Effect.as(tell(onEnd, result), true)))

    const expire = (key: string, watching: Watching<E>, why: Expiry, now: number) =>
      complete(
        key,
        Either.left(watching.plan.expired(why, watching.last, Duration.millis(now - watching.startedAt), watching.lastError))
      )

    /**
     * Updates (or starts) an entry's watch, waking the poller only when the
     * entry is due before the poller's planned wake-up: a round of polls
     * rescheduled together wakes it once, not once per task.
     */
    const reschedule = (
      key: string,
      at: number,
      update: (watching: Watching<E>) => Watching<E>,
      start?: Watching<E>
    ) =>
      Ref.modify(ref, (s) => {
        const next = modifyEntry(s, key, (e) =>
          e.watching !== undefined ? { ...e, watching: update(e.watching) } : start === undefined ? e : { ...e, watching: start })
        const entry = next.byKey.get(key)
        if (entry !== undefined && !entry.done && entry.watching !== undefined && !entry.slot.ready) {
          schedule(next.heap, entry.slot, dueOf(entry.watching))
        }
        return [at < s.plannedWake, { ...next, plannedWake: Math.min(s.plannedWake, at) }] as const
      }).pipe(Effect.flatMap((earlier) => (earlier ? signal : Effect.void)))

    /**
     * Marks a watched task as being polled: it is next due at its deadline,
     * unless the poll ends first. Inside the state's `modify` only.
     */
    const startPoll = (
      byKey: Map<string, Entry<E>>,
      heap: Array<Slot>,
      key: string,
      entry: Entry<E>,
      watching: Watching<E>
    ): void => {
      const polling = { ...watching, polling: true }
      schedule(heap, entry.slot, dueOf(polling))
      byKey.set(key, { ...entry, watching: polling })
    }

    /**
     * Hands the permit of a poll that ended to the next task waiting in line
     * for one (marked as polled), or gives it back when none waits. The fiber
     * that polled goes on with that task: no fiber is started and the poller
     * is not woken per poll (a wake-up cost a fiber race, a fork cost a
     * fiber, both per task).
     */
    const nextReady: Effect.Effect<readonly [string, string] | undefined> = Ref.modify(ref, (s) => {
      const { heap, ready } = s
      while (ready.length > 0) {
        const key = WaitQueue.shift(ready)!
        const entry = s.byKey.get(key)
        if (entry === undefined || !entry.slot.ready) continue
        entry.slot.ready = false
        const watching = entry.watching
        const taskId = watching?.plan.taskId
        if (entry.done || watching === undefined || taskId === undefined || watching.polling) continue
        startPoll(s.byKey, heap, key, entry, watching)
        return [[key, taskId] as const, s]
      }
      return [undefined, { ...s, active: s.active - 1 }]
    })

    /** Polls `key`, then the tasks waiting for a permit, one after the other, until none waits. */
    const worker = (key: string, taskId: string): Effect.Effect<void> =>
      pollOne(key, taskId).pipe(
        Effect.zipRight(nextReady),
        Effect.flatMap((next) => next === undefined ? Effect.void : worker(next[0], next[1]))
      )

    const pollOne = (key: string, taskId: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        const polled = yield* Effect.either(options.get(taskId))
        if (Either.isRight(polled) && Task.isFinished(polled.right)) return yield* complete(key, Either.right(polled.right))
        const entry = (yield* Ref.get(ref)).byKey.get(key)
        const watching = entry?.watching
        if (entry === undefined || entry.done || watching === undefined) return
        const now = yield* Clock.currentTimeMillis
        if (Either.isLeft(polled)) {
          // a failed poll says nothing about the task: poll it again later, until its deadline
          const error = polled.left
          const retry = watching.plan.retry
          const stepped = yield* retry.step(now, error, watching.retryState ?? retry.initial)
          const [retryState, , decision] = ScheduleDecision.isDone(stepped[2])
            ? yield* retry.step(now, error, retry.initial)
            : stepped
          const nextPollAt = ScheduleDecision.isDone(decision) ? now + 1_000 : ScheduleIntervals.start(decision.intervals)
          return yield* reschedule(key, nextPollAt, (w) => ({
            ...w,
            retryState,
            nextPollAt,
            lastError: Option.some(error),
            polling: false
          }))
        }
        const state = polled.right
        const [scheduleState, , decision] = yield* watching.plan.schedule.step(now, state, watching.scheduleState)
        if (ScheduleDecision.isDone(decision)) {
          return yield* expire(key, { ...watching, last: Option.some(state) }, "schedule", now)
        }
        const nextPollAt = ScheduleIntervals.start(decision.intervals)
        yield* reschedule(key, nextPollAt, (w) => ({
          ...w,
          scheduleState,
          nextPollAt,
          last: Option.some(state),
          lastError: Option.none(),
          retryState: undefined,
          polling: false
        }))
      }).pipe(
        // a bug in a poll must not take its permit with it
        Effect.catchAllDefect((defect) => Effect.logError("AsyncTasks: a poll died", defect))
      )

    /**
     * One pass: start polls for the tasks waiting for a permit, then take the
     * due ones off the heap: expire what is past its deadline, start the polls
     * that are due (or line them up when every permit is taken), and plan the
     * next wake-up from the heap's top.
     */
    const pass = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const [expired, due, next] = yield* Ref.modify(ref, (s) => {
        const expired: Array<readonly [string, Watching<E>]> = []
        const due: Array<readonly [string, string]> = []
        const byKey = s.byKey
        let free = options.concurrency - s.active
        const { heap, ready } = s
        const start = (key: string, entry: Entry<E>, watching: Watching<E>, taskId: string) => {
          startPoll(byKey, heap, key, entry, watching)
          due.push([key, taskId])
          free--
        }
        while (free > 0 && ready.length > 0) {
          const key = WaitQueue.shift(ready)!
          const entry = byKey.get(key)
          if (entry === undefined || !entry.slot.ready) continue
          entry.slot.ready = false
          const watching = entry.watching
          const taskId = watching?.plan.taskId
          if (entry.done || watching === undefined || taskId === undefined || watching.polling) continue
          start(key, entry, watching, taskId)
        }
        while (heap.length > 0 && heap[0]!.at <= now) {
          const slot = heap[0]!
          const entry = byKey.get(slot.key)
          const watching = entry?.watching
          if (entry === undefined || entry.done || watching === undefined) {
            unschedule(heap, slot)
            continue
          }
          if (watching.deadline <= now) {
            unschedule(heap, slot)
            expired.push([slot.key, watching])
            continue
          }
          const taskId = watching.plan.taskId
          if (!watching.polling && watching.nextPollAt <= now && taskId !== undefined) {
            if (free > 0) {
              start(slot.key, entry, watching, taskId)
            } else {
              // no permit free: wait in line, due again only at the deadline
              slot.ready = true
              WaitQueue.push(ready, slot.key)
              schedule(heap, slot, watching.deadline)
            }
            continue
          }
          schedule(heap, slot, watching.polling || taskId === undefined ? watching.deadline : dueOf(watching))
        }
        const next = heap.length > 0 ? heap[0]!.at : Infinity
        return [[expired, due, next] as const, {
          ...s,
          active: options.concurrency - free,
          plannedWake: next
        }]
      })
      yield* Effect.forEach(expired, ([key, watching]) => expire(key, watching, "deadline", now), { discard: true })
      yield* Effect.forEach(due, ([key, taskId]) => Effect.forkScoped(worker(key, taskId)), { discard: true })
      return next - now
    })

    const poller = Effect.gen(function*() {
      const delay = yield* pass
      yield* Number.isFinite(delay)
        ? Effect.timeoutOption(Queue.take(wake), Duration.millis(Math.max(0, delay)))
        : Queue.take(wake)
    }).pipe(Effect.forever)

    yield* Effect.forkScoped(poller)

    const registered = (s: State<E>, key: string): State<E> => {
      if (s.byKey.has(key)) return modifyEntry(s, key, (e) => ({ ...e, followers: e.followers + 1 }))
      s.byKey.set(key, {
        result: undefined,
        onEnd: [],
        slot: { key, at: Infinity, index: -1, ready: false },
        taskId: undefined,
        followers: 1,
        done: false,
        watching: undefined
      })
      return s
    }
    const assigned = (s: State<E>, key: string, taskId: string): State<E> => {
      if (!s.byKey.has(key)) return s
      s.keyByTaskId.set(taskId, key)
      return modifyEntry(s, key, (e) => ({ ...e, taskId }))
    }

    return {
      register: (key) => Ref.update(ref, (s) => registered(s, key)),
      registerAll: (keys) =>
        Ref.update(ref, (s) => {
          let next = s
          for (const key of keys) next = registered(next, key)
          return next
        }),
      assign: (key, taskId) => Ref.update(ref, (s) => assigned(s, key, taskId)),
      assignAll: (pairs) =>
        Ref.update(ref, (s) => {
          let next = s
          for (const [key, taskId] of pairs) next = assigned(next, key, taskId)
          return next
        }),
      taskIdOf: (key) =>
        Ref.get(ref).pipe(
          Effect.map((s) => Option.fromNullable(s.byKey.get(key)?.taskId))
        ),
      deliver: (state) =>
        Effect.flatMap(Ref.get(ref), (s) => {
          const key = Option.orElse(
            Option.filter(Option.fromNullable(state.task.idempotencyKey), (k) => s.byKey.has(k)),
            () => Option.fromNullable(s.keyByTaskId.get(state.task.id))
          )
          return Option.match(key, {
            onNone: () => Effect.succeed(false),
            onSome: (k) => Effect.as(complete(k, Either.right(state)), true)
          })
        }),
      watch: (key, plan, onEnd) =>
        Effect.gen(function*() {
          // a task that ended before its follower came (a delivery) is told at once
          const ended = yield* Ref.modify(ref, (s): readonly [
            Either.Either<Finished, E | CloroError> | "unregistered" | undefined,
            State<E>
          ] => {
            const entry = s.byKey.get(key)
            if (entry === undefined) return ["unregistered", s] as const
            if (entry.result !== undefined) return [entry.result, s] as const
            return [undefined, modifyEntry(s, key, (e) => ({ ...e, onEnd: [...e.onEnd, onEnd] }))] as const
          })
          // a follower registers before it watches and releases after its end: anything else is a bug, not an outcome to drop
          if (ended === "unregistered") return yield* Effect.dieMessage(`Tracker.watch: key ${key} has no follower`)
          if (ended !== undefined) return yield* onEnd(ended)
          const now = yield* Clock.currentTimeMillis
          const first = plan.first
          const [scheduleState, nextPollAt] = plan.taskId === undefined
            ? [plan.schedule.initial, Infinity]
            : first._tag === "Now"
            ? [plan.schedule.initial, now]
            : first._tag === "After"
            ? [plan.schedule.initial, now + Duration.toMillis(first.delay)]
            : yield* Effect.map(
              plan.schedule.step(now, first.state, plan.schedule.initial),
              ([state, , decision]) =>
                [state, ScheduleDecision.isDone(decision) ? undefined : ScheduleIntervals.start(decision.intervals)] as const
            )
          const watching: Watching<E> = {
            plan,
            scheduleState,
            nextPollAt: nextPollAt ?? Infinity,
            deadline: now + Duration.toMillis(plan.timeout),
            startedAt: now,
            last: first._tag === "Schedule" ? Option.some(first.state) : Option.none(),
            lastError: Option.none(),
            retryState: undefined,
            polling: false
          }
          yield* reschedule(key, Math.min(watching.nextPollAt, watching.deadline), (w) => w, watching)
          // a schedule that allows no poll at all ends the watch at once
          if (nextPollAt === undefined) yield* expire(key, watching, "schedule", now)
        }),
      release: (key) =>
        Ref.update(ref, (s) => {
          const entry = s.byKey.get(key)
          if (entry === undefined) return s
          if (entry.followers > 1) return modifyEntry(s, key, (e) => ({ ...e, followers: e.followers - 1 }))
          unschedule(s.heap, entry.slot)
          s.byKey.delete(key)
          if (entry.taskId !== undefined) s.keyByTaskId.delete(entry.taskId)
          return s
        })
    }
  })
