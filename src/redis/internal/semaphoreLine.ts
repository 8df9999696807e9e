/**
 * The local side of the shared semaphore (`RedisConcurrencyLimiter`): the
 * process's line of waiters, the events its taking fiber serves, and the
 * fiber that keeps the process's leases and place in line alive.
 *
 * @internal
 */
import type * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { LimiterUnavailable } from "../../CloroError.js"
import type * as ConcurrencyLimiter from "../../ConcurrencyLimiter.js"
import type { RedisStore } from "../RedisStore.js"
import * as Scripts from "./semaphoreScripts.js"

export type Grant =
  | { readonly _tag: "Lease"; readonly id: string }
  | { readonly _tag: "Local" }

export interface Waiter {
  readonly id: string
  readonly deferred: Deferred.Deferred<Grant, LimiterUnavailable>
  /** whether its id is in the line in Redis */
  readonly sent: boolean
}

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
 * `New`: waiters to send; `Check`: also ask about those in line (a poll);
 * `Granted`: a slot handed over; `Release`: a slot given back, sent with the
 * next trip (so a request's release and the next one's take share one).
 */
export type Event =
  | { readonly _tag: "New" }
  | { readonly _tag: "Check" }
  | { readonly _tag: "Granted"; readonly id: string }
  | { readonly _tag: "Release"; readonly id: string }

export const checkEvent: Event = { _tag: "Check" }

/**
 * Renews the process's liveness and the leases it holds, in one round trip,
 * three times per lease, and at once after a reconnect (a restarted Redis has
 * lost them), then runs `reconnected`. Lives as long as the scope.
 */
export const renewLeases = (options: {
  readonly store: RedisStore
  readonly keys: readonly [holders: string, owners: string]
  readonly owner: string
  readonly leaseMs: number
  readonly held: Effect.Effect<ReadonlyArray<string>>
  readonly reconnected: Effect.Effect<unknown>
}): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { keys, leaseMs, owner, store } = options
    const renew = Effect.flatMap(options.held, (held) =>
      store.run("concurrency", (redis) => redis.eval(Scripts.renew, 2, ...keys, leaseMs, owner, ...held)).pipe(
        Effect.catchAll((error) => Effect.logWarning("cloro: could not renew concurrency leases", error.reason))
      ))
    const reconnected = yield* Queue.sliding<void>(1)
    const onReady = () => reconnected.unsafeOffer(undefined)
    store.client.on("ready", onReady)
    yield* Effect.addFinalizer(() => Effect.sync(() => store.client.off("ready", onReady)))
    const every = Duration.millis(Math.max(1, Math.floor(leaseMs / 3)))
    yield* renew.pipe(
      Effect.zipRight(Effect.race(Effect.as(Queue.take(reconnected), true), Effect.as(Effect.sleep(every), false))),
      Effect.tap((back) => (back ? options.reconnected : Effect.void)),
      Effect.forever,
      Effect.forkScoped
    )
  })
