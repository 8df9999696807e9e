/**
 * The rate limiter against models of cloro's two rate windows (the
 * simulator's, see `takeRate` in src/testing/internal/state.ts): a fixed
 * window opened by the first request after the last one expired, and a sliding
 * window over the last 1000 ms. Requests reach the "server" a pinned
 * pseudo-random delay after their start (even pace, `take`) or anywhere between
 * their send and their answer (`permit`); the TestClock steps unevenly, with
 * stalls, as a busy event loop does. Issue 16: ≥ 0.95 of the limit, 0
 * refusals, in both modes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as SlidingLog from "../src/internal/limits/slidingLog.js"
import * as RateLimiter from "../src/RateLimiter.js"

const path = "/v1/credits"

/** Refusals a fixed window (opened by the first arrival after the last expired) makes of `arrivals`. */
const fixedRefusals = (arrivals: ReadonlyArray<number>, limit: number): number => {
  let start = Number.NEGATIVE_INFINITY
  let count = 0
  let refused = 0
  for (const at of [...arrivals].sort((a, b) => a - b)) {
    if (at - start >= 1000) {
      start = at
      count = 0
    }
    if (count >= limit) refused++
    else count++
  }
  return refused
}

/** Refusals a sliding window (the last 1000 ms, counting only what it let in) makes of `arrivals`. */
const slidingRefusals = (arrivals: ReadonlyArray<number>, limit: number): number => {
  const kept: Array<number> = []
  let first = 0
  let refused = 0
  for (const at of [...arrivals].sort((a, b) => a - b)) {
    while (first < kept.length && kept[first]! <= at - 1000) first++
    if (kept.length - first >= limit) refused++
    else kept.push(at)
  }
  return refused
}

/** A pinned sequence in [0, 1): the delays are the same on every run. */
const pinned = (seed: number) => {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    return state / 2_147_483_648
  }
}

/** Starts `count` takes at once, steps the clock until all started, and returns their start times in order. */
const run = (limiter: RateLimiter.RateLimiterShape, count: number) =>
  Effect.gen(function*() {
    const starts: Array<number> = []
    const fibers = yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      () => Effect.fork(Effect.zipRight(limiter.take(path), Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => starts.push(at)))))
    )
    for (let step = 0; step < 10_000 && starts.length < count; step++) {
      yield* TestClock.adjust(step % 20 === 19 ? "70 millis" : step % 3 === 0 ? "2 millis" : "11 millis")
    }
    yield* Effect.forEach(fibers, Fiber.join, { discard: true })
    return starts
  })

