import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { AdmissionQueueFull, AdmissionTimeout } from "../src/CloroError.js"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"

type Limiter = ConcurrencyLimiter.ConcurrencyLimiterShape
type Stats = ConcurrencyLimiter.ConcurrencyLimiter.Stats

/** Yields until the limiter's stats satisfy `predicate`; gives up loudly instead of hanging. */
const waitFor = (limiter: Limiter, predicate: (stats: Stats) => boolean) =>
  Effect.gen(function*() {
    for (let round = 0; round < 100_000; round++) {
      const stats = yield* limiter.stats
      if (predicate(stats)) {
        return stats
      }
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage(`stats never matched: ${JSON.stringify(yield* limiter.stats)}`)
  })

/** Forks a fiber that holds a slot until `release` is completed. */
const holdSlot = (limiter: Limiter, release: Deferred.Deferred<void>) =>
  Effect.fork(limiter.withPermit(Deferred.await(release)))

describe("ConcurrencyLimiter", () => {
  it.effect("never runs more than N at once, and runs everyone", () =>
    Effect.gen(function*() {
      const size = 5
      const limiter = yield* ConcurrencyLimiter.make({ limit: size })
      let running = 0
      let peak = 0
      let done = 0
      const task = limiter.withPermit(Effect.gen(function*() {
        running++
        peak = Math.max(peak, running)
        yield* Effect.yieldNow()
        yield* Effect.yieldNow()
        running--
        done++
      }))
      yield* Effect.all(Array.from({ length: 10 * size }, () => task), { concurrency: "unbounded", discard: true })
      expect(done).toBe(10 * size)
      expect(peak).toBe(size)
      const stats = yield* limiter.stats
      expect(stats).toEqual({ size, inUse: 0, waiting: 0, peakInUse: size, source: "configured" })
    }))

  it.effect("admits waiters in arrival order", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 1 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* holdSlot(limiter, gate)
      yield* waitFor(limiter, (s) => s.inUse === 1)
      const order: Array<number> = []
      const fibers: Array<Fiber.RuntimeFiber<void, unknown>> = []
      for (let i = 0; i < 10; i++) {
        fibers.push(yield* Effect.fork(limiter.withPermit(Effect.sync(() => {
          order.push(i)
        }))))
        yield* waitFor(limiter, (s) => s.waiting === i + 1)
      }
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.joinAll(fibers)
      expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    }))

  it.effect("growing admits waiters at once", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 1 })
      const gate = yield* Deferred.make<void>()
      const fibers = yield* Effect.all(Array.from({ length: 5 }, () => holdSlot(limiter, gate)))
      yield* waitFor(limiter, (s) => s.inUse === 1 && s.waiting === 4)
      yield* limiter.resize(3)
      const stats = yield* waitFor(limiter, (s) => s.inUse === 3)
      expect(stats).toMatchObject({ size: 3, waiting: 2, source: "configured" })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
      expect(yield* limiter.stats).toMatchObject({ inUse: 0, waiting: 0, peakInUse: 3 })
    }))

  it.effect("shrinking lets running requests finish and admits no one until use drops below the new size", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 4 })
      const gates = yield* Effect.all(Array.from({ length: 4 }, () => Deferred.make<void>()))
      const holders = yield* Effect.forEach(gates, (gate) => holdSlot(limiter, gate))
      yield* waitFor(limiter, (s) => s.inUse === 4)
      const waiterGate = yield* Deferred.make<void>()
      const waiter = yield* holdSlot(limiter, waiterGate)
      yield* waitFor(limiter, (s) => s.waiting === 1)
      yield* limiter.resize(2)
      expect(yield* limiter.stats).toMatchObject({ size: 2, inUse: 4, waiting: 1 })

      const finish = (i: number) =>
        Effect.gen(function*() {
          yield* Deferred.succeed(gates[i]!, undefined)
          yield* Fiber.join(holders[i]!)
          return yield* limiter.stats
        })
      expect(yield* finish(0)).toMatchObject({ inUse: 3, waiting: 1 })
      expect(yield* finish(1)).toMatchObject({ inUse: 2, waiting: 1 })
      // 1 in use under a size of 2: the waiter gets the free slot
      expect(yield* finish(2)).toMatchObject({ inUse: 2, waiting: 0 })
      yield* finish(3)
      yield* Deferred.succeed(waiterGate, undefined)
      yield* Fiber.join(waiter)
      expect(yield* limiter.stats).toMatchObject({ size: 2, inUse: 0, waiting: 0 })
    }))

  it.effect("rejects a nonsensical resize with a typed error and keeps its size", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 3 })
      for (const size of [0, -1, 2.5, Number.NaN]) {
        const error = yield* Effect.flip(limiter.resize(size))
        expect(error._tag).toBe("LimiterConfigError")
        expect(error.issues[0]?.field).toBe("size")
      }
      expect((yield* limiter.stats).size).toBe(3)
    }))

  it.effect("without a configured limit starts small and adopts what the server reports", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make()
      expect(yield* limiter.stats).toMatchObject({ size: 1, source: "initial" })
      yield* limiter.learn(20)
      expect(yield* limiter.stats).toMatchObject({ size: 20, source: "learned" })
      for (const nonsense of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
        yield* limiter.learn(nonsense)
      }
      expect((yield* limiter.stats).size).toBe(20)
      yield* limiter.learn(10)
      expect((yield* limiter.stats).size).toBe(10)
    }))

  it.effect("a configured limit is a ceiling for what the server reports", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 10 })
      yield* limiter.learn(50)
      expect(yield* limiter.stats).toMatchObject({ size: 10, source: "configured" })
      yield* limiter.learn(4)
      expect(yield* limiter.stats).toMatchObject({ size: 4, source: "learned" })
      yield* limiter.learn(75)
      expect(yield* limiter.stats).toMatchObject({ size: 10, source: "configured" })
      // an explicit resize is the new ceiling
      yield* limiter.resize(6)
      yield* limiter.learn(75)
      expect(yield* limiter.stats).toMatchObject({ size: 6, source: "configured" })
    }))

  it.effect("learning a larger limit admits waiters", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ initialLimit: 1 })
      const gate = yield* Deferred.make<void>()
      const fibers = yield* Effect.all(Array.from({ length: 3 }, () => holdSlot(limiter, gate)))
      yield* waitFor(limiter, (s) => s.inUse === 1 && s.waiting === 2)
      yield* limiter.learn(3)
      yield* waitFor(limiter, (s) => s.inUse === 3 && s.waiting === 0)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
    }))

  it.effect("an interrupted holder frees its slot for the next waiter", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 1 })
      const holder = yield* Effect.fork(limiter.withPermit(Effect.never))
      yield* waitFor(limiter, (s) => s.inUse === 1)
      const next = yield* Effect.fork(limiter.withPermit(Effect.succeed("ran")))
      yield* waitFor(limiter, (s) => s.waiting === 1)
      yield* Fiber.interrupt(holder)
      expect(yield* Fiber.join(next)).toBe("ran")
      expect(yield* limiter.stats).toMatchObject({ inUse: 0, waiting: 0 })
    }))

  it.effect("an interrupted waiter leaves the line and takes no slot", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 1 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* holdSlot(limiter, gate)
      yield* waitFor(limiter, (s) => s.inUse === 1)
      let ranInterrupted = false
      const interrupted = yield* Effect.fork(limiter.withPermit(Effect.sync(() => {
        ranInterrupted = true
      })))
      yield* waitFor(limiter, (s) => s.waiting === 1)
      const after = yield* Effect.fork(limiter.withPermit(Effect.succeed("after")))
      yield* waitFor(limiter, (s) => s.waiting === 2)
      yield* Fiber.interrupt(interrupted)
      expect(yield* limiter.stats).toMatchObject({ inUse: 1, waiting: 1 })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(after)).toBe("after")
      expect(ranInterrupted).toBe(false)
      expect(yield* limiter.stats).toMatchObject({ inUse: 0, waiting: 0 })
    }))

  it.effect("a waiter interrupted just after being handed a slot gives it back", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 1 })
      const gate = yield* Deferred.make<void>()
      const holder = yield* holdSlot(limiter, gate)
      yield* waitFor(limiter, (s) => s.inUse === 1)
      const waiter = yield* Effect.fork(limiter.withPermit(Effect.never))
      yield* waitFor(limiter, (s) => s.waiting === 1)
      // resize hands the slot to the waiter; interrupt it before it can run
      yield* limiter.resize(2)
      yield* Fiber.interrupt(waiter)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* limiter.stats).toMatchObject({ inUse: 0, waiting: 0 })
    }))

  it.effect("a failing or dying effect releases its slot", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 1 })
      const failed = yield* Effect.flip(limiter.withPermit(Effect.fail("boom" as const)))
      expect(failed).toBe("boom")
      const died = yield* Effect.exit(limiter.withPermit(Effect.die("defect")))
      expect(Exit.isFailure(died) && Cause.isDie(died.cause)).toBe(true)
      expect(yield* limiter.stats).toMatchObject({ inUse: 0, waiting: 0 })
      expect(yield* limiter.withPermit(Effect.succeed(1))).toBe(1)
    }))

  it.effect("fails a request that waited longer than maxWait", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 1, maxWait: "1 second" })
      const gate = yield* Deferred.make<void>()
      const holder = yield* holdSlot(limiter, gate)
      yield* waitFor(limiter, (s) => s.inUse === 1)
      const waiter = yield* Effect.fork(limiter.withPermit(Effect.succeed("never")))
      yield* waitFor(limiter, (s) => s.waiting === 1)
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(waiter)
      expect(exit).toStrictEqual(Exit.fail(
        new AdmissionTimeout({
          message: "Waited too long for a concurrency slot",
          limiter: "concurrency",
          waited: Duration.seconds(1)
        })
      ))
      expect(yield* limiter.stats).toMatchObject({ inUse: 1, waiting: 0 })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* limiter.stats).toMatchObject({ inUse: 0, waiting: 0 })
    }))

  it.effect("a waiter served within maxWait runs", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 1, maxWait: "1 second" })
      const gate = yield* Deferred.make<void>()
      const holder = yield* holdSlot(limiter, gate)
      yield* waitFor(limiter, (s) => s.inUse === 1)
      const waiter = yield* Effect.fork(limiter.withPermit(Effect.succeed("served")))
      yield* waitFor(limiter, (s) => s.waiting === 1)
      yield* TestClock.adjust("900 millis")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(waiter)).toBe("served")
    }))

  it.effect("fails at once a request arriving when maxWaiting already wait", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make({ limit: 1, maxWaiting: 2 })
      const gate = yield* Deferred.make<void>()
      const fibers = yield* Effect.all(Array.from({ length: 3 }, () => holdSlot(limiter, gate)))
      yield* waitFor(limiter, (s) => s.inUse === 1 && s.waiting === 2)
      const error = yield* Effect.flip(limiter.withPermit(Effect.void))
      expect(error).toBeInstanceOf(AdmissionQueueFull)
      expect(error).toMatchObject({ _tag: "AdmissionQueueFull", limiter: "concurrency", maxWaiting: 2 })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
      expect(yield* limiter.stats).toMatchObject({ inUse: 0, waiting: 0 })
    }))

  it.effect("20,000 waiters on 20 slots all finish, first come first served", () =>
    Effect.gen(function*() {
      const size = 20
      const count = 20_000
      const limiter = yield* ConcurrencyLimiter.make({ limit: size })
      const gate = yield* Deferred.make<void>()
      const holders = yield* Effect.all(Array.from({ length: size }, () => holdSlot(limiter, gate)))
      yield* waitFor(limiter, (s) => s.inUse === size)
      const order: Array<number> = []
      let running = 0
      let peak = 0
      const fibers: Array<Fiber.RuntimeFiber<void, unknown>> = []
      for (let i = 0; i < count; i++) {
        fibers.push(
          yield* Effect.fork(limiter.withPermit(Effect.gen(function*() {
            order.push(i)
            running++
            peak = Math.max(peak, running)
            yield* Effect.yieldNow()
            running--
          })))
        )
      }
      yield* waitFor(limiter, (s) => s.waiting === count)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(holders)
      // joined one by one: Fiber.joinAll over 20,000 fibers is itself slow
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })
      expect(order.length).toBe(count)
      expect(order.every((value, index) => value === index)).toBe(true)
      expect(peak).toBeLessThanOrEqual(size)
      expect(yield* limiter.stats).toMatchObject({ inUse: 0, waiting: 0, peakInUse: size })
    }))

  it.effect("rejects nonsensical options with every issue listed", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ConcurrencyLimiter.make({ limit: 0, maxWaiting: -1, maxWait: -5 }))
      expect(error._tag).toBe("LimiterConfigError")
      expect(error.limiter).toBe("concurrency")
      expect(error.issues.map((issue) => issue.field)).toEqual(["limit", "maxWaiting", "maxWait"])
      const fractional = yield* Effect.flip(ConcurrencyLimiter.make({ limit: 2.5 }))
      expect(fractional.issues.map((issue) => issue.field)).toEqual(["limit"])
      const layerError = yield* Effect.flip(
        Effect.provide(ConcurrencyLimiter.ConcurrencyLimiter, ConcurrencyLimiter.layer({ initialLimit: 0 }))
      )
      expect(layerError._tag).toBe("LimiterConfigError")
    }))

  it.effect("layer provides the service", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.ConcurrencyLimiter
      expect(yield* limiter.withPermit(Effect.succeed(42))).toBe(42)
      expect((yield* limiter.stats).size).toBe(3)
    }).pipe(Effect.provide(ConcurrencyLimiter.layer({ limit: 3 }))))

  it.effect("layerUnlimited never makes anyone wait", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.ConcurrencyLimiter
      const gate = yield* Deferred.make<void>()
      const fibers = yield* Effect.all(Array.from({ length: 100 }, () => holdSlot(limiter, gate)))
      yield* limiter.learn(1)
      yield* limiter.resize(1)
      expect(yield* limiter.withPermit(Effect.succeed("straight through"))).toBe("straight through")
      expect(yield* limiter.stats).toEqual({ size: undefined, inUse: 0, waiting: 0, peakInUse: 0, source: "unlimited" })
      // trap: Infinity in stats becomes null in JSON
      expect(JSON.parse(JSON.stringify(yield* limiter.stats))).toEqual({ inUse: 0, waiting: 0, peakInUse: 0, source: "unlimited" })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
    }).pipe(Effect.provide(ConcurrencyLimiter.layerUnlimited)))
})

describe("ConcurrencyLimiter learned bounds", () => {
  it.effect("trap: a learned X-Concurrency-Limit of 1e9 is clamped to MAX_LEARNED_LIMIT; a configured limit still caps", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make()
      yield* limiter.learn(1_000_000_000)
      expect((yield* limiter.stats).size).toBe(ConcurrencyLimiter.MAX_LEARNED_LIMIT)
      yield* limiter.learn(1)
      expect((yield* limiter.stats).size).toBe(1)
      const configured = yield* ConcurrencyLimiter.make({ limit: 20 })
      yield* configured.learn(1_000_000_000)
      expect((yield* configured.stats).size).toBe(20)
    }))
})
