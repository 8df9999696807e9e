/**
 * The credit ledger: what the account has, what has been spent (in all and per
 * caller tag), what is reserved by requests in flight, and the budget that
 * refuses a request before it is sent.
 *
 * Every request reserves the most it can cost first, so concurrent requests
 * cannot overspend together; the reservation is settled with what cloro says it
 * charged (`X-Credits-Charged`, or a task's `creditsCharged`) or released when
 * the request fails, since failures are free. Only the holder of a reservation
 * can end it, once.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { LimiterUnavailable } from "./CloroError.js"
import { BudgetExceeded } from "./CloroError.js"
import * as ConfigIssues from "./internal/configIssues.js"
import * as Input from "./internal/request/input.js"

/**
 * @since 0.2.0
 * @category Type IDs
 */
export const ReservationTypeId: unique symbol = Symbol.for("cloro-effect/Credits/Reservation")

/**
 * @since 0.2.0
 * @category Type IDs
 */
export type ReservationTypeId = typeof ReservationTypeId

/**
 * Credits held for one request (or one async task). Only the ledger makes
 * one, and only its holder can end it: the ways to end it are on the value
 * itself, and the first one used wins, so a reservation cannot be settled
 * or released twice, and a hand-made record changes no ledger.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Reservation {
  readonly [ReservationTypeId]: ReservationTypeId
  /** The credits held. */
  readonly amount: number
  readonly tag: string | undefined
  /**
   * Ends the hold with what cloro charged. `balanceAfter` is the balance the
   * same response reported, which already includes the charge.
   */
  readonly settle: (charged: number, balanceAfter?: number | undefined) => Effect.Effect<void>
  /** Ends the hold with nothing charged (the request failed). */
  readonly release: Effect.Effect<void>
  /**
   * Ends the hold when cloro's answer was lost after the request was sent (a
   * sync call that timed out): cloro may have charged `mayBeCharged` credits
   * or nothing. It is counted in the snapshot's `mayBeCharged`, never in
   * `spent`, so the uncertainty is visible instead of dropped.
   *
   * @since 0.3.0
   */
  readonly settleUncertain: (mayBeCharged: number) => Effect.Effect<void>
  /** Moves the hold onto an async task, to be settled by `settleTask` when it finishes. */
  readonly holdForTask: (taskId: string) => Effect.Effect<void>
}

/**
 * What the ledger knows at one moment.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Snapshot {
  /** Last balance cloro reported, minus charges seen since; absent until known. */
  readonly balance: number | undefined
  /** Credits charged through this ledger. */
  readonly spent: number
  /** Credits held by requests and tasks in flight. */
  readonly reserved: number
  /**
   * Credits cloro may or may not have charged: the estimates of sync calls
   * whose answer was lost after sending (`Timeout` with `mayBeCharged: true`).
   * Not in `spent` or `balance`; `GET /v1/credits` tells what was really taken.
   *
   * @since 0.3.0
   */
  readonly mayBeCharged: number
  readonly budget: number | undefined
  readonly spentByTag: Readonly<Record<string, number>>
  /** Async tasks whose charge is still pending, by task id. */
  readonly pendingTasks: number
}

/**
 * The ledger service.
 *
 * @since 0.1.0
 * @category Models
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
 * The ledger's configuration was refused: one issue per bad option (`field`
 * its name) and a message listing them.
 *
 * @since 0.1.0
 * @category Errors
 */
export class CreditsConfigError
  extends Schema.TaggedError<CreditsConfigError>()("CreditsConfigError", ConfigIssues.fields)
{}

const refused = (field: string, message: string): CreditsConfigError =>
  new CreditsConfigError(ConfigIssues.one("Credits", field, message))

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
 * @category Tags
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

/** A hold not yet ended. */
interface Hold {
  readonly amount: number
  readonly tag: string | undefined
}

