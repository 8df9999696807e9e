/**
 * Parts of the simulator that do not depend on how it is reached: the
 * configuration decoder and the shape of generated answers.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Engine from "../src/Engine.js"
import { CloroSimulator } from "../src/testing/index.js"
import * as Config from "../src/testing/internal/config.js"
import * as State from "../src/testing/internal/state.js"

describe("CloroSimulator.decodeConfig", () => {
  it.effect("fills cloro's defaults", () =>
    Effect.gen(function*() {
      const config = yield* CloroSimulator.decodeConfig({})
      expect(config.accounts).toEqual([
        { apiKey: "sk_test_simulator", plan: { concurrency: 10, credits: 37_500, perCycle: null, cycleResetsAt: null } }
      ])
      expect(config.rateLimit).toEqual({ mode: "perEndpoint", window: "fixed" })
      expect(config.concurrencyCode).toBe("CONCURRENCY_LIMIT_EXCEEDED")
      expect(config.queueLimit).toBe(100_000)
      expect(config.webhookRetryDelays).toEqual([120_000, 240_000, 480_000, 960_000])
    }))

  it.effect("reports unknown engines, unknown fields, NaN and duplicate keys", () =>
    Effect.gen(function*() {
      const input: unknown = {
        accounts: [{ apiKey: "sk_a" }, { apiKey: "sk_a" }],
        latency: { engines: { bard: { _tag: "Fixed", millis: 1 } }, default: { _tag: "Uniform", min: 5, max: 1 } },
        faults: { script: [{ engine: "bard", fault: "503" }, { fault: "stall", on: "task", engine: "gemini" }] },
        concurency: 3
      }
      const error = yield* Effect.flip(CloroSimulator.decodeConfig(input))
      expect(error._tag).toBe("SimulatorConfigError")
      expect(error.issues.map((i) => i.path)).toEqual(
        expect.arrayContaining(["latency.engines.bard", "latency.default.max", "faults.script.0.engine", "faults.script.1", "concurency"])
      )
      const duplicate = yield* Effect.flip(CloroSimulator.decodeConfig({ accounts: [{ apiKey: "sk_a" }, { apiKey: "sk_a" }] }))
      expect(duplicate.issues).toEqual([{ path: "accounts", message: "API keys must be unique" }])
    }))
})

describe("generated answers", () => {
  const flags = {
    chatgpt: { prompt: "best laptop to buy", country: "US", include: { markdown: true, html: true, rawResponse: true, searchQueries: true, ads: true, shopping: true } },
    perplexity: { prompt: "best laptop to buy", country: "US", include: { markdown: true, html: true, rawResponse: true } },
    gemini: { prompt: "best hotel in Lisbon", country: "US", include: { markdown: true, html: true, rawResponse: true } },
    copilot: { prompt: "best laptop to buy", country: "US", include: { markdown: true, html: true, rawResponse: true } },
    grok: { prompt: "best laptop to buy", country: "US", include: { markdown: true, html: true, rawResponse: true } },
    aimode: { prompt: "best coffee near me to buy", gl: "us", include: { markdown: true, html: true, expandProducts: true } },
    google: { query: "best laptop to buy", gl: "us", pages: 2, include: { html: true, aioverview: { markdown: true }, paaAioverview: true } },
    googleNews: { query: "laptops", gl: "us", pages: 2, include: { html: true } }
  } satisfies Record<Engine.EngineName, unknown>

  it.scoped("decode with every engine's result schema, with the fields the flags ask for", () =>
    Effect.gen(function*() {
      const sim = yield* CloroSimulator.make({ accounts: [{ apiKey: "sk_a", plan: { credits: 10_000 } }] })
      for (const engine of Engine.names) {
        const body = flags[engine]
        expect(Either.isRight(Engine.validate(engine, body)), engine).toBe(true)
        const response = yield* sim.handle({
          method: "POST",
          path: Engine.engines[engine].path,
          query: {},
          headers: { authorization: "Bearer sk_a" },
          body: JSON.stringify(body)
        })
        expect(response.status, `${engine}: ${response.body.slice(0, 300)}`).toBe(200)
        const result: unknown = JSON.parse(response.body).result
        const decoded = Engine.decodeResult(engine, result)
        expect(Either.isRight(decoded), `${engine}: ${Either.isLeft(decoded) ? String(decoded.left) : ""}`).toBe(true)
        expect(result).toHaveProperty("html")
      }
    }))
})

describe("latency", () => {
  const latencies = (distribution: CloroSimulator.Distribution, seed: number) =>
    Effect.gen(function*() {
      const sim = yield* CloroSimulator.make({
        seed,
        accounts: [{ apiKey: "sk_a", plan: { concurrency: 50, credits: 10_000 } }],
        latency: { default: CloroSimulator.fixed(0), engines: { gemini: distribution } }
      })
      const call = sim.handle({
        method: "POST",
        path: "/v1/monitor/gemini",
        query: {},
        headers: { authorization: "Bearer sk_a" },
        body: JSON.stringify({ prompt: "hello", country: "US" })
      })
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 40 }, () => call), { concurrency: "unbounded" }))
      yield* TestClock.adjust(Duration.seconds(10))
      const answers = yield* Fiber.join(fiber)
      return answers.map((a) => Number(a.headers["X-Latency-Ms"]))
    })

  it.scoped("draws each request's latency from its engine's distribution, on the Clock, reproducibly", () =>
    Effect.gen(function*() {
      const uniform = yield* latencies(CloroSimulator.uniform(100, 200), 1)
      expect(Math.min(...uniform)).toBeGreaterThanOrEqual(100)
      expect(Math.max(...uniform)).toBeLessThanOrEqual(200)
      expect(new Set(uniform).size).toBeGreaterThan(10)
      expect(yield* latencies(CloroSimulator.uniform(100, 200), 1)).toEqual(uniform)

      const skewed = [...(yield* latencies(CloroSimulator.logNormal(1_000, 0.5, 3_000), 2))].sort((a, b) => a - b)
      expect(Math.max(...skewed)).toBeLessThanOrEqual(3_000)
      const median = skewed[20] ?? 0
      expect(median).toBeGreaterThan(600)
      expect(median).toBeLessThan(1_600)
    }))
})

describe("the sliding rate window", () => {
  it("decides as counting every request it let in during the last 1000 ms, with handler times out of order", () => {
    // handlers start a little out of order: each `now` up to 20 ms behind the latest
    let seed = 5
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed / 2_147_483_648
    }
    const limit = 50
    let state = State.initial(Either.getOrThrow(Schema.decodeUnknownEither(Config.Config)({})))
    const kept: Array<number> = []
    let latest = 0
    let refused = 0
    for (let i = 0; i < 3_000; i++) {
      latest += Math.floor(4 * random())
      const now = latest - Math.floor(20 * random())
      const [decision, next] = State.takeRate(state, "acct", now, limit, "sliding")
      state = next
      // the reference: every stamp kept, unsorted, filtered on each request
      const inWindow = kept.filter((t) => t > now - 1000)
      kept.splice(0, kept.length, ...inWindow)
      const allowed = inWindow.length < limit
      if (allowed) kept.push(now)
      else refused++
      expect(decision).toEqual({ allowed, remaining: allowed ? limit - kept.length : 0 })
    }
    // the sequence reaches the limit, so both branches were compared
    expect(refused).toBeGreaterThan(100)
  })
})