describe("RateLimiter even pace against cloro's windows", () => {
  it("the window models refuse what they should (the checkers themselves can fail)", () => {
    expect(fixedRefusals([0, 1, 2, 999, 1000, 1001], 2)).toBe(2)
    expect(slidingRefusals([0, 1, 2, 999, 1000, 1001], 2)).toBe(2)
    // a fixed window reopens at 1100; the sliding one still counts 600 then
    expect(fixedRefusals([0, 600, 1100, 1200], 2)).toBe(0)
    expect(slidingRefusals([0, 600, 1100, 1200], 2)).toBe(1)
    expect(slidingRefusals([0, 500, 1000, 1500], 2)).toBe(0)
  })

  it.scoped("600 at once at 100/s: ≥ 0.95 of the limit, 0 refusals in both modes with arrivals up to 25 ms late", () =>
    Effect.gen(function*() {
      const limit = 100
      const count = 600
      const limiter = yield* RateLimiter.make({ limit, pace: "even" })
      const starts = yield* run(limiter, count)
      const delay = pinned(16)
      const arrivals = starts.map((at) => at + 25 * delay())
      const last = Math.max(...arrivals)
      const share = count / (last / 1000) / limit
      console.log(
        `even pace, ${count} at ${limit}/s: last start at ${Math.max(...starts)} ms, share ${share.toFixed(3)}, ` +
          `refused: fixed ${fixedRefusals(arrivals, limit)}, sliding ${slidingRefusals(arrivals, limit)}`
      )
      expect(fixedRefusals(arrivals, limit)).toBe(0)
      expect(slidingRefusals(arrivals, limit)).toBe(0)
      expect(share).toBeGreaterThanOrEqual(0.95)
      // the same arrivals under the burst pace (all of a window at once) would be refused in a sliding window
      const burst = yield* RateLimiter.make({ limit })
      const bursty = (yield* run(burst, count)).map((at) => at + 25 * delay())
      expect(slidingRefusals(bursty, limit)).toBeGreaterThan(0)
    }))

  it.scoped("a 'none left' our own starts explain, even a response later, holds nothing; any other a window", () =>
    Effect.gen(function*() {
      const limit = 20
      const limiter = yield* RateLimiter.make({ limit, pace: "even" })
      const startAt = Effect.zipRight(limiter.take(path), Clock.currentTimeMillis)
      // a full window of our own starts (the last at 927 ms); at 1100, 173 ms later, the server says none left
      const starts = yield* run(limiter, limit)
      expect(Math.max(...starts)).toBeLessThan(1000)
      yield* TestClock.setTime(1100)
      yield* limiter.learn(path, { remaining: 0 })
      // the log allows the next start from 1030 on: it starts at once, not a window later
      expect(yield* startAt).toBe(1100)

      // a "none left" with few starts of ours behind it: someone else uses the key, hold a whole window
      const other = yield* RateLimiter.make({ limit, pace: "even" })
      yield* other.take(path)
      const from = yield* Clock.currentTimeMillis
      yield* other.learn(path, { remaining: 0 })
      const waiting = yield* Effect.fork(Effect.zipRight(other.take(path), Clock.currentTimeMillis))
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(waiting)) - from).toBeGreaterThanOrEqual(1030)
    }))
})

/**
 * Fires `count` calls at once through `permit`: each is "sent" when its fiber
 * runs, answered a pinned 1-20 ms later, and reaches the server at its send
 * or at its answer (pinned at random: the widest spread a request's trip can
 * have). Steps the clock unevenly, with stalls, until all are answered.
 */
const answered = (limiter: RateLimiter.RateLimiterShape, count: number, seed: number) =>
  Effect.gen(function*() {
    const random = pinned(seed)
    const arrivals: Array<number> = []
    const answers: Array<number> = []
    const call = (i: number) => {
      const latency = 1 + Math.floor(19 * random())
      const late = random() < 0.5
      return Effect.scoped(Effect.gen(function*() {
        const permit = limiter.permit
        if (permit === undefined) return yield* Effect.dieMessage("the in-memory limiter offers permit")
        yield* permit(path)
        const sent = yield* Clock.currentTimeMillis
        yield* Effect.sleep(latency)
        const answer = yield* Clock.currentTimeMillis
        arrivals[i] = late ? answer : sent
        answers[i] = answer
      }))
    }
    const fibers = yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => Effect.fork(call(i)))
    for (let step = 0; step < 20_000 && answers.filter((at) => at !== undefined).length < count; step++) {
      yield* TestClock.adjust(step % 20 === 19 ? "70 millis" : step % 3 === 0 ? "1 millis" : "7 millis")
    }
    yield* Effect.forEach(fibers, Fiber.join, { discard: true })
    return { arrivals, last: Math.max(...answers) }
  })

