/**
 * A `Credits` ledger shared by every process on the same Redis: spend (in
 * all and per tag), reservations in flight, the budget and the last balance
 * cloro reported, so a budget holds across workers.
 *
 * Lua, not @effect/experimental: experimental has no ledger store, and a
 * reservation must check the budget and the balance against every worker's
 * spend and reservations and take its share in one atomic step.
 *
 * A reservation fails closed with `LimiterUnavailable` while Redis is
 * unreachable. Settlements and releases are never lost: one that cannot be
 * written is kept in order in this process and written as soon as Redis
 * answers again (until then the shared ledger counts it as still reserved,
 * which only errs on the side of refusing).
 *
 * @since 0.2.0
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { BudgetExceeded, LimiterUnavailable } from "../CloroError.js"
import * as Credits from "../Credits.js"
import * as ConfigIssues from "../internal/configIssues.js"
import * as LuaScript from "./internal/luaScript.js"
import { RedisStore, replyRecord, replyStrings } from "./RedisStore.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options extends Credits.CreditsOptions {
  /** Names the shared ledger; workers with the same key share it. Default `"credits"`. */
  readonly key?: string | undefined
}

// KEYS: ledger hash; ARGV: total amount, count
// returns { ok (1, 0 over budget, -1 over balance), first id, spent, reserved, budget, balance }
const reserveScript = `
local l = redis.call('HMGET', KEYS[1], 'spent', 'reserved', 'budget', 'balance')
local spent = tonumber(l[1]) or 0
local reserved = tonumber(l[2]) or 0
local budget = tonumber(l[3])
local balance = tonumber(l[4])
local amount = tonumber(ARGV[1])
local status = 1
if budget and spent + reserved + amount > budget then status = 0
elseif balance and balance - reserved - amount < 0 then status = -1 end
local first = 0
if status == 1 then
  redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', amount)
  first = redis.call('HINCRBY', KEYS[1], 'nextId', tonumber(ARGV[2])) - tonumber(ARGV[2])
end
return { status, first, tostring(spent), tostring(reserved), l[3] or '', l[4] or '' }
`

// KEYS: ledger, tags; ARGV: reserved amount to drop, charged, tag, balance after ('' when unknown)
const settleScript = `
local charged = tonumber(ARGV[2])
redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', -tonumber(ARGV[1]))
redis.call('HINCRBYFLOAT', KEYS[1], 'spent', charged)
if ARGV[3] ~= '' then redis.call('HINCRBYFLOAT', KEYS[2], ARGV[3], charged) end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'balance', ARGV[4])
elseif redis.call('HEXISTS', KEYS[1], 'balance') == 1 then
  redis.call('HINCRBYFLOAT', KEYS[1], 'balance', -charged)
end
return 1
`

// KEYS: ledger, tasks, settled; ARGV: amount, task id, tag
const holdScript = `
if redis.call('ZSCORE', KEYS[3], ARGV[2]) then
  redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', -tonumber(ARGV[1]))
else
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[1] .. '|' .. ARGV[3])
end
return 1
`

// KEYS: ledger, tags, tasks, settled; ARGV: task id, charged, tag, remember
const settleTaskScript = `
if redis.call('ZSCORE', KEYS[4], ARGV[1]) then return 0 end
local tag = ARGV[3]
local held = redis.call('HGET', KEYS[3], ARGV[1])
if held then
  local bar = string.find(held, '|', 1, true)
  redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', -tonumber(string.sub(held, 1, bar - 1)))
  local heldTag = string.sub(held, bar + 1)
  if heldTag ~= '' then tag = heldTag end
  redis.call('HDEL', KEYS[3], ARGV[1])
end
local n = redis.call('HINCRBY', KEYS[1], 'settledCount', 1)
redis.call('ZADD', KEYS[4], n, ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -tonumber(ARGV[4]) - 1)
local charged = tonumber(ARGV[2])
redis.call('HINCRBYFLOAT', KEYS[1], 'spent', charged)
if tag ~= '' then redis.call('HINCRBYFLOAT', KEYS[2], tag, charged) end
if redis.call('HEXISTS', KEYS[1], 'balance') == 1 then
  redis.call('HINCRBYFLOAT', KEYS[1], 'balance', -charged)
end
return 1
`

// Sent by SHA (one round trip, the text only when the server lacks it), like the limiters' scripts.
const scripts = {
  reserve: LuaScript.make(reserveScript),
  settle: LuaScript.make(settleScript),
  hold: LuaScript.make(holdScript),
  settleTask: LuaScript.make(settleTaskScript)
}

