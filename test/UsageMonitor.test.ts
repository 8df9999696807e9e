import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { RateLimitExceeded } from "../src/CloroError.js"
import * as Usage from "../src/Usage.js"
import * as UsageMonitor from "../src/UsageMonitor.js"

const usage = (headers: Record<string, string>) => Usage.fromHeaders(headers)

describe("UsageMonitor", () => {
  it.effect("warns once when credits cross below the threshold", () =>
    Effect.gen(function*() {
      const monitor = yield* UsageMonitor.make({ log: false })
      for (const remaining of [150, 120, 99, 80, 50]) {
        yield* monitor.observe("/v1/monitor/chatgpt", usage({ "x-credits-remaining": String(remaining) }))
      }
      const warnings = yield* monitor.warnings
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatchObject({ _tag: "LowCredits", remaining: 99, threshold: 100 })
    }))

  it.effect("warns on concurrency above 80 % and on the rate nearly spent, with custom thresholds", () =>
    Effect.gen(function*() {
      const monitor = yield* UsageMonitor.make({ log: false, thresholds: { highConcurrency: 0.5, lowRateRemaining: 10 } })
      yield* monitor.observe("/p", usage({ "x-concurrency-limit": "10", "x-concurrency-current": "5" }))
      expect(yield* monitor.warnings).toHaveLength(0)
      yield* monitor.observe("/p", usage({ "x-concurrent-limit": "10", "x-concurrent-current": "6" }))
      yield* monitor.observe("/p", usage({ "x-ratelimit-limit": "500", "x-ratelimit-remaining": "9" }))
      const tags = (yield* monitor.warnings).map((w) => w._tag)
      expect(tags).toEqual(["HighConcurrency", "LowRateRemaining"])
    }))

  it.effect("fires again only after recovering and after the cooldown", () =>
    Effect.gen(function*() {
      const monitor = yield* UsageMonitor.make({ log: false, cooldown: "10 seconds" })
      const high = usage({ "x-concurrency-limit": "10", "x-concurrency-current": "10" })
      const low = usage({ "x-concurrency-limit": "10", "x-concurrency-current": "1" })
      yield* monitor.observe("/p", high)
      yield* monitor.observe("/p", low)
      yield* monitor.observe("/p", high) // recovered, but within the cooldown
      expect(yield* monitor.warnings).toHaveLength(1)
      yield* TestClock.adjust("11 seconds")
      yield* monitor.observe("/p", high) // not re-armed since the last recovery? it was: fires
      expect(yield* monitor.warnings).toHaveLength(2)
      yield* monitor.observe("/p", high) // still high, no recovery in between
      yield* TestClock.adjust("11 seconds")
      yield* monitor.observe("/p", high)
      expect(yield* monitor.warnings).toHaveLength(2)
    }))

  it.scoped("publishes events on a stream, 429s included", () =>
    Effect.gen(function*() {
      const monitor = yield* UsageMonitor.make({ log: false })
      const subscription = yield* monitor.subscribe
      yield* monitor.recordError("/v1/credits", new RateLimitExceeded({ message: "slow down", status: 429 }))
      yield* monitor.observe("/p", usage({ "x-credits-remaining": "3" }))
      const events = Chunk.toReadonlyArray(yield* Queue.takeAll(subscription))
      expect(events.map((e) => e._tag)).toEqual(["LimitHit", "LowCredits"])
    }))

  it.effect("refuses nonsense thresholds", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(UsageMonitor.make({ thresholds: { highConcurrency: 1.5 } }))
      expect(error._tag).toBe("UsageMonitorConfigError")
      const cooldown = yield* Effect.flip(UsageMonitor.make({ cooldown: Duration.infinity }))
      expect(cooldown._tag).toBe("UsageMonitorConfigError")
    }))

  it.effect("keeps the metrics up to date: balance, slots, 429s by code, retries and spend", () =>
    Effect.gen(function*() {
      const monitor = yield* UsageMonitor.make({ log: false })
      const { metrics } = UsageMonitor
      const limitHits = Metric.tagged(metrics.limitHits, "error.type", "RateLimitExceeded")
      const retries = Metric.tagged(metrics.retries, "error.type", "RateLimitExceeded")
      const spend = Metric.tagged(metrics.creditsSpent, "cloro.engine", "chatgpt")
      const before = {
        hits: (yield* Metric.value(limitHits)).count,
        retries: (yield* Metric.value(retries)).count,
        spend: (yield* Metric.value(spend)).count
      }
      const error = new RateLimitExceeded({ message: "slow down", status: 429 })
      yield* monitor.observe("/p", usage({ "x-credits-remaining": "4321", "x-concurrency-current": "7", "x-concurrency-limit": "10" }))
      yield* monitor.recordError("/p", error)
      yield* monitor.recordRetry("/p", error)
      yield* monitor.recordSpend("chatgpt", 7)
      expect((yield* Metric.value(metrics.creditsRemaining)).value).toBe(4321)
      expect((yield* Metric.value(metrics.slotsInUse)).value).toBe(7)
      expect((yield* Metric.value(limitHits)).count - before.hits).toBe(1)
      expect((yield* Metric.value(retries)).count - before.retries).toBe(1)
      expect((yield* Metric.value(spend)).count - before.spend).toBe(7)
    }))
})

describe("UsageMonitor traps", () => {
  const limit429 = new RateLimitExceeded({ message: "slow down", status: 429 })

  it.effect("trap: a 429 writes a log line, as the README says warnings are logs", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ message }) => {
        lines.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
      const monitor = yield* UsageMonitor.make()
      yield* monitor.recordError("/v1/monitor/chatgpt", limit429).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      expect(lines.some((line) => line.includes("429") && line.includes("/v1/monitor/chatgpt"))).toBe(true)
    }))

  it.scoped("trap: monitor.events loses nothing that happened before a subscriber attached (replay)", () =>
    Effect.gen(function*() {
      const monitor = yield* UsageMonitor.make({ log: false })
      yield* monitor.recordError("/v1/monitor/chatgpt", limit429)
      const early = yield* monitor.subscribe
      expect((yield* Queue.takeAll(early)).pipe(Chunk.map((e) => e._tag), Chunk.toReadonlyArray)).toEqual(["LimitHit"])
      const fromStream = yield* monitor.events.pipe(Stream.take(1), Stream.runCollect)
      expect(Chunk.toReadonlyArray(fromStream).map((e) => e._tag)).toEqual(["LimitHit"])
    }))

  it.effect("trap: the warnings list is bounded (maxWarnings, newest kept)", () =>
    Effect.gen(function*() {
      const monitor = yield* UsageMonitor.make({ log: false, cooldown: 0, maxWarnings: 5 })
      for (let i = 0; i < 40; i++) {
        yield* monitor.observe("/v1/monitor/chatgpt", usage({ "X-Credits-Remaining": "10" }))
        yield* monitor.observe("/v1/monitor/chatgpt", usage({ "X-Credits-Remaining": "1000" }))
      }
      const warnings = yield* monitor.warnings
      expect(warnings).toHaveLength(5)
    }))

  it.effect("trap: cooldown \"-5 seconds\" is refused, as every duration option refuses a negative", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(UsageMonitor.make({ cooldown: "-5 seconds" }))
      expect(error.message).toContain("cooldown must not be negative")
    }))
})