describe("RateLimiter permit: a start counts until a window after its answer", () => {
  for (const pace of ["burst", "even"] as const) {
    it.scoped(`${pace} pace, 600 at once at 100/s, arriving anywhere between send and answer: 0 refusals in both modes, ≥ 0.95 of the limit`, () =>
      Effect.gen(function*() {
        const limit = 100
        const count = 600
        const limiter = yield* RateLimiter.make({ limit, pace })
        const { arrivals, last } = yield* answered(limiter, count, 21)
        const share = count / (last / 1000) / limit
        console.log(
          `permit, ${pace} pace, ${count} at ${limit}/s: last answer at ${last} ms, share ${share.toFixed(3)}, ` +
            `refused: fixed ${fixedRefusals(arrivals, limit)}, sliding ${slidingRefusals(arrivals, limit)}`
        )
        expect(fixedRefusals(arrivals, limit)).toBe(0)
        expect(slidingRefusals(arrivals, limit)).toBe(0)
        // a perfect limiter would end at 5 s (1.2): the burst gets close, the even pace spends its spacing
        expect(share).toBeGreaterThanOrEqual(pace === "burst" ? 1.1 : 0.95)
      }))
  }

  it.scoped("the same trips counted from admission alone (take) are refused by a sliding window", () =>
    Effect.gen(function*() {
      const limit = 100
      const limiter = yield* RateLimiter.make({ limit })
      const bare: RateLimiter.RateLimiterShape = {
        ...limiter,
        permit: (p) => limiter.take(p)
      }
      const { arrivals } = yield* answered(bare, 600, 21)
      expect(slidingRefusals(arrivals, limit)).toBeGreaterThan(0)
    }))

  it.scoped("a slow call holds its place until a window after its answer, however long it runs", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 2 })
      const permit = limiter.permit
      if (permit === undefined) return yield* Effect.dieMessage("the in-memory limiter offers permit")
      // two slow calls take the window at 0 and are answered at 15 s
      const slow = Effect.scoped(Effect.zipRight(permit(path), Effect.sleep("15 seconds")))
      yield* Effect.forkScoped(slow)
      yield* Effect.forkScoped(slow)
      yield* TestClock.adjust("1 millis")
      const third = yield* Effect.fork(Effect.zipRight(limiter.take(path), Clock.currentTimeMillis))
      yield* TestClock.adjust("15999 millis")
      expect(yield* Fiber.poll(third)).toEqual(Option.none())
      yield* TestClock.adjust("1 seconds")
      // a window and a millisecond (a server clock counting whole milliseconds) after the answers
      expect(yield* Fiber.join(third)).toBe(16_001)
    }))

  it.scoped("an answered start frees its place a window after its answer, not after its admission", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 1 })
      const permit = limiter.permit
      if (permit === undefined) return yield* Effect.dieMessage("the in-memory limiter offers permit")
      // admitted at 0, answered at 300
      yield* Effect.scoped(Effect.zipRight(permit(path), Effect.sleep("300 millis"))).pipe(Effect.fork)
      yield* TestClock.adjust("300 millis")
      const next = yield* Effect.fork(Effect.zipRight(limiter.take(path), Clock.currentTimeMillis))
      yield* TestClock.adjust("1000 millis")
      expect(yield* Fiber.poll(next)).toEqual(Option.none())
      yield* TestClock.adjust("10 millis")
      // a window and a millisecond after the answer (a server clock counting whole milliseconds)
      expect(yield* Fiber.join(next)).toBe(1301)
    }))
})

/**
 * A server that counts as cloro's windows do, online: `arrive(at)` (times in
 * order) says whether it lets the request in and what `X-RateLimit-Remaining`
 * it answers.
 */
const serverWindow = (mode: "fixed" | "sliding", limit: number) => {
  let start = Number.NEGATIVE_INFINITY
  let count = 0
  const kept: Array<number> = []
  let refused = 0
  const arrive = (at: number): { readonly allowed: boolean; readonly remaining: number } => {
    if (mode === "fixed") {
      if (at - start >= 1000) {
        start = at
        count = 0
      }
    } else {
      while (kept.length > 0 && kept[0]! <= at - 1000) kept.shift()
      count = kept.length
    }
    if (count >= limit) {
      refused++
      return { allowed: false, remaining: 0 }
    }
    count++
    if (mode === "sliding") kept.push(at)
    return { allowed: true, remaining: limit - count }
  }
  return { arrive, refused: () => refused }
}

/**
 * Fires `count` calls at once through `withPermit` against a server that
 * handles one request at a time (`serviceMillis` each: a request arrives,
 * and is counted, when the server gets to it) and a client that reads each
 * answer a pinned 0-`lagMillis` late (a busy event loop). With `read`, the
 * limiter is told each answer's `X-RateLimit-*`.
 */
