import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { AdmissionQueueFull, AdmissionTimeout } from "../src/CloroError.js"
import * as RateLimiter from "../src/RateLimiter.js"

type Limiter = RateLimiter.RateLimiterShape
type Stats = RateLimiter.RateLimiter.Stats

interface Start {
  readonly id: number
  readonly at: number
}

/** Takes an admission for `path` and records when it started. */
const start = (limiter: Limiter, path: string, id: number, starts: Array<Start>) =>
  Effect.zipRight(
    limiter.take(path),
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      Effect.sync(() => {
        starts.push({ id, at })
      }))
  )

/** The most starts that fall in any half-open window [t, t + window). */
const busiestWindow = (times: ReadonlyArray<number>, windowMillis: number): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let busiest = 0
  let first = 0
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= windowMillis) {
      first++
    }
    busiest = Math.max(busiest, last - first + 1)
  }
  return busiest
}

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

describe("RateLimiter", () => {
  it("busiestWindow counts what it should (the checker itself can fail)", () => {
    expect(busiestWindow([0, 999, 1000], 1000)).toBe(2)
    expect(busiestWindow([0, 500, 999, 1000, 1001], 1000)).toBe(4)
    expect(busiestWindow([], 1000)).toBe(0)
  })

  it.scoped("never lets more than the limit start in any rolling second, and admits the limit in the first", () =>
    Effect.gen(function*() {
      const limit = 10
      const limiter = yield* RateLimiter.make({ limit })
      const starts: Array<Start> = []
      const fibers = yield* Effect.forEach(
        Array.from({ length: 5 * limit }, (_, id) => id),
        (id) => Effect.fork(start(limiter, "/v1/monitor/chatgpt", id, starts))
      )
      yield* TestClock.adjust("10 seconds")
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })
      const times = starts.map((s) => s.at)
      expect(times.length).toBe(5 * limit)
      expect(busiestWindow(times, 1000)).toBe(limit)
      expect(times.filter((at) => at < 1000).length).toBe(limit)
      // ... and no slower than it must be
      expect(Math.max(...times)).toBe(4000)
      expect(yield* limiter.stats).toMatchObject({ waiting: 0, admitted: 5 * limit })
    }))

  it.scoped("keeps the sliding bound when requests arrive spread over time", () =>
    Effect.gen(function*() {
      const limit = 4
      const limiter = yield* RateLimiter.make({ limit })
      const starts: Array<Start> = []
      const fibers: Array<Fiber.RuntimeFiber<void, unknown>> = []
      // 3 arrive at once, then one every 100 ms, so starts straddle second boundaries
      for (let id = 0; id < 40; id++) {
        fibers.push(yield* Effect.fork(start(limiter, "/v1/monitor/gemini", id, starts)))
        if (id >= 2) {
          yield* TestClock.adjust("100 millis")
        }
      }
      yield* TestClock.adjust("20 seconds")
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })
      expect(starts.length).toBe(40)
      expect(busiestWindow(starts.map((s) => s.at), 1000)).toBeLessThanOrEqual(limit)
      expect(starts.map((s) => s.id)).toEqual(Array.from({ length: 40 }, (_, id) => id))
    }))

  it.scoped("admits in arrival order", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 3 })
      const starts: Array<Start> = []
      const fibers: Array<Fiber.RuntimeFiber<void, unknown>> = []
      for (let id = 0; id < 12; id++) {
        fibers.push(yield* Effect.fork(start(limiter, "/v1/monitor/grok", id, starts)))
        yield* waitFor(limiter, (s) => s.admitted + s.waiting === id + 1)
      }
      yield* TestClock.adjust("5 seconds")
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })
      expect(starts.map((s) => s.id)).toEqual(Array.from({ length: 12 }, (_, id) => id))
      expect(starts.map((s) => s.at)).toEqual([0, 0, 0, 1000, 1000, 1000, 2000, 2000, 2000, 3000, 3000, 3000])
    }))

  it.scoped("perEndpoint keeps paths independent; shared counts them together", () =>
    Effect.gen(function*() {
      const run = (mode: RateLimiter.RateLimiter.Mode) =>
        Effect.gen(function*() {
          const limiter = yield* RateLimiter.make({ limit: 2, mode })
          const origin = yield* Clock.currentTimeMillis
          const starts: Array<Start> = []
          const fibers = yield* Effect.forEach(
            ["/v1/monitor/chatgpt", "/v1/monitor/chatgpt", "/v1/monitor/gemini", "/v1/monitor/gemini"],
            (path, id) => Effect.fork(start(limiter, path, id, starts))
          )
          yield* TestClock.adjust("2 seconds")
          yield* Effect.forEach(fibers, Fiber.join, { discard: true })
          return starts.map((s) => s.at - origin)
        })
      const perEndpoint = yield* run("perEndpoint")
      expect(perEndpoint).toEqual([0, 0, 0, 0])
      const shared = yield* run("shared")
      expect(shared).toEqual([0, 0, 1000, 1000])
    }))

  it.scoped("defaults: 500 per second shared, 1,000 per path per second", () =>
    Effect.gen(function*() {
      const shared = yield* RateLimiter.make()
      expect(yield* shared.stats).toEqual({ mode: "shared", limit: 500, source: "default", waiting: 0, admitted: 0 })
      const perEndpoint = yield* RateLimiter.make({ mode: "perEndpoint" })
      expect(yield* perEndpoint.stats).toMatchObject({ mode: "perEndpoint", limit: 1000, source: "default" })
    }))

  it.scoped("remaining 0 holds new admissions for one window from then", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 10 })
      const path = "/v1/monitor/perplexity"
      yield* limiter.take(path)
      yield* TestClock.adjust("200 millis")
      yield* limiter.learn(path, { limit: 10, remaining: 0 })
      const held = yield* Effect.fork(limiter.take(path))
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(held))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(held)
      expect(yield* Clock.currentTimeMillis).toBe(1200)
    }))

  it.scoped("remaining 0 on one path holds only that path in perEndpoint mode", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 10, mode: "perEndpoint" })
      yield* limiter.learn("/v1/monitor/chatgpt", { remaining: 0 })
      yield* limiter.take("/v1/monitor/gemini")
      const held = yield* Effect.fork(limiter.take("/v1/monitor/chatgpt"))
      yield* TestClock.adjust("500 millis")
      expect(Option.isNone(yield* Fiber.poll(held))).toBe(true)
      yield* TestClock.adjust("500 millis")
      yield* Fiber.join(held)
    }))

  it.scoped("adopts a reported limit, and a configured one is a ceiling", () =>
    Effect.gen(function*() {
      const learning = yield* RateLimiter.make()
      yield* learning.learn("/v1/monitor/chatgpt", { limit: 1000, remaining: 999 })
      expect(yield* learning.stats).toMatchObject({ limit: 1000, source: "learned" })
      for (const nonsense of [0, -1, Number.NaN]) {
        yield* learning.learn("/v1/monitor/chatgpt", { limit: nonsense })
      }
      expect((yield* learning.stats).limit).toBe(1000)

      const capped = yield* RateLimiter.make({ limit: 100 })
      yield* capped.learn("/v1/monitor/chatgpt", { limit: 1000 })
      expect(yield* capped.stats).toMatchObject({ limit: 100, source: "configured" })
      yield* capped.learn("/v1/monitor/chatgpt", { limit: 50 })
      expect(yield* capped.stats).toMatchObject({ limit: 50, source: "learned" })
    }))

  it.scoped("a lowered limit applies to the starts already logged", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 4 })
      const path = "/v1/monitor/copilot"
      yield* Effect.all([limiter.take(path), limiter.take(path)])
      yield* limiter.learn(path, { limit: 2 })
      const next = yield* Effect.fork(limiter.take(path))
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(next))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(next)
    }))

  it.scoped("maxWait fails at once, without taking a place, a request whose turn is too far", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 1, maxWait: "500 millis" })
      const path = "/v1/monitor/aimode"
      yield* limiter.take(path)
      const error = yield* Effect.flip(limiter.take(path))
      expect(error).toBeInstanceOf(AdmissionTimeout)
      expect(error).toMatchObject({ _tag: "AdmissionTimeout", limiter: "rate", waited: Duration.zero })
      expect(yield* Clock.currentTimeMillis).toBe(0)
      expect(yield* limiter.stats).toMatchObject({ waiting: 0, admitted: 1 })
      // the refused request left no trace: the next second's admission is free
      yield* TestClock.adjust("1 second")
      yield* limiter.take(path)
      expect(yield* limiter.stats).toMatchObject({ waiting: 0, admitted: 2 })
    }))

  it.scoped("maxWait lets a request wait when its turn is close enough", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 2, maxWait: "1500 millis" })
      const path = "/v1/monitor/google"
      yield* Effect.all([limiter.take(path), limiter.take(path)])
      const fibers = yield* Effect.all([Effect.fork(limiter.take(path)), Effect.fork(limiter.take(path))])
      yield* waitFor(limiter, (s) => s.waiting === 2)
      // a fifth would start at 2 s: too far
      const error = yield* Effect.flip(limiter.take(path))
      expect(error._tag).toBe("AdmissionTimeout")
      yield* TestClock.adjust("1 second")
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })
      expect(yield* limiter.stats).toMatchObject({ waiting: 0, admitted: 4 })
    }))

  it.scoped("maxWait also bounds a wait that a hold made longer than foreseen", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 1, maxWait: "1500 millis" })
      const path = "/v1/monitor/chatgpt"
      yield* limiter.take(path)
      const waiter = yield* Effect.fork(limiter.take(path))
      yield* waitFor(limiter, (s) => s.waiting === 1)
      // its turn was at 1 s; the hold moves it to 1.6 s, past its 1.5 s deadline
      yield* TestClock.adjust("600 millis")
      yield* limiter.learn(path, { remaining: 0 })
      yield* TestClock.adjust("899 millis")
      expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(waiter))
      expect(error).toMatchObject({ _tag: "AdmissionTimeout", limiter: "rate", waited: Duration.millis(1500) })
      expect((yield* limiter.stats).waiting).toBe(0)
    }))

  it.scoped("fails at once a request arriving when maxWaiting already wait", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 1, maxWaiting: 1 })
      const path = "/v1/monitor/chatgpt"
      yield* limiter.take(path)
      const waiter = yield* Effect.fork(limiter.take(path))
      yield* waitFor(limiter, (s) => s.waiting === 1)
      const error = yield* Effect.flip(limiter.take(path))
      expect(error).toBeInstanceOf(AdmissionQueueFull)
      expect(error).toMatchObject({ limiter: "rate", maxWaiting: 1 })
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(waiter)
    }))

  it.scoped("an interrupted waiter leaves no hole: the one behind it moves up", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 1 })
      const path = "/v1/monitor/chatgpt"
      yield* limiter.take(path)
      const quitter = yield* Effect.fork(limiter.take(path))
      yield* waitFor(limiter, (s) => s.waiting === 1)
      const next = yield* Effect.fork(limiter.take(path))
      yield* waitFor(limiter, (s) => s.waiting === 2)
      yield* Fiber.interrupt(quitter)
      expect((yield* limiter.stats).waiting).toBe(1)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(next)
      expect(yield* Clock.currentTimeMillis).toBe(1000)
      expect(yield* limiter.stats).toMatchObject({ waiting: 0, admitted: 2 })
    }))

  it.scoped("honours a custom window", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 1, window: "2 seconds" })
      yield* limiter.take("/v1/countries")
      const next = yield* Effect.fork(limiter.take("/v1/countries"))
      yield* TestClock.adjust("1999 millis")
      expect(Option.isNone(yield* Fiber.poll(next))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(next)
    }))

  it.scoped("20,000 waiting takes all finish, first come first served, within the limit", () =>
    Effect.gen(function*() {
      const limit = 1000
      const count = 20_000
      const limiter = yield* RateLimiter.make({ limit, mode: "perEndpoint" })
      const starts: Array<Start> = []
      const fibers: Array<Fiber.RuntimeFiber<void, unknown>> = []
      for (let id = 0; id < count; id++) {
        fibers.push(yield* Effect.fork(start(limiter, "/v1/monitor/chatgpt", id, starts)))
      }
      yield* waitFor(limiter, (s) => s.waiting === count - limit)
      yield* TestClock.adjust("30 seconds")
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })
      expect(starts.length).toBe(count)
      expect(starts.every((s, index) => s.id === index)).toBe(true)
      expect(busiestWindow(starts.map((s) => s.at), 1000)).toBe(limit)
      expect(yield* limiter.stats).toMatchObject({ waiting: 0, admitted: count })
    }))

  it.scoped("even pace: starts spaced evenly after a small burst, at most the limit in any window 5 % longer", () =>
    Effect.gen(function*() {
      const limit = 100
      const limiter = yield* RateLimiter.make({ limit, pace: "even" })
      const starts: Array<Start> = []
      const fibers = yield* Effect.forEach(
        Array.from({ length: 3 * limit }, (_, id) => id),
        (id) => Effect.fork(start(limiter, "/v1/monitor/chatgpt", id, starts))
      )
      // a late timer (steps of 7 ms and the odd 70 ms stall) catches up instead of losing its turns
      for (let step = 0; step < 1000 && starts.length < 3 * limit; step++) {
        yield* TestClock.adjust(step % 20 === 19 ? "70 millis" : "7 millis")
      }
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })
      const times = starts.map((s) => s.at)
      expect(starts.map((s) => s.id)).toEqual(Array.from({ length: 3 * limit }, (_, id) => id))
      expect(busiestWindow(times, 1030)).toBeLessThanOrEqual(limit)
      // a burst of a twentieth of the limit at most, not the whole limit at once
      expect(times.filter((at) => at === 0).length).toBe(limit / 20)
      expect(busiestWindow(times, 100)).toBeLessThanOrEqual(limit / 10 + limit / 20)
      // and no slower than the pace: 5 at once, then 295 spaced 10.3 ms apart, whatever the late steps
      expect(Math.max(...times)).toBeLessThanOrEqual(295 * 10.3 + 7)
      const bad = yield* Effect.flip(RateLimiter.make({ pace: "smooth" as unknown as "even" }))
      expect(bad.issues.map((issue) => issue.field)).toEqual(["pace"])
    }))

  it.scoped("even pace: remaining 0 explained by our own starts holds nothing more; unexplained, a window", () =>
    Effect.gen(function*() {
      const path = "/v1/monitor/chatgpt"
      const own = yield* RateLimiter.make({ limit: 4, pace: "even" })
      const starts: Array<Start> = []
      const fibers = yield* Effect.forEach([0, 1, 2, 3, 4], (id) => Effect.fork(start(own, path, id, starts)))
      yield* TestClock.adjust("515 millis")
      expect(starts.map((s) => s.at)).toEqual([0, 0, 258, 515])
      // the server saw our 4 in its last second: the log alone spaces the 5th (4 per 1.03 s)
      yield* own.learn(path, { limit: 4, remaining: 0 })
      yield* TestClock.adjust("515 millis")
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })
      expect(starts.map((s) => s.at)).toEqual([0, 0, 258, 515, 1030])

      const shared = yield* RateLimiter.make({ limit: 4, pace: "even" })
      const at = yield* Clock.currentTimeMillis
      yield* shared.take(path)
      // one start of ours cannot explain "none left": someone else uses the key, so hold a window
      yield* shared.learn(path, { remaining: 0 })
      const held = yield* Effect.fork(shared.take(path))
      yield* TestClock.adjust("1029 millis")
      expect(Option.isNone(yield* Fiber.poll(held))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(held)
      expect((yield* Clock.currentTimeMillis) - at).toBe(1030)
    }))

  it.scoped("perEndpoint forgets idle paths but not busy ones", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 1, mode: "perEndpoint" })
      const path = (phase: number, i: number) => `/v1/async/task/${phase}-${i}`
      // enough paths to trigger the sweep of idle windows twice
      yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => path(1, i)), limiter.take, { discard: true })
      yield* TestClock.adjust("2 seconds")
      yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => path(2, i)), limiter.take, { discard: true })
      expect(yield* limiter.stats).toMatchObject({ waiting: 0, admitted: 200 })
      // a path used just now kept its window through the sweeps: its next start waits a second
      const busy = yield* Effect.fork(limiter.take(path(2, 0)))
      yield* TestClock.adjust("999 millis")
      expect(Option.isNone(yield* Fiber.poll(busy))).toBe(true)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(busy)
      // an idle one starts at once
      yield* limiter.take(path(1, 0))
      expect(yield* limiter.stats).toMatchObject({ waiting: 0, admitted: 202 })
    }))

  it.scoped("rejects nonsensical options with every issue listed", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RateLimiter.make({ limit: 0, window: 0, maxWait: -1, maxWaiting: 1.5 }))
      expect(error._tag).toBe("LimiterConfigError")
      expect(error.limiter).toBe("rate")
      expect(error.issues.map((issue) => issue.field)).toEqual(["limit", "window", "maxWait", "maxWaiting"])
      const infinite = yield* Effect.flip(RateLimiter.make({ window: Duration.infinity }))
      expect(infinite.issues.map((issue) => issue.field)).toEqual(["window"])
      const layerError = yield* Effect.flip(
        Effect.provide(RateLimiter.RateLimiter, RateLimiter.layer({ limit: -3 }))
      )
      expect(layerError._tag).toBe("LimiterConfigError")
    }))

  it.effect("layer provides the service", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.RateLimiter
      yield* limiter.take("/v1/monitor/chatgpt")
      expect(yield* limiter.stats).toMatchObject({ limit: 7, admitted: 1, source: "configured" })
    }).pipe(Effect.provide(RateLimiter.layer({ limit: 7 }))))

  it.effect("layerUnlimited never makes anyone wait", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.RateLimiter
      yield* limiter.learn("/v1/monitor/chatgpt", { limit: 1, remaining: 0 })
      yield* Effect.all(Array.from({ length: 10_000 }, () => limiter.take("/v1/monitor/chatgpt")), { discard: true })
      expect(yield* limiter.stats).toMatchObject({ limit: undefined, source: "unlimited" })
      // trap: Infinity in stats becomes null in JSON
      expect(JSON.stringify(yield* limiter.stats)).not.toContain("null")
    }).pipe(Effect.provide(RateLimiter.layerUnlimited)))
})

describe("RateLimiter learned bounds", () => {
  it.scoped("trap: X-RateLimit-Limit: 1 does not slow every call to a crawl, nor 1e9 lift the limit", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make()
      yield* limiter.learn("/v1/monitor/chatgpt", { limit: 1 })
      expect((yield* limiter.stats).limit).toBe(RateLimiter.MAX_LEARNED_RATE / 10)
      yield* limiter.learn("/v1/monitor/chatgpt", { limit: 1_000_000_000 })
      expect((yield* limiter.stats).limit).toBe(RateLimiter.MAX_LEARNED_RATE)
      const configured = yield* RateLimiter.make({ limit: 200 })
      yield* configured.learn("/v1/monitor/chatgpt", { limit: 1 })
      expect((yield* configured.stats).limit).toBe(20)
    }))
})