interface State {
  readonly nextId: number
  /** Holds of reservations not yet settled, released or moved to a task, by reservation id. */
  readonly live: HashMap.HashMap<number, Hold>
  readonly balance: number | undefined
  readonly spent: number
  readonly reserved: number
  readonly mayBeCharged: number
  readonly budget: number | undefined
  readonly spentByTag: HashMap.HashMap<string, number>
  /** Reservations moved to tasks, by task id. */
  readonly tasks: HashMap.HashMap<string, Hold>
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
 * @category Models
 */
export interface CreditsOptions {
  /** Most credits this ledger may spend (spent + reserved). */
  readonly budget?: number | undefined
  /** A starting balance, when known before the first response. */
  readonly balance?: number | undefined
  /**
   * How many settled task ids to remember at least (default 10,000), so a
   * webhook and a poll of the same task charge once; at most twice as many are
   * kept. A duplicate older than that counts its charge again (spend errs
   * high, never low); the default keeps a bulk run's memory flat.
   */
  readonly rememberSettled?: number | undefined
}

/**
 * Builds an in-memory ledger.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: CreditsOptions = {}): Effect.Effect<CreditsShape, CreditsConfigError> =>
  Input.guard(() => Effect.gen(function*() {
    const given = yield* ConfigIssues.options("Credits", options, (fields) => new CreditsConfigError(fields))
    for (const name of ["budget", "balance"] as const) {
      const value = given[name]
      if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
        return yield* refused(name, `must be a finite number ≥ 0, got ${Input.show(value)}`)
      }
    }
    const rememberSettled = given.rememberSettled ?? 10_000
    if (!(typeof rememberSettled === "number" && Number.isInteger(rememberSettled) && rememberSettled >= 1)) {
      return yield* refused("rememberSettled", `must be a whole number ≥ 1, got ${Input.show(rememberSettled)}`)
    }
    // Every change is a pure function of the state, so a plain `Ref` is atomic:
    // a `SynchronizedRef` would take a semaphore on every reserve and settle.
    const state = yield* Ref.make<State>({
      nextId: 0,
      live: HashMap.empty(),
      balance: typeof given.balance === "number" ? given.balance : undefined,
      spent: 0,
      reserved: 0,
      mayBeCharged: 0,
      budget: typeof given.budget === "number" ? given.budget : undefined,
      spentByTag: HashMap.empty(),
      tasks: HashMap.empty(),
      settledTasks: { current: HashSet.empty(), previous: HashSet.empty() }
    })

    /** Ends the hold `id` once: `f` sees it only while it is live. */
    const end = (id: number, f: (s: State, hold: Hold) => State) =>
      Ref.update(state, (s) =>
        Option.match(HashMap.get(s.live, id), {
          onNone: () => s,
          onSome: (hold) => f({ ...s, live: HashMap.remove(s.live, id), reserved: s.reserved - hold.amount }, hold)
        }))

    const finiteOr = (value: unknown, fallback: number | undefined) =>
      typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : fallback

    const reservation = (id: number, hold: Hold): Reservation => ({
      [ReservationTypeId]: ReservationTypeId,
      amount: hold.amount,
      tag: hold.tag,
      // A charge that is not a number ≥ 0 counts as the amount held: over- rather than under-count spend.
      settle: (charged, balanceAfter) =>
        end(id, (s, held) => {
          const settled = addSpend(s, held.tag, finiteOr(charged, held.amount) ?? held.amount)
          const after = finiteOr(balanceAfter, undefined)
          return after === undefined ? settled : { ...settled, balance: after }
        }),
      release: end(id, (s) => s),
      settleUncertain: (mayBeCharged) =>
        end(id, (s, held) => ({ ...s, mayBeCharged: s.mayBeCharged + (finiteOr(mayBeCharged, held.amount) ?? held.amount) })),
      holdForTask: (taskId) =>
        end(id, (s, held) =>
          typeof taskId !== "string" || wasSettled(s.settledTasks, taskId)
            // The task finished before its submit was recorded: its charge is already counted.
            ? s
            : { ...s, reserved: s.reserved + held.amount, tasks: HashMap.set(s.tasks, taskId, held) })
    })

