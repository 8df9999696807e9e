/**
 * The fault soak of RELIABILITY.md: 10,000 sync calls through the full client
 * (`Cloro.layer`) against the in-memory simulator injecting every fault it
 * knows, on TestClock. Afterwards nothing is lost, nothing is held, nothing
 * overshoots, and the ledger equals what the simulator charged.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import { type CloroError, ServerError } from "../src/CloroError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"
import * as Credits from "../src/Credits.js"
import * as Pricing from "../src/Pricing.js"
import { CloroSimulator } from "../src/testing/index.js"

const KEY = "sk_test_soak"
const CALLS = Number(process.env["SOAK_CALLS"] ?? 10_000)
const PLAN_LIMIT = 20
const MAX_RETRIES = 4

/** 14 % of requests fault: 10 % 5xx (some 503 with Retry-After), 2 % resets, 1 % stalls, 1 % bad headers. */
const faultMix: readonly [CloroSimulator.FaultKind, ...Array<CloroSimulator.FaultKind>] = [
  "500",
  ...Array.from({ length: 7 }, () => "500" as const),
  ...Array.from({ length: 4 }, () => "502" as const),
  ...Array.from({ length: 8 }, () => "503" as const),
  ...Array.from({ length: 4 }, () => "reset" as const),
  ...Array.from({ length: 2 }, () => "stall" as const),
  "malformedHeaders",
  "missingHeaders"
]

const engines = ["chatgpt", "perplexity", "gemini", "copilot", "grok", "aimode", "google"] as const

const sync = { mode: "sync" } as const
/** What cloro prices call `i` at (its request has no add-ons). */
const estimateOf = (i: number): number => {
  const engine = engines[i % engines.length]!
  return engine === "google"
    ? Pricing.estimate("google", { query: `soak ${i}`, country: "US" }, sync)
    : Pricing.estimate(engine, { prompt: `soak ${i}`, country: "US" }, sync)
}

const call = (client: CloroClient.CloroClientShape, i: number): Effect.Effect<unknown, CloroError> => {
  const engine = engines[i % engines.length]!
  const tag = `t${i % 3}`
  switch (engine) {
    case "google":
      return client.monitor.google({ query: `soak ${i}`, country: "US" }, { tag })
    case "aimode":
      return client.monitor.aimode({ prompt: `soak ${i}`, country: "US" }, { tag })
    case "chatgpt":
      return client.monitor.chatgpt({ prompt: `soak ${i}`, country: "US" }, { tag })
    case "perplexity":
      return client.monitor.perplexity({ prompt: `soak ${i}`, country: "US" }, { tag })
    case "gemini":
      return client.monitor.gemini({ prompt: `soak ${i}`, country: "US" }, { tag })
    case "copilot":
      return client.monitor.copilot({ prompt: `soak ${i}`, country: "US" }, { tag })
    case "grok":
      return client.monitor.grok({ prompt: `soak ${i}`, country: "US" }, { tag })
  }
}

