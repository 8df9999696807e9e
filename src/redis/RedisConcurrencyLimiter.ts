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
 * In each process one fiber takes slots for the local line, several per
 * round trip, in FIFO order. A release publishes on a channel, so waiters in
 * other processes wake at once; a short jittered poll covers a lost message
 * and the expiry of a dead holder's leases.
 *
 * @since 0.2.0
 */
import { randomUUID } from "node:crypto"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { AdmissionQueueFull, AdmissionTimeout } from "../CloroError.js"
import { AdmissionQueueFull as QueueFull, AdmissionTimeout as Timeout, LimiterUnavailable } from "../CloroError.js"
import * as ConcurrencyLimiter from "../ConcurrencyLimiter.js"
import * as LimiterConfig from "../internal/limits/limiterConfig.js"
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
   * The longest a waiter sleeps between two tries when no release is heard;
   * each sleep is jittered between half and all of it. Default 200 ms.
   */
  readonly poll?: Duration.DurationInput | undefined
  /**
   * Names this process's leases in Redis (`<holder>:<n>`), to see who holds
   * the slots. Default: a random UUID, unique per limiter.
   */
  readonly holder?: string | undefined
}

// KEYS: holders (zset), shared (hash: ceiling, learned, peak)
// ARGV: lease ms, initial size, configured ceiling ("" for none), then the ids wanting a slot
const takeScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local shared = redis.call('HMGET', KEYS[2], 'ceiling', 'learned', 'peak')
local ceiling = tonumber(shared[1]) or tonumber(ARGV[3])
local learned = tonumber(shared[2])
local size = tonumber(ARGV[2])
if ceiling then
  size = ceiling
  if learned and learned < ceiling then size = learned end
elseif learned then
  size = learned
end
local inUse = redis.call('ZCARD', KEYS[1])
local want = #ARGV - 3
local granted = math.max(0, math.min(size - inUse, want))
for i = 1, granted do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3 + i])
end
if granted > 0 and inUse + granted > (tonumber(shared[3]) or 0) then
  redis.call('HSET', KEYS[2], 'peak', inUse + granted)
end
return { granted, size, inUse + granted }
`

// KEYS: holders; ARGV: lease ms, then the ids to renew. A missing lease is
// added back: its request is still in flight (Redis restarted empty, or the
// holder was cut off longer than the lease), so counting it is the truth and
// only makes others wait.
const renewScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
end
return #ARGV - 1
`

// KEYS: holders; ARGV: channel, id
const releaseScript = `
local removed = redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[1], '1')
return removed
`

type Grant =
  | { readonly _tag: "Lease"; readonly id: string }
  | { readonly _tag: "Local" }

interface Waiter {
  readonly id: string
  readonly deferred: Deferred.Deferred<Grant, LimiterUnavailable>
}

interface State {
  /** local line, first in line first; only the taking fiber and leavers change it */
  readonly waiters: ReadonlyArray<Waiter>
  readonly held: ReadonlySet<string>
  readonly size: number
  readonly inUse: number
  readonly peakInUse: number
  readonly source: ConcurrencyLimiter.ConcurrencyLimiter.Source
  /** the limit last written to Redis by `learn`, to skip writing it again */
  readonly lastLearned: number | undefined
}

const millis = (input: Duration.DurationInput | undefined, fallback: Duration.DurationInput) =>
  Duration.toMillis(Duration.decode(input ?? fallback))

