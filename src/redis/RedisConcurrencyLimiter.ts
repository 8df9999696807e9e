/**
 * A `ConcurrencyLimiter` shared by every process that uses the same Redis
 * key: a distributed counting semaphore with leases.
 *
 * Each slot held is a member of a sorted set scored by its expiry. The holder
 * renews its leases while its requests are in flight, so a process killed
 * with SIGKILL stops renewing and its slots return by themselves within the
 * lease (30 s by default) instead of blocking the account for ever.
 *
 * Lua, not @effect/experimental: experimental has no semaphore store, and a
 * take must read the expired leases, the shared limit and the holders and add
 * the new holders in one atomic step, which only a script gives.
 *
 * Waiters form one line in Redis, first come first served across processes.
 * In each process one fiber sends its new waiters in batches, and a
 * request's slot goes back as soon as the request ends, in a trip of its own
 * that carries the waiters that arrived meanwhile (waiting for the next batch
 * kept a finished request's slot taken for one more trip). The script hands
 * each freed slot to the head of the line and tells that waiter's process
 * alone (one message on its own channel), so a slot changes hands without a
 * further round trip and wakes exactly one waiter, as soon as the message arrives (it does not wait for
 * the taking fiber); a short jittered poll while waiting covers a lost
 * message and the expiry of a dead holder's leases. See
 * `internal/semaphoreScripts.ts`.
 *
 * Built together with the shared rate limiter (`RedisLimits.layer`), the
 * same script also records each granted request's start in the rate
 * limiter's log, so a request is admitted in one round trip, not two.
 *
 * @since 0.2.0
 */
import { randomUUID } from "node:crypto"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import type { AdmissionQueueFull, AdmissionTimeout } from "../CloroError.js"
import { AdmissionQueueFull as QueueFull, AdmissionTimeout as Timeout, LimiterUnavailable } from "../CloroError.js"
import * as ConcurrencyLimiter from "../ConcurrencyLimiter.js"
import * as LimiterConfig from "../internal/limits/limiterConfig.js"
import * as Line from "./internal/semaphoreLine.js"
import type { Event, Grant, State, Waiter } from "./internal/semaphoreLine.js"
import * as LuaScript from "./internal/luaScript.js"
import * as RateFold from "./internal/rateFold.js"
import * as Scripts from "./internal/semaphoreScripts.js"
import { RedisStore, replyStrings } from "./RedisStore.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options extends ConcurrencyLimiter.ConcurrencyLimiter.Options {
  /** Names the semaphore; workers with the same key share it. Default `"concurrency"`. */
  readonly key?: string | undefined
  /**
   * How long a slot stays taken without renewal: a killed holder's slots
   * return within it. Renewed every third of it. Default 30 seconds.
   */
  readonly lease?: Duration.DurationInput | undefined
  /**
   * The longest a waiter sleeps between two checks when no hand-over is heard
   * (a lost message, or the lease of a dead holder running out);
   * each sleep is jittered between half and all of it. Default 1 second.
   */
  readonly poll?: Duration.DurationInput | undefined
  /**
   * Names this process's leases in Redis (`<holder>:<n>`), to see who holds
   * the slots. Default: a random UUID, unique per limiter.
   */
  readonly holder?: string | undefined
}

type Refused = AdmissionTimeout | AdmissionQueueFull | LimiterUnavailable

/**
 * A limiter's slot held until the scope closes: its own `permit`, else a
 * fiber that holds it through `withPermit` (for a limiter without `permit`).
 */
const permitOf = (limiter: ConcurrencyLimiter.ConcurrencyLimiterShape): Effect.Effect<void, Refused, Scope.Scope> =>
  limiter.permit ?? Effect.gen(function*() {
    const admitted = yield* Deferred.make<void, Refused>()
    const finished = yield* Deferred.make<void>()
    const holder = yield* Effect.forkDaemon(
      limiter.withPermit(Effect.zipRight(Deferred.succeed(admitted, undefined), Deferred.await(finished))).pipe(
        Effect.catchAll((error) => Deferred.fail(admitted, error))
      )
    )
    yield* Effect.addFinalizer(() => Effect.zipRight(Deferred.succeed(finished, undefined), Fiber.interrupt(holder)))
    yield* Deferred.await(admitted)
  })