describe("fault soak", () => {
  it.effect("jittered retries sleep whole milliseconds, so Clock.currentTimeNanos under TestClock never throws", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ base: "333 millis", factor: 1.7, maxRetries: 6, budget: false })
      // Each attempt reads the monotonic clock as the RateLimiter does.
      const failing = Effect.zipRight(
        Clock.currentTimeNanos,
        Effect.fail(new ServerError({ message: "boom", status: 500, code: "INTERNAL_SERVER_ERROR" }))
      )
      const fiber = yield* Effect.fork(Effect.exit(Effect.retry(failing, policy.schedule)))
      yield* TestClock.adjust("5 minutes")
      const exit = yield* Fiber.join(fiber)
      // Before the fix a fractional sleep left TestClock at a fractional instant and BigInt threw: a defect.
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(false)
      expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)._tag === "Some").toBe(true)
      expect(Number.isInteger(yield* Clock.currentTimeMillis)).toBe(true)
    }))

  it.scoped(`${CALLS} sync calls under 14 % faults and two 429 bursts: nothing lost, held or overspent`, () =>
    Effect.gen(function*() {
      const simLayer = CloroSimulator.layer({
        seed: 14,
        requestLogLimit: 200_000,
        latency: { default: { _tag: "Uniform", min: 50, max: 150 } },
        accounts: [{ apiKey: KEY, id: "soak", plan: { concurrency: PLAN_LIMIT, credits: 10_000_000 } }],
        faults: { rate: { rate: 0.14, faults: faultMix, retryAfter: 2, stallMillis: 20_000 } }
      })
      const context = yield* Layer.build(
        Cloro.layer({ apiKey: KEY, monitorTimeout: "5 seconds" }, {
          monitor: "silent",
          retry: { maxRetries: MAX_RETRIES, budget: false }
        }).pipe(Layer.provideMerge(simLayer))
      )
      const client = Context.get(context, CloroClient.CloroClient)
      const sim = Context.get(context, CloroSimulator.CloroSimulator)
      const limiter = Context.get(context, ConcurrencyLimiter.ConcurrencyLimiter)
      const ledger = Context.get(context, Credits.Credits)

      const fiber = yield* Effect.fork(
        Effect.forEach(Array.from({ length: CALLS }, (_, i) => i), (i) => Effect.exit(call(client, i)), {
          concurrency: 500
        })
      )
      // Two bursts of 429s, once the run is under way and again later.
      // About a quarter and half-way into the run (CALLS x 100 ms / PLAN_LIMIT of virtual time, in 100 ms steps).
      const burstAt = [Math.ceil(CALLS / PLAN_LIMIT / 4), Math.ceil(CALLS / PLAN_LIMIT / 2)] as const
      let burstsInjected = 0
      let steps = 0
      while (fiber.unsafePoll() === null) {
        yield* TestClock.adjust(Duration.millis(100))
        steps++
        if ((steps === burstAt[0] || steps === burstAt[1]) && burstsInjected < 2) {
          burstsInjected++
          yield* sim.injectFaults([{ fault: "429", code: "CONCURRENCY_LIMIT_EXCEEDED", times: 25 }])
        }
        if (steps > 200_000) break
      }
      const exits = yield* Fiber.join(fiber)

      const results = exits.filter(Exit.isSuccess).length
      // The error channel is typed as CloroError, so a failure (not a defect or interruption) is a typed one.
      const typedFailures = exits.filter((exit) => Exit.isFailure(exit) && Cause.failureOption(exit.cause)._tag === "Some" && !Cause.isDie(exit.cause) &&
        !Cause.isInterrupted(exit.cause)
      ).length
      const defects = exits.filter((exit) => Exit.isFailure(exit) && Cause.isDie(exit.cause)).length
      for (const exit of exits) {
        if (Exit.isFailure(exit) && Cause.isDie(exit.cause)) console.log(Cause.pretty(exit.cause))
      }
      const failuresByTag: Record<string, number> = {}
      for (const exit of exits) {
        if (Exit.isFailure(exit)) {
          const failure = Cause.failureOption(exit.cause)
          const tag = failure._tag === "Some" ? failure.value._tag : "defect"
          failuresByTag[tag] = (failuresByTag[tag] ?? 0) + 1
        }
      }

      // A call that timed out was sent: cloro may have billed it, so its estimate is counted apart.
      let timeouts = 0
      let timeoutsMayBeCharged = 0
      let cutsMayBeCharged = 0
      let expectedMayBeCharged = 0
      exits.forEach((exit, i) => {
        const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
        if (failure?._tag === "Some" && failure.value._tag === "Timeout") {
          timeouts++
          if (failure.value.mayBeCharged) timeoutsMayBeCharged++
          expectedMayBeCharged += estimateOf(i)
        }
        // A connection cut after the request was written may be billed too (the simulator's resets).
        if (failure?._tag === "Some" && failure.value._tag === "TransportError" && failure.value.mayBeCharged) {
          cutsMayBeCharged++
          expectedMayBeCharged += estimateOf(i)
        }
      })

      const counters = yield* sim.counters
      const sent = counters.requestLog.length
      const snapshot = yield* ledger.snapshot
      const limiterStats = yield* limiter.stats

      console.log(
        `fault soak: ${CALLS} calls, ${results} results, ${typedFailures} typed failures ${JSON.stringify(failuresByTag)}, ` +
          `${defects} defects; ${sent} requests sent (${(sent / CALLS).toFixed(3)} per call, policy max ${
            MAX_RETRIES + 1
          }); ` +
          `429s ${JSON.stringify(counters.rejections)}; peak ${counters.peakConcurrency["soak"]} of ${PLAN_LIMIT}; ` +
          `ledger spent ${snapshot.spent} vs simulator charged ${counters.creditsCharged.total}; ` +
          `may be charged ${snapshot.mayBeCharged} (${timeouts} timeouts, ${cutsMayBeCharged} cut connections); ` +
          `reserved after ${snapshot.reserved}; slots in use after ${limiterStats.inUse}; virtual time ${steps / 10} s`
      )

      // Every call ended, as a result or a typed error; none died.
      expect(results + typedFailures).toBe(CALLS)
      expect(defects).toBe(0)
      expect(results).toBeGreaterThan(CALLS * 0.95)
      // Limits held.
      expect(counters.peakConcurrency["soak"]).toBeLessThanOrEqual(PLAN_LIMIT)
      expect(burstsInjected).toBe(2)
      // Nothing left held.
      expect(snapshot.reserved).toBe(0)
      expect(limiterStats.inUse).toBe(0)
      expect(limiterStats.waiting).toBe(0)
      expect(counters.inFlight["soak"] ?? 0).toBe(0)
      // The ledger is exact.
      expect(snapshot.spent).toBe(counters.creditsCharged.total)
      // ... and what it cannot know is counted apart, not dropped.
      expect(timeouts).toBeGreaterThan(0)
      expect(timeoutsMayBeCharged).toBe(timeouts)
      expect(cutsMayBeCharged).toBeGreaterThan(0)
      expect(snapshot.mayBeCharged).toBe(expectedMayBeCharged)
      // Retries stay within the policy.
      expect(sent).toBeLessThanOrEqual(CALLS * (MAX_RETRIES + 1))
    }), { timeout: 900_000 })
})