/**
 * Builds a shared limiter on the `RedisStore`; its background fibers (the
 * taker, the lease renewer) live as long as `scope`.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  options: Options = {}
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
    const leaseMs = millis(checked.lease, "30 seconds")
    const pollMs = millis(checked.poll, "200 millis")
    const maxWait = checked.maxWait !== undefined && Duration.isFinite(checked.maxWait) ? checked.maxWait : undefined
    const base = `${store.prefix}${options.key ?? "concurrency"}`
    const holdersKey = `${base}:holders`
    const sharedKey = `${base}:shared`
    const channel = `${base}:released`
    const owner = options.holder ?? randomUUID()
    const counter = yield* Ref.make(0)

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
    const wakeup = yield* Queue.sliding<void>(1)
    const signal = Queue.offer(wakeup, undefined)

    // Another process's release: try again now instead of at the next poll.
    const onMessage = (ch: string) => {
      if (ch === channel) wakeup.unsafeOffer(undefined)
    }
    store.subscriber.on("message", onMessage)
    yield* Effect.addFinalizer(() => Effect.sync(() => store.subscriber.off("message", onMessage)))
    yield* Effect.promise(() => store.subscriber.subscribe(channel).catch(() => 0))
    // ioredis re-subscribes after a reconnect by itself.

    const release = (id: string) =>
      Effect.zipRight(
        Ref.update(state, (s) => {
          const held = new Set(s.held)
          held.delete(id)
          return { ...s, held, inUse: Math.max(0, s.inUse - 1) }
        }),
        store.run("concurrency", (redis) => redis.eval(releaseScript, 1, holdersKey, channel, id)).pipe(
          // An unreachable Redis cannot be told; the lease runs out by itself.
          Effect.catchAll(() => Effect.void),
          Effect.zipRight(signal)
        )
      )

    const toSource = (size: number, s: State): ConcurrencyLimiter.ConcurrencyLimiter.Source =>
      s.lastLearned !== undefined && size === s.lastLearned ? "learned" : checked.limit === size ? "configured" : s.source

    /** One try for everyone in line: one round trip, however many are served. */
    const serve = Effect.gen(function*() {
      yield* Queue.takeAll(wakeup)
      const current = yield* Ref.get(state)
      // No more than could be granted: a line of thousands needs no thousands of arguments.
      const line = current.waiters.slice(0, Math.max(current.size, 32))
      if (line.length === 0) return true
      const taken = yield* store.run("concurrency", (redis) =>
        redis.eval(
          takeScript,
          2,
          holdersKey,
          sharedKey,
          leaseMs,
          initial,
          checked.limit ?? "",
          ...line.map((w) => w.id)
        )).pipe(Effect.map((reply) => replyStrings(reply).map(Number)), Effect.either)
      if (taken._tag === "Left") {
        // Fail closed (or fall back): everyone now in line hears it at once.
        const failed = yield* Ref.modify(state, (s) => [s.waiters, { ...s, waiters: [] }])
        yield* Effect.forEach(failed, (w) =>
          local === undefined ? Deferred.fail(w.deferred, taken.left) : Deferred.succeed(w.deferred, { _tag: "Local" }), {
          discard: true
        })
        return true
      }
      const [granted = 0, size = 1, inUse = 0] = taken.right
      const served = yield* Ref.modify(state, (s) => {
        const grantedIds = new Set(line.slice(0, granted).map((w) => w.id))
        const served = s.waiters.filter((w) => grantedIds.has(w.id))
        const held = new Set(s.held)
        for (const w of served) held.add(w.id)
        return [served, {
          ...s,
          waiters: s.waiters.filter((w) => !grantedIds.has(w.id)),
          held,
          size,
          inUse,
          peakInUse: Math.max(s.peakInUse, inUse),
          source: toSource(size, s)
        }]
      })
      // A waiter that left while its slot was being taken gives the slot back.
      const left = line.slice(0, granted).filter((w) => !served.some((s) => s.id === w.id))
      yield* Effect.forEach(served, (w) => Deferred.succeed(w.deferred, { _tag: "Lease", id: w.id }), { discard: true })
      yield* Effect.forEach(left, (w) => release(w.id), { discard: true })
      // All asked for were served and more wait: ask again at once.
      if (granted >= line.length && current.waiters.length > line.length) yield* signal
      return granted >= line.length
    })

    const jitter = Effect.map(Random.nextIntBetween(Math.ceil(pollMs / 2), pollMs + 1), Duration.millis)

    yield* Effect.gen(function*() {
      const done = yield* serve
      if ((yield* Ref.get(state)).waiters.length === 0) {
        yield* Queue.take(wakeup).pipe(Effect.zipRight(signal))
      } else if (!done) {
        yield* Effect.race(Queue.take(wakeup).pipe(Effect.zipRight(signal)), Effect.flatMap(jitter, Effect.sleep))
      }
    }).pipe(Effect.forever, Effect.interruptible, Effect.forkScoped)

    // Renew every lease held, in one round trip, three times per lease, and at
    // once after a reconnect: a restarted Redis has lost them.
    const renew = Effect.gen(function*() {
      const held = [...(yield* Ref.get(state)).held]
      if (held.length > 0) {
        yield* store.run("concurrency", (redis) => redis.eval(renewScript, 1, holdersKey, leaseMs, ...held)).pipe(
          Effect.catchAll((error) => Effect.logWarning("cloro: could not renew concurrency leases", error.reason))
        )
      }
    })
    const reconnected = yield* Queue.sliding<void>(1)
    const onReady = () => reconnected.unsafeOffer(undefined)
    store.client.on("ready", onReady)
    yield* Effect.addFinalizer(() => Effect.sync(() => store.client.off("ready", onReady)))
    const renewEvery = Duration.millis(Math.max(1, Math.floor(leaseMs / 3)))
    yield* renew.pipe(
      Effect.zipRight(Effect.race(Effect.as(Queue.take(reconnected), true), Effect.as(Effect.sleep(renewEvery), false))),
      // After a reconnect the learned limit may be gone too: write it again with the next header.
      Effect.tap((back) => back ? Effect.zipRight(Ref.update(state, (s) => ({ ...s, lastLearned: undefined })), signal) : Effect.void),
      Effect.forever,
      Effect.forkScoped
    )

    // Slots still held at shutdown are given back at once rather than at their expiry.
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Ref.get(state), (s) =>
        Effect.forEach(s.held, (id) => release(id), { discard: true }))
    )

    const acquire = (
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    ): Effect.Effect<Grant, AdmissionTimeout | AdmissionQueueFull | LimiterUnavailable> =>
      Effect.gen(function*() {
        const n = yield* Ref.getAndUpdate(counter, (c) => c + 1)
        const waiter: Waiter = { id: `${owner}:${n}`, deferred: yield* Deferred.make<Grant, LimiterUnavailable>() }
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
        yield* signal
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
              const wasWaiting = yield* Ref.modify(state, (s) =>
                [s.waiters.some((w) => w.id === waiter.id), { ...s, waiters: s.waiters.filter((w) => w.id !== waiter.id) }])
              if (wasWaiting) return
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

    const withPermit = <A, E, R>(
      effect: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | AdmissionTimeout | AdmissionQueueFull | LimiterUnavailable, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(acquire(restore), (grant) =>
          grant._tag === "Local" && local !== undefined
            ? restore(local.withPermit(effect))
            : Effect.ensuring(restore(effect), grant._tag === "Lease" ? release(grant.id) : Effect.void))
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
        Effect.zipRight(signal)
      )

    // Written only when it changes, so a header on every response costs no round trip.
    const learn = (limit: number): Effect.Effect<void> => {
      const learned = LimiterConfig.sanitizeLimit(limit)
      if (learned === undefined) return Effect.void
      return Effect.flatMap(Ref.get(state), (s) =>
        s.lastLearned === learned ? Effect.void : writeShared({ learned }).pipe(
          Effect.zipRight(Ref.update(state, (s) => ({ ...s, lastLearned: learned }))),
          Effect.zipRight(signal),
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
 * Forgets the key's holders, learned limit and peak: for tests and for a
 * fresh start after a change of plan.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const reset = (key = "concurrency"): Effect.Effect<void, LimiterUnavailable, RedisStore> =>
  Effect.flatMap(RedisStore, (store) =>
    Effect.asVoid(
      store.run("concurrency", (redis) => redis.del(`${store.prefix}${key}:holders`, `${store.prefix}${key}:shared`))
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