/**
 * Builds a shared limiter on the `RedisStore`; its background fibers (the
 * taker, the lease renewer) live as long as `scope`. `fold` (from
 * `RedisRateLimiter.makeFoldable`, as `RedisLimits` does) records each
 * granted request's rate-limit start in the same script.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  options: Options = {},
  fold?: RateFold.Fold
): Effect.Effect<ConcurrencyLimiter.ConcurrencyLimiterShape, LimiterConfig.LimiterConfigError, RedisStore | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* RedisStore
    const checked = yield* Effect.all({
      limit: LimiterConfig.integerAtLeast("limit", options.limit, 1),
      initialLimit: LimiterConfig.integerAtLeast("initialLimit", options.initialLimit, 1),
      maxWaiting: LimiterConfig.integerAtLeast("maxWaiting", options.maxWaiting, 0),
      maxWait: LimiterConfig.duration("maxWait", options.maxWait, { zero: true, infinite: true }),
      lease: LimiterConfig.duration("lease", options.lease, { zero: false, infinite: false }),
      poll: LimiterConfig.duration("poll", options.poll, { zero: false, infinite: false })
    }, { mode: "validate" }).pipe(Effect.mapError(LimiterConfig.collectIssues("concurrency")))
    const initial = checked.initialLimit ?? 1
    const leaseMs = Duration.toMillis(checked.lease ?? Duration.seconds(30))
    const pollMs = Duration.toMillis(checked.poll ?? Duration.seconds(1))
    const maxWait = checked.maxWait !== undefined && Duration.isFinite(checked.maxWait) ? checked.maxWait : undefined
    const base = `${store.prefix}${options.key ?? "concurrency"}`
    const keys = Scripts.keysOf(base)
    const [holdersKey = "", sharedKey = "", , ownersKey = ""] = keys
    const owner = options.holder ?? randomUUID()
    const channel = Scripts.grantChannel(base, owner)
    const counter = yield* Ref.make(0)
    const scriptArgs = [leaseMs, initial, checked.limit ?? "", Scripts.grantChannel(base, ""), owner] as const

    // With a fallback, a process that cannot reach Redis admits at most its
    // share of the last known size.
    const fallback = store.onUnavailable === "fail" ? undefined : store.onUnavailable.fallback.workers
    const local = fallback === undefined ? undefined : yield* ConcurrencyLimiter.make({
      limit: Math.max(1, Math.floor((checked.limit ?? initial) / Math.max(1, fallback))),
      maxWaiting: checked.maxWaiting,
      maxWait: checked.maxWait
    })

    const state = yield* Ref.make<State>({
      waiters: [],
      held: new Set(),
      size: checked.limit ?? initial,
      inUse: 0,
      peakInUse: 0,
      source: checked.limit === undefined ? "initial" : "configured",
      lastLearned: undefined
    })
    const events = yield* Queue.unbounded<Event>()
    const signal = (event: Event) => Queue.offer(events, event)
    const runtime = yield* Effect.runtime<never>()

    const toSource = (size: number, s: State): ConcurrencyLimiter.ConcurrencyLimiter.Source =>
      s.lastLearned !== undefined && size === s.lastLearned ? "learned" : checked.limit === size ? "configured" : s.source

    const settle = Line.settle(state, toSource, (id) => release(id))

    const renewing: Line.RenewOptions = {
      store,
      keys: [holdersKey, ownersKey],
      owner,
      leaseMs,
      held: Effect.map(Ref.get(state), (s) => [...s.held])
    }

    // Set when a trip failed, cleared by the next that reaches Redis: that one first registers the
    // leases of the calls the fallback admitted, so Redis counts them before it grants anyone a slot.
    const mustRenew = yield* Ref.make(false)
    const scope = yield* Effect.scope
    /** What completes when Redis is back: the store's breaker (set by the failed trip), else at once. */
    const wentDown = Effect.zipRight(
      Ref.set(mustRenew, true),
      Effect.flatMap(store.down, (down) =>
        down !== undefined ? Effect.succeed(down) : Effect.tap(Deferred.make<void>(), (back) => Deferred.succeed(back, undefined)))
    )

    // A slot handed to one of our waiters by another process's release: its
    // waiter wakes now, not after the taking fiber's trip in flight.
    const onMessage = (ch: string, message: string) => {
      if (ch === channel) Runtime.runFork(runtime)(settle([Scripts.parseMessage(message)]))
    }
    store.subscriber.on("message", onMessage)
    yield* Effect.addFinalizer(() => Effect.sync(() => store.subscriber.off("message", onMessage)))
    yield* Effect.promise(() => store.subscriber.subscribe(channel).catch(() => 0))
    // ioredis re-subscribes after a reconnect by itself.

    const forget = (id: string) =>
      Ref.update(state, (s) => {
        if (!s.held.has(id)) return s
        const held = new Set(s.held)
        held.delete(id)
        return { ...s, held, inUse: Math.max(0, s.inUse - 1) }
      })

    /**
     * A request's slot, given back at once: the trip is on the wire before the
     * caller goes on (its reply is awaited in the background), and carries
     * this process's new waiters too. While the breaker is open it is not
     * sent: the lease runs out by itself.
     */
    const handBack = (id: string): Effect.Effect<void> =>
      Effect.zipRight(
        forget(id),
        Effect.flatMap(store.down, (down) =>
          down === undefined ? Effect.asVoid(Effect.forkIn(serve(false, [id]), scope)) : Effect.void)
      )

    /** Gives a slot back (or leaves the line) at once: one round trip, which also hands it on. */
    const release = (id: string): Effect.Effect<void> =>
      Effect.zipRight(
        forget(id),
        store.run("concurrency", (redis) => LuaScript.run(redis, Scripts.release, keys, [...scriptArgs, id])).pipe(
          Effect.flatMap((raw) => {
            const { granted, inUse, size } = Scripts.parseReply(replyStrings(raw))
            return settle(granted, { size, inUse })
          }),
          // An unreachable Redis cannot be told; the lease runs out by itself.
          Effect.catchAll(() => Effect.void)
        )
      )

    /** One round trip for the slots given back and the new waiters (and, on a check, those in line). */
    // Trips may overlap (a release's and the taking fiber's): each claims the new waiters it sends
    // before sending them, so none is sent twice; one connection keeps them in order.
    const serve = (check: boolean, released: ReadonlyArray<string>): Effect.Effect<void> =>
      Effect.gen(function*() {
        // Where the new waiters' rate-limit starts go, noted before the trip: a hand-over may beat its reply.
        const spec = fold === undefined ? "" : yield* fold.spec
        const [fresh, asked] = yield* Ref.modify(state, (s) => {
          const fresh = s.waiters.filter((w) => !w.sent).slice(0, 256)
          const asked = check ? s.waiters.filter((w) => w.sent).slice(0, Math.max(s.size, 32)) : []
          if (fresh.length === 0) return [[fresh, asked] as const, s]
          const freshIds = new Set(fresh.map((w) => w.id))
          return [[fresh, asked] as const, {
            ...s,
            waiters: s.waiters.map((w) => (freshIds.has(w.id) ? { ...w, sent: true, spec } : w))
          }]
        })
        if (fresh.length === 0 && asked.length === 0 && released.length === 0 && !check) return
        const ids = [...fresh, ...asked].map((w) => w.id)
        const freshSpec = fresh.length === 0 ? "" : spec
        const wasDown = yield* Ref.get(mustRenew)
        const trip = store.run("concurrency", (redis) =>
          LuaScript.run(redis, Scripts.take, keys, [...scriptArgs, freshSpec, released.length, ...released, ...ids]))
        // An unreachable Redis cannot be told of the releases; their leases run out by themselves.
        const taken = yield* Effect.either(wasDown ? Effect.zipRight(Line.renew(renewing), trip) : trip)
        if (taken._tag === "Left") {
          // Fail closed (or fall back): everyone now in line hears it at once.
          const failed = yield* Ref.modify(state, (s) => [s.waiters, { ...s, waiters: [] }])
          const back = yield* wentDown
          yield* Effect.forEach(failed, (w) =>
            local === undefined ? Deferred.fail(w.deferred, taken.left) : Deferred.succeed(w.deferred, { _tag: "Local", back }), {
            discard: true
          })
          return
        }
        if (wasDown) yield* Ref.set(mustRenew, false)
        const { granted, inUse, size } = Scripts.parseReply(replyStrings(taken.right))
        yield* settle(granted, { size, inUse })
        // More new waiters than one trip carries: send the rest at once.
        if ((yield* Ref.get(state)).waiters.some((w) => !w.sent)) yield* signal({ _tag: "New" })
      })

    type Restore = <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>

    const jitter = Effect.map(Random.nextIntBetween(Math.ceil(pollMs / 2), pollMs + 1), Duration.millis)

    yield* Effect.gen(function*() {
      const waiting = (yield* Ref.get(state)).waiters.length > 0
      // While someone waits, a poll asks again in case a message was lost or a dead holder's lease ran out.
      const first = waiting
        ? yield* Effect.race(Queue.take(events), Effect.as(Effect.flatMap(jitter, Effect.sleep), Line.checkEvent))
        : yield* Queue.take(events)
      // Let the fibers woken by the last trip ask for their next slot first, so it rides along.
      yield* Effect.yieldNow()
      const all = [first, ...(yield* Queue.takeAll(events))]
      const check = all.some((e) => e._tag === "Check")
      yield* serve(check, [])
    }).pipe(Effect.forever, Effect.interruptible, Effect.forkScoped)

    yield* Line.renewLeases({
      ...renewing,
      // After a reconnect the line and the learned limit may be gone too: send the waiters and the next header again.
      reconnected: Effect.zipRight(
        Ref.update(state, (s) => ({
          ...s,
          lastLearned: undefined,
          waiters: s.waiters.map((w) => ({ ...w, sent: false, spec: "" }))
        })),
        signal(Line.checkEvent)
      )
    })

    // Slots still held at shutdown are given back at once rather than at their expiry.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Effect.forEach((yield* Ref.get(state)).held, (id) => release(id), { discard: true })
      })
    )

    const acquire = (restore: Restore): Effect.Effect<Grant, Refused> =>
      Effect.gen(function*() {
        // The breaker is open: straight to the fallback's line, without a trip that would fail.
        if (local !== undefined) {
          const down = yield* store.down
          if (down !== undefined) return { _tag: "Local", back: down } satisfies Grant
        }
        const n = yield* Ref.getAndUpdate(counter, (c) => c + 1)
        const waiter: Waiter = {
          id: `${owner}:${n}`,
          sent: false,
          spec: "",
          deferred: yield* Deferred.make<Grant, LimiterUnavailable>()
        }
        const queued = yield* Ref.modify(state, (s) =>
          checked.maxWaiting !== undefined && s.waiters.length >= checked.maxWaiting
            ? [false, s]
            : [true, { ...s, waiters: [...s.waiters, waiter] }])
        if (!queued) {
          return yield* new QueueFull({
            message: `The line for a concurrency slot is full (maxWaiting: ${checked.maxWaiting})`,
            limiter: "concurrency",
            maxWaiting: checked.maxWaiting ?? 0
          })
        }
        yield* signal({ _tag: "New" })
        const turn = Deferred.await(waiter.deferred)
        return yield* restore(
          maxWait === undefined ? turn : Effect.timeoutFail(turn, {
            duration: maxWait,
            onTimeout: () =>
              new Timeout({ message: "Waited too long for a concurrency slot", limiter: "concurrency", waited: maxWait })
          })
        ).pipe(
          Effect.onExit((exit) =>
            Exit.isSuccess(exit) ? Effect.void : Effect.gen(function*() {
              const left = yield* Ref.modify(state, (s) =>
                [s.waiters.find((w) => w.id === waiter.id), { ...s, waiters: s.waiters.filter((w) => w.id !== waiter.id) }])
              // Out of the line in Redis too; a slot granted meanwhile is handed on by the same script.
              if (left !== undefined) return left.sent ? yield* release(waiter.id) : undefined
              // Served in the same instant it gave up: give the slot back.
              const grant = yield* Deferred.poll(waiter.deferred)
              if (Option.isSome(grant)) {
                const got = yield* Effect.either(grant.value)
                if (got._tag === "Right" && got.right._tag === "Lease") yield* release(got.right.id)
              }
            })
          )
        )
      })

    /**
     * A call the fallback took: it waits in the local line, but goes back to
     * Redis's line (`"again"`) if Redis returns first, so once Redis is back
     * new calls are admitted there alone. Admitted here, it holds a lease id
     * too, which the renewal registers in Redis once it returns, so Redis
     * counts it while it runs. Both are held until the scope closes.
     */
    const viaLocal = (
      fallback: ConcurrencyLimiter.ConcurrencyLimiterShape,
      back: Deferred.Deferred<void>,
      restore: Restore
    ): Effect.Effect<"admitted" | "again", Refused, Scope.Scope> =>
      Effect.gen(function*() {
        const slot = yield* Scope.make()
        const turn = yield* restore(
          Effect.raceFirst(
            Effect.as(Scope.extend(permitOf(fallback), slot), "local" as const),
            Effect.as(Deferred.await(back), "redis" as const)
          )
        ).pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) && exit.value === "local" ? Effect.void : Scope.close(slot, Exit.void))))
        if (turn === "redis") return "again"
        const id = `${owner}:${yield* Ref.getAndUpdate(counter, (c) => c + 1)}`
        yield* Ref.update(state, (s) => ({ ...s, held: new Set(s.held).add(id), inUse: s.inUse + 1 }))
        yield* Effect.addFinalizer(() => Effect.zipRight(Scope.close(slot, Exit.void), handBack(id)))
        return "admitted"
      })

    /**
     * Holds what `acquire` granted until the scope closes. The start recorded
     * with a lease goes to this fiber's rate check, and to the fibers it forks
     * (`RateFold.current`): the one that sends the request uses it.
     */
    const hold = (grant: Grant, restore: Restore): Effect.Effect<void, Refused, Scope.Scope> => {
      if (grant._tag === "Lease") {
        return Effect.zipRight(
          FiberRef.set(RateFold.current, grant.prepaid),
          Effect.addFinalizer(() => handBack(grant.id))
        )
      }
      // Without a fallback no call is sent to a local line.
      if (local === undefined) return Effect.void
      return Effect.flatMap(viaLocal(local, grant.back, restore), (turn) =>
        turn === "again" ? Effect.flatMap(acquire(restore), (next) => hold(next, restore)) : Effect.void)
    }

    // The slot and its finalizer are taken in one uninterruptible step, so a
    // slot taken is always given back when the scope closes; the renewal
    // keeps its lease as long as the scope is open.
    const permit: Effect.Effect<void, Refused, Scope.Scope> = Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(acquire(restore), (grant) => hold(grant, restore))
    )

    const withPermit = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | Refused, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(acquire(restore), (grant) =>
          grant._tag === "Lease"
            // The start recorded with the slot goes to the request's rate check (`rateFold.ts`).
            ? Effect.ensuring(Effect.locally(restore(effect), RateFold.current, grant.prepaid), handBack(grant.id))
            : Effect.scoped(Effect.zipRight(hold(grant, restore), restore(effect)))
        )
      )

    const writeShared = (fields: Record<string, number | string>, clear: ReadonlyArray<string> = []) =>
      store.run("concurrency", (redis) => {
        const multi = redis.multi().hset(sharedKey, fields)
        if (clear.length > 0) multi.hdel(sharedKey, ...clear)
        return multi.exec()
      })

    const resize = (size: number): Effect.Effect<void, LimiterConfig.LimiterConfigError> =>
      LimiterConfig.integerAtLeast("size", size, 1).pipe(
        Effect.mapError((issue) => LimiterConfig.collectIssues("concurrency")({ size: Option.some(issue) })),
        Effect.zipRight(
          writeShared({ ceiling: size }, ["learned"]).pipe(
            Effect.catchAll((error) => Effect.logWarning("cloro: could not share a concurrency resize", error.reason))
          )
        ),
        Effect.zipRight(Ref.update(state, (s): State => ({ ...s, size, source: "configured", lastLearned: undefined }))),
        Effect.zipRight(signal({ _tag: "Check" }))
      )

    // Written only when it changes, so a header on every response costs no round trip.
    const learn = (limit: number): Effect.Effect<void> => {
      const learned = LimiterConfig.sanitizeLimit(limit)
      if (learned === undefined) return Effect.void
      return Effect.flatMap(Ref.get(state), (s) =>
        s.lastLearned === learned ? Effect.void : writeShared({ learned }).pipe(
          Effect.zipRight(Ref.update(state, (s) => ({ ...s, lastLearned: learned }))),
          Effect.zipRight(signal({ _tag: "Check" })),
          Effect.catchAll((error) => Effect.logWarning("cloro: could not share a learned concurrency limit", error.reason))
        ))
    }

    // From what the last take saw: reading Redis here would cost a round trip per request.
    const stats = Effect.map(Ref.get(state), (s): ConcurrencyLimiter.ConcurrencyLimiter.Stats => ({
      size: s.size,
      inUse: s.inUse,
      waiting: s.waiters.length,
      peakInUse: s.peakInUse,
      source: s.source
    }))

    return ConcurrencyLimiter.ConcurrencyLimiter.of({
      [ConcurrencyLimiter.TypeId]: ConcurrencyLimiter.TypeId,
      withPermit,
      permit,
      resize,
      learn,
      stats
    })
  })