const served = (
  limiter: RateLimiter.RateLimiterShape,
  server: ReturnType<typeof serverWindow>,
  options: { readonly count: number; readonly limit: number; readonly serviceMillis: number; readonly lagMillis: number; readonly read: boolean }
) =>
  Effect.gen(function*() {
    const random = pinned(7)
    // times from this run's start (a second run in the same test starts where the clock stands)
    const origin = yield* Clock.currentTimeMillis
    let busyUntil = 0
    const arrivals: Array<number> = []
    let answered = 0
    let last = 0
    const withPermit = limiter.withPermit
    if (withPermit === undefined) return yield* Effect.dieMessage("the in-memory limiter offers withPermit")
    const exchange = Effect.gen(function*() {
      const sent = (yield* Clock.currentTimeMillis) - origin
      const arrival = Math.max(sent, busyUntil)
      busyUntil = arrival + options.serviceMillis
      arrivals.push(arrival)
      const decision = server.arrive(arrival)
      yield* Effect.sleep(busyUntil + Math.floor(options.lagMillis * random()) - sent)
      return { limit: options.limit, remaining: decision.remaining }
    })
    const call = Effect.tap(
      options.read
        ? withPermit(path, exchange, (exit) => Exit.isSuccess(exit) ? exit.value : undefined)
        : withPermit(path, exchange),
      () =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            answered++
            last = now - origin
          }))
    )
    const fibers = yield* Effect.forEach(Array.from({ length: options.count }, (_, i) => i), () => Effect.fork(call))
    for (let step = 0; step < 20_000 && answered < options.count; step++) {
      yield* TestClock.adjust(step % 25 === 24 ? "20 millis" : "2 millis")
    }
    yield* Effect.forEach(fibers, Fiber.join, { discard: true })
    return { arrivals, last }
  })

describe("RateLimiter withPermit: what the server counted lets more start at once", () => {
  for (const mode of ["fixed", "sliding"] as const) {
    it.scoped(`${mode} window, 250 at once at 50/s, a server 4 ms a request, answers read 0-500 ms late: 0 refusals, never less than the occupancy alone`, () =>
      Effect.gen(function*() {
        const options = { count: 250, limit: 50, serviceMillis: 4, lagMillis: 500 }
        const shares: Array<number> = []
        for (const read of [false, true]) {
          const limiter = yield* RateLimiter.make({ limit: options.limit })
          const server = serverWindow(mode, options.limit)
          const { arrivals, last } = yield* served(limiter, server, { ...options, read })
          const share = options.count / (last / 1000) / options.limit
          shares.push(share)
          console.log(
            `${mode} window, ${read ? "with" : "without"} the reading: last answer at ${last} ms, share ${share.toFixed(3)}, ` +
              `refused ${server.refused()} (offline check: fixed ${fixedRefusals(arrivals, options.limit)}, sliding ${
                slidingRefusals(arrivals, options.limit)
              })`
          )
          expect(server.refused()).toBe(0)
          expect(mode === "fixed" ? fixedRefusals(arrivals, options.limit) : slidingRefusals(arrivals, options.limit)).toBe(0)
        }
        // A fixed window reopens whole: the first answer from the new one lets the rest of a window start
        // at once, instead of each a window after an answer read late. A sliding window frees what arrived
        // a window ago, no sooner, which the occupancy already follows: nothing lost.
        if (mode === "fixed") expect(shares[1]!).toBeGreaterThan(shares[0]! + 0.05)
        else expect(shares[1]!).toBeGreaterThanOrEqual(shares[0]! - 0.005)
      }))
  }
})

