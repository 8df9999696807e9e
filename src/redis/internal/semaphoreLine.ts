/**
 * The local side of the shared semaphore (`RedisConcurrencyLimiter`): the
 * process's line of waiters, the events its taking fiber serves, and the
 * fiber that keeps the process's leases and place in line alive.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { LimiterUnavailable } from "../../CloroError.js"
import type * as ConcurrencyLimiter from "../../ConcurrencyLimiter.js"
import type { RedisStoreShape } from "../RedisStore.js"
import * as LuaScript from "./luaScript.js"
import type { Prepaid } from "./rateFold.js"
import * as Scripts from "./semaphoreScripts.js"

export type Grant =
  | { readonly _tag: "Lease"; readonly id: string; readonly prepaid: Prepaid | undefined }
  /** Redis could not be reached: wait in the local fallback's line, unless `back` (Redis returned) comes first */
  | { readonly _tag: "Local"; readonly back: Deferred.Deferred<void> }

export interface Waiter {
  readonly id: string
  readonly deferred: Deferred.Deferred<Grant, LimiterUnavailable>
  /** whether its id is in the line in Redis */
  readonly sent: boolean
  /** the rate spec it was sent with (`rateFold.ts`), `""` for none */
  readonly spec: string
}

/** The log a rate spec (`"<window ms> <limit> <log key>"`) names. */
const logOf = (spec: string): string | undefined => /^\d+ \d+ (.+)$/.exec(spec)?.[1]

export interface State {
  /** local line, first in line first */
  readonly waiters: ReadonlyArray<Waiter>
  readonly held: ReadonlySet<string>
  readonly size: number
  readonly inUse: number
  readonly peakInUse: number
  readonly source: ConcurrencyLimiter.ConcurrencyLimiter.Source
  /** the limit last written to Redis by `learn`, to skip writing it again */
  readonly lastLearned: number | undefined
}

/**
 * `New`: waiters to send; `Check`: also ask about those in line (a poll).
 * A slot handed over by another process is settled as its message arrives,
 * not through these events.
 */
export type Event =
  | { readonly _tag: "New" }
  | { readonly _tag: "Check" }

export const checkEvent: Event = { _tag: "Check" }

/**
 * Renews the process's liveness and the leases it holds, in one round trip,
 * three times per lease, and at once after a reconnect (a restarted Redis has
 * lost them), then runs `reconnected`. Lives as long as the scope.
 */
export interface RenewOptions {
  readonly store: RedisStoreShape
  readonly keys: readonly [holders: string, owners: string]
  readonly owner: string
  readonly leaseMs: number
  readonly held: Effect.Effect<ReadonlyArray<string>>
}

/** One renewal of the process's liveness and of every lease it holds (adding back any Redis lost). */
export const renew = (options: RenewOptions): Effect.Effect<void, LimiterUnavailable> =>
  Effect.flatMap(options.held, (held) =>
    options.store.run("concurrency", (redis) =>
      LuaScript.run(redis, Scripts.renew, options.keys, [options.leaseMs, options.owner, ...held])))

export const renewLeases = (options: RenewOptions & {
  readonly reconnected: Effect.Effect<unknown>
}): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { leaseMs, store } = options
    const renewNow = renew(options).pipe(
      Effect.catchAll((error) => Effect.logWarning("cloro: could not renew concurrency leases", error.reason))
    )
    const reconnected = yield* Queue.sliding<void>(1)
    const onReady = () => reconnected.unsafeOffer(undefined)
    store.client.on("ready", onReady)
    yield* Effect.addFinalizer(() => Effect.sync(() => store.client.off("ready", onReady)))
    const every = Duration.millis(Math.max(1, Math.floor(leaseMs / 3)))
    yield* renewNow.pipe(
      Effect.zipRight(Effect.race(Effect.as(Queue.take(reconnected), true), Effect.as(Effect.sleep(every), false))),
      // the leases first (those of calls admitted by the local fallback too), then the line
      Effect.tap((back) => (back ? Effect.zipRight(renewNow, options.reconnected) : Effect.void)),
      Effect.forever,
      Effect.forkScoped
    )
  })

/**
 * Hands granted slots to their waiters and records what Redis saw (`size`,
 * `inUse`); a slot whose waiter already left is given back with `release`.
 */
export const settle = (
  state: Ref.Ref<State>,
  toSource: (size: number, s: State) => ConcurrencyLimiter.ConcurrencyLimiter.Source,
  release: (id: string) => Effect.Effect<void>
) =>
(granted: ReadonlyArray<Scripts.Granted>, figures?: { readonly size: number; readonly inUse: number }): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (granted.length === 0 && figures === undefined) return
    const now = yield* Clock.currentTimeMillis
    const waits = new Map(granted.map((g) => [g.id, g.waitMs]))
    const ids = new Set(waits.keys())
    const [served, orphans] = yield* Ref.modify(state, (s) => {
      const served = s.waiters.filter((w) => ids.has(w.id))
      const orphans = [...ids].filter((id) => !s.held.has(id) && !served.some((w) => w.id === id))
      const held = new Set(s.held)
      for (const w of served) held.add(w.id)
      const next: State = figures === undefined ? s : {
        ...s,
        size: figures.size,
        inUse: figures.inUse,
        peakInUse: Math.max(s.peakInUse, figures.inUse),
        source: toSource(figures.size, s)
      }
      return [[served, orphans] as const, { ...next, waiters: s.waiters.filter((w) => !ids.has(w.id)), held }]
    })
    yield* Effect.forEach(served, (w) => {
      const wait = waits.get(w.id)
      const log = logOf(w.spec)
      return Effect.flatMap(
        wait === undefined || log === undefined
          ? Effect.succeed(undefined)
          : Effect.map(Ref.make(false), (claimed): Prepaid => ({ log, readyAt: now + wait, claimed })),
        (prepaid) => Deferred.succeed(w.deferred, { _tag: "Lease", id: w.id, prepaid })
      )
    }, { discard: true })
    yield* Effect.forEach(orphans, (id) => release(id), { discard: true })
  })