const numberOr = (value: string | undefined, fallback: number | undefined) =>
  value === undefined || value === "" ? fallback : Number(value)

/**
 * Builds a shared ledger on the `RedisStore`. A `budget` or `balance` given
 * here is written to the shared ledger (the last worker to start wins).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Credits.CreditsShape, Credits.CreditsConfigError, RedisStore | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* RedisStore
    // The in-memory ledger checks the options the same way; it is also the fallback.
    const fallbackWorkers = store.onUnavailable === "fail" ? undefined : store.onUnavailable.fallback.workers
    const local = yield* Credits.make({
      ...options,
      budget: options.budget === undefined || fallbackWorkers === undefined
        ? options.budget
        : options.budget / Math.max(1, fallbackWorkers)
    })
    const remember = options.rememberSettled ?? 100_000
    const base = `${store.prefix}${options.key ?? "credits"}`
    const ledgerKey = base
    const tagsKey = `${base}:tags`
    const tasksKey = `${base}:tasks`
    const settledKey = `${base}:settled`
    const run = <A>(command: Parameters<typeof store.run<A>>[1]) => store.run<A>("credits", command)

    const initial: Record<string, number> = {}
    if (options.budget !== undefined) initial.budget = options.budget
    if (options.balance !== undefined) initial.balance = options.balance
    if (Object.keys(initial).length > 0) {
      yield* run((redis) => redis.hset(ledgerKey, initial)).pipe(
        Effect.catchAll((error) => Effect.logWarning("cloro: could not write the shared budget", error.reason))
      )
    }

    // Writes that must not be lost, applied in order, each retried until Redis takes it.
    const pending = yield* Queue.unbounded<Effect.Effect<unknown, LimiterUnavailable>>()
    yield* Queue.take(pending).pipe(
      Effect.flatMap((write) => Effect.retry(write, Schedule.spaced("250 millis"))),
      Effect.forever,
      Effect.forkScoped
    )
    const later = (write: Effect.Effect<unknown, LimiterUnavailable>): Effect.Effect<void> =>
      Effect.catchAll(Effect.asVoid(write), () => Queue.offer(pending, write))

    /**
     * An opaque, single-use hold: whichever of settle, release and holdForTask
     * comes first ends it in Redis, and the others do nothing.
     */
    const reservationOf = (amount: number, tag: string | undefined): Effect.Effect<Credits.Reservation> =>
      Effect.map(Ref.make(false), (used): Credits.Reservation => {
        const once = (end: Effect.Effect<void>) =>
          Effect.flatMap(Ref.getAndSet(used, true), (wasUsed) => (wasUsed ? Effect.void : end))
        return {
          [Credits.ReservationTypeId]: Credits.ReservationTypeId,
          amount,
          tag,
          settle: (charged, balanceAfter) =>
            once(later(run((redis) =>
              LuaScript.run(redis, scripts.settle, [ledgerKey, tagsKey], [
                amount,
                Math.max(0, Number.isFinite(charged) ? charged : amount),
                tag ?? "",
                balanceAfter ?? ""
              ])
            ))),
          release: once(later(run((redis) => redis.hincrbyfloat(ledgerKey, "reserved", -amount)))),
          settleUncertain: (mayBeCharged) =>
            once(later(run((redis) =>
              redis.multi()
                .hincrbyfloat(ledgerKey, "reserved", -amount)
                .hincrbyfloat(
                  ledgerKey,
                  "mayBeCharged",
                  Number.isFinite(mayBeCharged) && mayBeCharged >= 0 ? mayBeCharged : amount
                )
                .exec()
            ))),
          holdForTask: (taskId) =>
            once(later(run((redis) =>
              LuaScript.run(redis, scripts.hold, [ledgerKey, tasksKey, settledKey], [amount, taskId, tag ?? ""])
            )))
        }
      })

    const reserveAll = (amounts: ReadonlyArray<number>, tag?: string) =>
      Effect.gen(function*() {
        // The breaker is open: straight to the fallback ledger, without a trip that would fail.
        if (fallbackWorkers !== undefined && (yield* store.down) !== undefined) return yield* local.reserveAll(amounts, tag)
        const amount = amounts.reduce((sum, a) => sum + a, 0)
        const answer = yield* Effect.either(
          run((redis) => LuaScript.run(redis, scripts.reserve, [ledgerKey], [amount, amounts.length]))
        )
        if (answer._tag === "Left") {
          return yield* fallbackWorkers === undefined
            ? Effect.fail(answer.left)
            : local.reserveAll(amounts, tag)
        }
        const [status, , spent, reserved, budget, balance] = replyStrings(answer.right)
        const facts = {
          estimate: amount,
          spent: Number(spent),
          reserved: Number(reserved),
          budget: numberOr(budget, undefined),
          balance: numberOr(balance, undefined),
          tag
        }
        if (status === "0") {
          return yield* new BudgetExceeded({
            ...facts,
            message: `an estimated ${amount} credits would take shared spend to ${
              facts.spent + facts.reserved + amount
            }, over the budget of ${facts.budget}`
          })
        }
        if (status === "-1") {
          return yield* new BudgetExceeded({
            ...facts,
            message: `an estimated ${amount} credits is more than the ${
              (facts.balance ?? 0) - facts.reserved
            } left on the shared balance after reservations`
          })
        }
        return yield* Effect.forEach(amounts, (a) => reservationOf(a, tag))
      })

    const reserve = (amount: number, tag?: string) =>
      Effect.flatMap(reserveAll([amount], tag), (reservations) =>
        Option.match(Arr.head(reservations), {
          onSome: Effect.succeed,
          onNone: () => reservationOf(amount, tag)
        }))

    const lastSnapshot = yield* Ref.make<Credits.Snapshot>({
      balance: options.balance,
      spent: 0,
      reserved: 0,
      mayBeCharged: 0,
      budget: options.budget,
      spentByTag: {},
      pendingTasks: 0
    })

    const snapshot = run((redis) =>
      redis.multi().hgetall(ledgerKey).hgetall(tagsKey).hlen(tasksKey).exec()
    ).pipe(
      Effect.flatMap((results) => {
        const ledger = replyRecord(results?.[0]?.[1])
        const tags = replyRecord(results?.[1]?.[1])
        const snap: Credits.Snapshot = {
          balance: numberOr(ledger.balance, undefined),
          spent: numberOr(ledger.spent, 0) ?? 0,
          reserved: numberOr(ledger.reserved, 0) ?? 0,
          mayBeCharged: numberOr(ledger.mayBeCharged, 0) ?? 0,
          budget: numberOr(ledger.budget, undefined),
          spentByTag: Object.fromEntries(Object.entries(tags).map(([tag, spent]) => [tag, Number(spent)])),
          pendingTasks: Number(results?.[2]?.[1] ?? 0)
        }
        return Effect.as(Ref.set(lastSnapshot, snap), snap)
      }),
      // Unreachable: the last snapshot read is the best there is.
      Effect.catchAll(() => Ref.get(lastSnapshot))
    )

    return {
      reserve,
      reserveAll,
      settleTask: (taskId, charged, tag) =>
        later(run((redis) =>
          LuaScript.run(redis, scripts.settleTask, [ledgerKey, tagsKey, tasksKey, settledKey], [
            taskId,
            Math.max(0, charged),
            tag ?? "",
            remember
          ])
        )),
      observeBalance: (remaining) =>
        Number.isFinite(remaining) && remaining >= 0
          ? later(run((redis) => redis.hset(ledgerKey, "balance", remaining)))
          : Effect.void,
      setBudget: (budget) =>
        budget !== undefined && !(Number.isFinite(budget) && budget >= 0)
          ? Effect.fail(
            new Credits.CreditsConfigError(ConfigIssues.one("Credits", "budget", `must be a finite number ≥ 0, got ${budget}`))
          )
          : later(run((redis) => budget === undefined ? redis.hdel(ledgerKey, "budget") : redis.hset(ledgerKey, "budget", budget))),
      snapshot
    } satisfies Credits.CreditsShape
  })

/**
 * The shared ledger as the `Credits` service.
 *
 * @example
 * ```ts
 * import { RedisCredits, RedisStore } from "cloro-effect/redis"
 * import { Layer } from "effect"
 *
 * // 50,000 credits for the whole job, however many workers run it.
 * const Ledger = RedisCredits.layer({ key: "job-42", budget: 50_000 }).pipe(Layer.provide(RedisStore.layerConfig()))
 * ```
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<Credits.Credits, Credits.CreditsConfigError, RedisStore> =>
  Layer.scoped(Credits.Credits, make(options))