describe("RateLimiter withPermit: the credit, step by step", () => {
  /** A call through `withPermit` answered `millis` after its start with `reading`; resolves with its start time. */
  const callWith = (
    limiter: RateLimiter.RateLimiterShape,
    route: string,
    millis: number,
    reading: RateLimiter.RateLimiter.Reading | undefined
  ) => {
    const withPermit = limiter.withPermit
    if (withPermit === undefined) return Effect.dieMessage("the in-memory limiter offers withPermit")
    const body = Effect.zipLeft(Clock.currentTimeMillis, Effect.sleep(millis))
    return reading === undefined ? withPermit(route, body) : withPermit(route, body, () => reading)
  }

  // limit 2: two starts at 0, one answered at 10, one at 500; two more wait. The third starts at 1011 (a
  // window after the first answer) and is answered at 1021 saying the server counted only itself: nothing
  // of ours can reach the server after it but the fourth, so the fourth may start then, not at 1501.
  const scenario = (fourthRoute: string, read: boolean, secondAnswered = true) =>
    Effect.gen(function*() {
      const origin = yield* Clock.currentTimeMillis
      const limiter = yield* RateLimiter.make({ limit: 2 })
      const reading = (remaining: number) => read ? { limit: 2, remaining } : undefined
      const first = yield* Effect.fork(callWith(limiter, path, 10, reading(1)))
      const second = yield* Effect.fork(callWith(limiter, path, 500, secondAnswered ? reading(0) : undefined))
      yield* TestClock.adjust("1 millis")
      const third = yield* Effect.fork(callWith(limiter, path, 10, reading(1)))
      yield* TestClock.adjust("1 millis")
      const fourth = yield* Effect.fork(callWith(limiter, fourthRoute, 10, reading(1)))
      for (let step = 0; step < 200; step++) yield* TestClock.adjust("10 millis")
      return (yield* Effect.forEach([first, second, third, fourth], Fiber.join)).map((at) => at - origin)
    })

  it.scoped("an answer saying the server counted only itself lets the next start at once", () =>
    Effect.gen(function*() {
      expect(yield* scenario(path, true)).toEqual([0, 0, 1011, 1021])
      // without the reading, a window after the slow answer
      expect(yield* scenario(path, false)).toEqual([0, 0, 1011, 1501])
      // the slow one ended without an answer (a timeout, say): its request may still be on its way
      expect(yield* scenario(path, true, false)).toEqual([0, 0, 1011, 1501])
    }))

  it.scoped("the credit is for the answer's path: another path waits for the occupancy", () =>
    Effect.gen(function*() {
      expect(yield* scenario("/v1/monitor/google", true)).toEqual([0, 0, 1011, 1501])
    }))

  it.scoped("the server's larger limit lends nothing beyond ours", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make({ limit: 1 })
      // the server allows 5 and has counted only this one; ours allows 1
      const first = yield* Effect.fork(callWith(limiter, path, 10, { limit: 5, remaining: 4 }))
      yield* TestClock.adjust("1 millis")
      const second = yield* Effect.fork(callWith(limiter, path, 10, undefined))
      for (let step = 0; step < 200; step++) yield* TestClock.adjust("10 millis")
      expect(yield* Effect.forEach([first, second], Fiber.join)).toEqual([0, 1011])
    }))
})

describe("SlidingLog", () => {
  it("holds the last `capacity` admission times, under their sequence numbers across a resize", () => {
    const log = SlidingLog.make(3)
    expect([0, 1, 2].map((t) => SlidingLog.record(log, t))).toEqual([0, 1, 2])
    expect(SlidingLog.oldestOfFull(log)).toBe(0)
    SlidingLog.record(log, 105)
    // the oldest of the last three
    expect(SlidingLog.oldestOfFull(log)).toBe(1)
    // a bigger log is not full until it holds five
    const bigger = SlidingLog.resize(log, 5)
    expect(SlidingLog.oldestOfFull(bigger)).toBeUndefined()
    SlidingLog.record(bigger, 110)
    SlidingLog.record(bigger, 120)
    expect(SlidingLog.oldestOfFull(bigger)).toBe(1)
    // a smaller one keeps the newest
    expect(SlidingLog.oldestOfFull(SlidingLog.resize(bigger, 2))).toBe(110)
  })
})