    const reserveAll = (amounts: ReadonlyArray<number>, tag?: string) =>
      Effect.flatten(Ref.modify(state, (s): readonly [Either.Either<ReadonlyArray<Reservation>, BudgetExceeded>, State] => {
        const refuse = (reason: string, estimate: number) =>
          [Either.left(
            new BudgetExceeded({
              message: reason,
              estimate,
              spent: s.spent,
              reserved: s.reserved,
              budget: s.budget,
              balance: s.balance,
              tag: typeof tag === "string" ? tag : undefined
            })
          ), s] as const
        if (!Array.isArray(amounts) || !amounts.every((a) => typeof a === "number" && Number.isFinite(a) && a >= 0)) {
          return refuse(`amounts must be finite numbers ≥ 0, got ${Input.show(amounts)}`, 0)
        }
        if (tag !== undefined && typeof tag !== "string") {
          return refuse(`tag must be a string, got ${Input.show(tag)}`, 0)
        }
        const amount = amounts.reduce((sum, a) => sum + a, 0)
        if (s.budget !== undefined && s.spent + s.reserved + amount > s.budget) {
          return refuse(
            `at most ${amount} credits would take spend to ${s.spent + s.reserved + amount}, over the budget of ${s.budget}`,
            amount
          )
        }
        if (s.balance !== undefined && s.balance - s.reserved - amount < 0) {
          return refuse(
            `at most ${amount} credits is more than the ${s.balance - s.reserved} left on the balance after reservations`,
            amount
          )
        }
        let live = s.live
        const reservations = amounts.map((a, i): Reservation => {
          const hold: Hold = { amount: a, tag }
          live = HashMap.set(live, s.nextId + i, hold)
          return reservation(s.nextId + i, hold)
        })
        return [
          Either.right(reservations),
          { ...s, live, nextId: s.nextId + amounts.length, reserved: s.reserved + amount }
        ] as const
      }))

    const reserve = (amount: number, tag?: string) =>
      Effect.flatMap(reserveAll([amount], tag), (reservations) => {
        const [first] = reservations
        return first === undefined ? Effect.dieMessage("Credits.reserve: no reservation made") : Effect.succeed(first)
      })

    const settleTask = (taskId: string, charged: number, tag?: string) =>
      typeof taskId !== "string"
        ? Effect.logWarning(`Credits.settleTask ignored a task id that is not a string (${Input.show(taskId)})`)
        : Ref.update(state, (s) => {
          if (wasSettled(s.settledTasks, taskId)) return s
          const held = HashMap.get(s.tasks, taskId)
          const withoutHold: State = Option.match(held, {
            onNone: () => s,
            onSome: (hold) => ({ ...s, reserved: s.reserved - hold.amount, tasks: HashMap.remove(s.tasks, taskId) })
          })
          const given = typeof tag === "string" ? tag : undefined
          const tagOf = Option.match(held, { onNone: () => given, onSome: (hold) => hold.tag ?? given })
          return addSpend(
            { ...withoutHold, settledTasks: markSettled(s.settledTasks, taskId, rememberSettled) },
            tagOf,
            finiteOr(charged, Option.match(held, { onNone: () => 0, onSome: (hold) => hold.amount })) ?? 0
          )
        })

    return {
      reserve,
      reserveAll,
      settleTask,
      observeBalance: (remaining) =>
        typeof remaining === "number" && Number.isFinite(remaining) && remaining >= 0
          ? Ref.update(state, (s) => ({ ...s, balance: remaining }))
          : Effect.void,
      setBudget: (budget) =>
        budget === undefined || (typeof budget === "number" && Number.isFinite(budget) && budget >= 0)
          ? Ref.update(state, (s) => ({ ...s, budget }))
          : Effect.fail(refused("budget", `must be a finite number ≥ 0, got ${Input.show(budget)}`)),
      snapshot: Effect.map(Ref.get(state), (s): Snapshot => ({
        balance: s.balance,
        spent: s.spent,
        reserved: s.reserved,
        mayBeCharged: s.mayBeCharged,
        budget: s.budget,
        spentByTag: Object.fromEntries(HashMap.toEntries(s.spentByTag)),
        pendingTasks: HashMap.size(s.tasks)
      }))
    }
  }), (cause) => new CreditsConfigError(ConfigIssues.unreadable("Credits", cause)))

/**
 * An in-memory ledger layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: CreditsOptions = {}): Layer.Layer<Credits, CreditsConfigError> =>
  Layer.effect(Credits, make(options))