/**
 * The most slots held at once by all workers since the key was created (or
 * `reset`), as Redis counted them.
 *
 * @since 0.2.0
 * @category Getters
 */
export const sharedPeak = (key = "concurrency"): Effect.Effect<number, LimiterUnavailable, RedisStore> =>
  Effect.flatMap(RedisStore, (store) =>
    Effect.map(
      store.run("concurrency", (redis) => redis.hget(`${store.prefix}${key}:shared`, "peak")),
      (peak) => Number(peak ?? 0)
    ))

/**
 * Slots held now by all workers (expired leases not counted).
 *
 * @since 0.2.0
 * @category Getters
 */
export const sharedInUse = (key = "concurrency"): Effect.Effect<number, LimiterUnavailable, RedisStore> =>
  Effect.flatMap(RedisStore, (store) =>
    Effect.map(
      store.run("concurrency", (redis) => redis.zcount(`${store.prefix}${key}:holders`, Date.now(), "+inf")),
      Number
    ))

/**
 * Forgets the key's holders, line, learned limit and peak: for tests and for a
 * fresh start after a change of plan.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const reset = (key = "concurrency"): Effect.Effect<void, LimiterUnavailable, RedisStore> =>
  Effect.flatMap(RedisStore, (store) =>
    Effect.asVoid(
      store.run("concurrency", (redis) => redis.del(...Scripts.keysOf(`${store.prefix}${key}`)))
    ))

/**
 * The shared limiter as the `ConcurrencyLimiter` service.
 *
 * @example
 * ```ts
 * import { RedisConcurrencyLimiter, RedisStore } from "cloro-effect/redis"
 * import { Layer } from "effect"
 *
 * // 20 slots shared by every worker; a killed worker's slots return within 10 s.
 * const Slots = RedisConcurrencyLimiter.layer({ limit: 20, lease: "10 seconds" }).pipe(
 *   Layer.provide(RedisStore.layerConfig())
 * )
 * ```
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<ConcurrencyLimiter.ConcurrencyLimiter, LimiterConfig.LimiterConfigError, RedisStore> =>
  Layer.scoped(ConcurrencyLimiter.ConcurrencyLimiter, make(options))
