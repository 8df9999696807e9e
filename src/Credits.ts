/**
 * The credit ledger: what the account has, what has been spent (in all and per
 * caller tag), what is reserved by requests in flight, and the budget that
 * refuses a request before it is sent.
 *
 * Every request reserves its estimated cost first, so concurrent requests cannot
 * overspend together; the reservation is settled with what cloro says it charged
 * (`X-Credits-Charged`, or a task's `creditsCharged`) or released when the
 * request fails, since failures are free.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type { LimiterUnavailable } from "./CloroError.js"
import { BudgetExceeded } from "./CloroError.js"

/**
 * A reservation of credits for one request (or one async task), to be settled
 * or released exactly once.
 *
 * @since 0.1.0
 */
export interface Reservation {
  readonly id: number
  readonly amount: number
  readonly tag: string | undefined
}

/**
 * What the ledger knows at one moment.
 *
 * @since 0.1.0
 */
export interface Snapshot {
  /** Last balance cloro reported, minus charges seen since; absent until known. */
  readonly balance: number | undefined
  /** Credits charged through this ledger. */
  readonly spent: number
  /** Credits held by requests and tasks in flight. */
  readonly reserved: number
  readonly budget: number | undefined
  readonly spentByTag: Readonly<Record<string, number>>
  /** Async tasks whose charge is still pending, by task id. */
  readonly pendingTasks: number
}

/**
 * The ledger service.
 *
 * @since 0.1.0
 */
export interface CreditsShape {
  /**
   * Reserves `amount` credits for a request, or fails with `BudgetExceeded`
   * when spent + reserved + amount would pass the budget, or when the known
   * balance minus reservations cannot pay. A shared (Redis) ledger fails with
   * `LimiterUnavailable` when its store cannot be reached.
   */
  readonly reserve: (
    amount: number,
    tag?: string | undefined
  ) => Effect.Effect<Reservation, BudgetExceeded | LimiterUnavailable>
  /** Reserves several amounts at once, all or none (a batch of async tasks). */
  readonly reserveAll: (
    amounts: ReadonlyArray<number>,
    tag?: string | undefined
  ) => Effect.Effect<ReadonlyArray<Reservation>, BudgetExceeded | LimiterUnavailable>
  /**
   * Settles a reservation with the amount actually charged. `balanceAfter` is
   * the balance the same response reported, which already includes the charge.
   */
  readonly settle: (
    reservation: Reservation,
    charged: number,
    balanceAfter?: number | undefined
  ) => Effect.Effect<void>
  /** Releases a reservation that will not be charged (the request failed). */
  readonly release: (reservation: Reservation) => Effect.Effect<void>
  /** Moves a reservation to an async task, to be settled when the task finishes. */
  readonly holdForTask: (reservation: Reservation, taskId: string) => Effect.Effect<void>
  /**
   * Settles the task's charge once (later calls for the same task are ignored):
   * from `creditsCharged` when the task COMPLETED or FAILED (0).
   */
  readonly settleTask: (taskId: string, charged: number, tag?: string | undefined) => Effect.Effect<void>
  /** Adopts a balance cloro reported (`X-Credits-Remaining`, `GET /v1/credits`). */
  readonly observeBalance: (remaining: number) => Effect.Effect<void>
  /** Changes the budget (`undefined` removes it). */
  readonly setBudget: (budget: number | undefined) => Effect.Effect<void, CreditsConfigError>
  readonly snapshot: Effect.Effect<Snapshot>
}

/**
 * The ledger's configuration was refused.
 *
 * @since 0.1.0
 */
export class CreditsConfigError extends Schema.TaggedError<CreditsConfigError>()("CreditsConfigError", {
  message: Schema.String
}) {}

/**
 * The credit ledger service.
 *
 * @example
 * ```ts
 * import { Credits } from "cloro-effect"
 * import { Effect } from "effect"
 *
 * // Refuse any request that would take this process's spend past 10,000 credits:
 * const Ledger = Credits.layer({ budget: 10_000 })
 * const report = Effect.flatMap(Credits.Credits, (ledger) => ledger.snapshot)
 * ```
 *
 * @since 0.1.0
 */
export class Credits extends Context.Tag("cloro-effect/Credits")<Credits, CreditsShape>() {}

/**
 * Ids of tasks already settled, so a webhook and a poll of the same task
 * charge once. Two generations bound the memory: when the newer one is full it
 * becomes the older one, so at least the last `rememberSettled` ids are always
 * remembered, and at most twice that.
 */
interface SettledTasks {
  readonly current: HashSet.HashSet<string>
  readonly previous: HashSet.HashSet<string>
}


const wasSettled = (settled: SettledTasks, taskId: string): boolean =>
  HashSet.has(settled.current, taskId) || HashSet.has(settled.previous, taskId)

const markSettled = (settled: SettledTasks, taskId: string, memory: number): SettledTasks =>
  HashSet.size(settled.current) >= memory
    ? { current: HashSet.make(taskId), previous: settled.current }
    : { ...settled, current: HashSet.add(settled.current, taskId) }

interface State {
  readonly nextId: number
  readonly balance: number | undefined
  readonly spent: number
  readonly reserved: number
  readonly budget: number | undefined
  readonly spentByTag: HashMap.HashMap<string, number>
  /** Reservations moved to tasks, by task id. */
  readonly tasks: HashMap.HashMap<string, Reservation>
  /** Tasks already settled, so a webhook and a poll of the same task charge once. */
  readonly settledTasks: SettledTasks
}

const addSpend = (state: State, tag: string | undefined, amount: number): State => ({
  ...state,
  spent: state.spent + amount,
  // A charge seen through a request lowers the balance until cloro reports a new one.
  balance: state.balance === undefined ? undefined : state.balance - amount,
  spentByTag: tag === undefined
    ? state.spentByTag
    : HashMap.modifyAt(state.spentByTag, tag, (old) => Option.some(Option.getOrElse(old, () => 0) + amount))
})

/**
 * Options of the memory ledger.
 *
 * @since 0.1.0
 */
export interface CreditsOptions {
  /** Most credits this ledger may spend (spent + reserved). */
  readonly budget?: number | undefined
  /** A starting balance, when known before the first response. */
  readonly balance?: number | undefined
  /**
   * How many settled task ids to remember at least (default 100,000), so a
   * webhook and a poll of the same task charge once; at most twice as many are kept.
   */
  readonly rememberSettled?: number | undefined
}

/**
 * Builds an in-memory ledger.
 *
 * @since 0.1.0
 */
export const make = (options: CreditsOptions = {}): Effect.Effect<CreditsShape, CreditsConfigError> =>
  Effect.gen(function*() {
    for (const [name, value] of [["budget", options.budget], ["balance", options.balance]] as const) {
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        return yield* new CreditsConfigError({ message: `${name} must be a finite number ≥ 0, got ${value}` })
      }
    }
    const rememberSettled = options.rememberSettled ?? 100_000
    if (!(Number.isInteger(rememberSettled) && rememberSettled >= 1)) {
      return yield* new CreditsConfigError({ message: `rememberSettled must be a whole number ≥ 1, got ${rememberSettled}` })
    }
    const state = yield* SynchronizedRef.make<State>({
      nextId: 0,
      balance: options.balance,
      spent: 0,
      reserved: 0,
      budget: options.budget,
      spentByTag: HashMap.empty(),
      tasks: HashMap.empty(),
      settledTasks: { current: HashSet.empty(), previous: HashSet.empty() }
    })

    const reserveAll = (amounts: ReadonlyArray<number>, tag?: string) =>
      SynchronizedRef.modifyEffect(state, (s) => {
        const amount = amounts.reduce((sum, a) => sum + a, 0)
        const refuse = (reason: string) =>
          Effect.fail(
            new BudgetExceeded({
              message: reason,
              estimate: amount,
              spent: s.spent,
              reserved: s.reserved,
              budget: s.budget,
              balance: s.balance,
              tag
            })
          )
        if (s.budget !== undefined && s.spent + s.reserved + amount > s.budget) {
          return refuse(
            `an estimated ${amount} credits would take spend to ${s.spent + s.reserved + amount}, over the budget of ${s.budget}`
          )
        }
        if (s.balance !== undefined && s.balance - s.reserved - amount < 0) {
          return refuse(
            `an estimated ${amount} credits is more than the ${s.balance - s.reserved} left on the balance after reservations`
          )
        }
        const reservations = amounts.map((a, i): Reservation => ({ id: s.nextId + i, amount: a, tag }))
        return Effect.succeed(
          [reservations, { ...s, nextId: s.nextId + amounts.length, reserved: s.reserved + amount }] as const
        )
      })

    const reserve = (amount: number, tag?: string) =>
      Effect.map(reserveAll([amount], tag), (reservations) => reservations[0] ?? { id: -1, amount, tag })

    const settle = (reservation: Reservation, charged: number, balanceAfter?: number) =>
      SynchronizedRef.update(state, (s) => {
        const settled = addSpend({ ...s, reserved: s.reserved - reservation.amount }, reservation.tag, Math.max(0, charged))
        return balanceAfter === undefined ? settled : { ...settled, balance: balanceAfter }
      })

    const release = (reservation: Reservation) =>
      SynchronizedRef.update(state, (s) => ({ ...s, reserved: s.reserved - reservation.amount }))

    const holdForTask = (reservation: Reservation, taskId: string) =>
      SynchronizedRef.update(state, (s) =>
        wasSettled(s.settledTasks, taskId)
          // The task finished before its submit was recorded: its charge is already counted.
          ? { ...s, reserved: s.reserved - reservation.amount }
          : { ...s, tasks: HashMap.set(s.tasks, taskId, reservation) })

    const settleTask = (taskId: string, charged: number, tag?: string) =>
      SynchronizedRef.update(state, (s) => {
        if (wasSettled(s.settledTasks, taskId)) return s
        const held = HashMap.get(s.tasks, taskId)
        const withoutHold: State = Option.match(held, {
          onNone: () => s,
          onSome: (reservation) => ({ ...s, reserved: s.reserved - reservation.amount, tasks: HashMap.remove(s.tasks, taskId) })
        })
        const tagOf = Option.match(held, { onNone: () => tag, onSome: (r) => r.tag ?? tag })
        return addSpend(
          { ...withoutHold, settledTasks: markSettled(s.settledTasks, taskId, rememberSettled) },
          tagOf,
          Math.max(0, charged)
        )
      })

    return {
      reserve,
      reserveAll,
      settle,
      release,
      holdForTask,
      settleTask,
      observeBalance: (remaining) =>
        Number.isFinite(remaining) && remaining >= 0
          ? SynchronizedRef.update(state, (s) => ({ ...s, balance: remaining }))
          : Effect.void,
      setBudget: (budget) =>
        budget === undefined || (Number.isFinite(budget) && budget >= 0)
          ? SynchronizedRef.update(state, (s) => ({ ...s, budget }))
          : Effect.fail(new CreditsConfigError({ message: `budget must be a finite number ≥ 0, got ${budget}` })),
      snapshot: Effect.map(SynchronizedRef.get(state), (s): Snapshot => ({
        balance: s.balance,
        spent: s.spent,
        reserved: s.reserved,
        budget: s.budget,
        spentByTag: Object.fromEntries(HashMap.toEntries(s.spentByTag)),
        pendingTasks: HashMap.size(s.tasks)
      }))
    }
  })

/**
 * An in-memory ledger layer.
 *
 * @since 0.1.0
 */
export const layer = (options: CreditsOptions = {}): Layer.Layer<Credits, CreditsConfigError> =>
  Layer.effect(Credits, make(options))
