/**
 * The typed client against the simulator: every answer the simulator gives
 * must decode with the client's schemas, and every error must arrive as the
 * client's typed error. This is what a user's own pipeline test looks like.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as Engine from "../src/Engine.js"
import * as Pricing from "../src/Pricing.js"
import { CloroSimulator } from "../src/testing/index.js"

const KEY = "sk_test_client"

const account = (concurrency: number, credits: number) => ({ apiKey: KEY, plan: { concurrency, credits } })

/** A bare client (no limiters, no retries) answered by an in-memory simulator. */
const inMemory = (config: CloroSimulator.ConfigInput) =>
  Layer.provideMerge(
    CloroClient.layer.pipe(Layer.provide(Layer.merge(CloroConfig.layer({ apiKey: KEY }), Cloro.layerBare))),
    CloroSimulator.layer(config)
  )

const requests = {
  chatgpt: { prompt: "best CRM to buy", country: "US", include: { markdown: true, shopping: true, searchQueries: true } },
  perplexity: { prompt: "best CRM to buy", country: "DE" },
  gemini: { prompt: "best CRM to buy", country: "FR", include: { html: true } },
  copilot: { prompt: "best CRM to buy", country: "US", state: "CA" },
  grok: { prompt: "best CRM to buy", country: "GB" },
  aimode: { prompt: "best running shoes to buy", gl: "us", include: { expandProducts: true } },
  google: { query: "best crm", gl: "us", pages: 2, include: { aioverview: { markdown: true } } },
  googleNews: { query: "crm", country: "US" }
} satisfies { readonly [N in Engine.EngineName]: Engine.Request<N> }

describe("CloroSimulator with CloroClient", () => {
  it.scoped("every monitor method decodes the simulator's answer, and usage reports the documented price", () =>
    Effect.gen(function*() {
      const cloro = yield* CloroClient.CloroClient
      const sim = yield* CloroSimulator.CloroSimulator
      const calls = [
        cloro.monitor.chatgpt(requests.chatgpt),
        cloro.monitor.perplexity(requests.perplexity),
        cloro.monitor.gemini(requests.gemini),
        cloro.monitor.copilot(requests.copilot),
        cloro.monitor.grok(requests.grok),
        cloro.monitor.aimode(requests.aimode),
        cloro.monitor.google(requests.google),
        cloro.monitor.googleNews(requests.googleNews)
      ]
      const answers = yield* Effect.all(calls)
      const charged = answers.map((a) => a.usage.credits.charged)
      expect(charged).toEqual([
        9,
        6,
        6,
        9,
        6,
        // AI Mode: +1 per product cluster the answer returned
        Pricing.charge("aimode", requests.aimode, {
          mode: "sync",
          productClusters: answers[5] !== undefined && "productResults" in answers[5].result
            ? answers[5].result.productResults?.length
            : 0
        }),
        9,
        5
      ])
      const chatgpt = yield* cloro.monitor.chatgpt(requests.chatgpt)
      expect(chatgpt.result.text.length).toBeGreaterThan(0)
      expect(chatgpt.result.markdown).toBeDefined()
      expect(chatgpt.usage.concurrency).toEqual({ limit: 5, current: 1, remaining: 4 })
      expect(chatgpt.usage.requestId).toMatch(/^[0-9a-f-]{36}$/)
      const goto = yield* cloro.monitor.googleGoto({ url: "https://www.google.com/url?q=https%3A%2F%2Fexample.com%2F" })
      expect(goto.result.url).toBe("https://example.com/")
      const credits = yield* cloro.account.credits()
      expect(credits.result.remaining).toBe(yield* sim.balance(KEY))
      expect((yield* cloro.account.states("US")).result).toHaveLength(51)
      expect((yield* cloro.account.countries("chatgpt")).result).not.toContain("CN")
    }).pipe(Effect.provide(inMemory({ accounts: [account(5, 10_000)] }))))

  it.scoped("limits and faults arrive as the client's typed errors", () =>
    Effect.gen(function*() {
      const cloro = yield* CloroClient.CloroClient
      const sim = yield* CloroSimulator.CloroSimulator
      const slow = { prompt: "slow", country: "US" } as const
      const fiber = yield* Effect.fork(
        Effect.all([cloro.monitor.gemini(slow), cloro.monitor.gemini(slow)], { concurrency: "unbounded", mode: "either" })
      )
      yield* TestClock.adjust(Duration.seconds(1))
      const [first, second] = yield* Fiber.join(fiber)
      const rejected = [first, second].find((r) => r?._tag === "Left")
      expect(rejected?._tag === "Left" && rejected.left).toMatchObject({ _tag: "ConcurrentLimitExceeded", limit: 1 })

      yield* sim.injectFaults([
        { engine: "gemini", fault: "503", retryAfter: 3 },
        { path: "/v1/credits", fault: "reset" },
        { path: "/v1/async/status", fault: "429" }
      ])
      expect(yield* Effect.flip(cloro.monitor.gemini(slow))).toMatchObject({ _tag: "ServiceUnavailable" })
      const unavailable = yield* sim.counters
      expect(unavailable.requests["/v1/monitor/gemini"]).toMatchObject({ "503": 1 })
      expect((yield* Effect.flip(cloro.account.credits()))._tag).toBe("TransportError")
      expect((yield* Effect.flip(cloro.tasks.status()))._tag).toBe("RateLimitExceeded")

      yield* sim.setBalance(KEY, 1)
      const poor = yield* Effect.flip(cloro.monitor.perplexity({ prompt: "x", country: "US" }))
      expect(poor._tag).toBe("InsufficientCredits")
    }).pipe(
      Effect.provide(inMemory({ accounts: [account(1, 1_000)], latency: { default: CloroSimulator.fixed(1_000) } }))
    ))

  it.scoped("tasks: submit, batch, poll to COMPLETED with a typed result, status and clear", () =>
    Effect.gen(function*() {
      const cloro = yield* CloroClient.CloroClient
      const submitted = yield* cloro.tasks.submit({
        taskType: "CHATGPT",
        payload: requests.chatgpt,
        priority: 3,
        idempotencyKey: "job-1"
      })
      expect(submitted.result.task.status).toBe("QUEUED")
      expect(submitted.result.credits.creditsToCharge).toBe(7)
      const batch = yield* cloro.tasks.submitBatch([
        { taskType: "GOOGLE", payload: requests.google },
        { taskType: "CHATGPT", payload: requests.chatgpt, idempotencyKey: "job-1" }
      ])
      expect(batch.result.summary).toEqual({ total: 2, succeeded: 1, failed: 1 })
      yield* TestClock.adjust(Duration.millis(1))
      const status = yield* cloro.tasks.status()
      expect(status.result.processingTasks + status.result.queuedTasks).toBe(2)
      yield* TestClock.adjust(Duration.seconds(2))
      const state = yield* cloro.tasks.get(submitted.result.task.id)
      expect(state.result.status).toBe("COMPLETED")
      if (state.result.status === "COMPLETED" && state.result.taskType === "CHATGPT") {
        expect(state.result.result.text.length).toBeGreaterThan(0)
        expect(state.result.credits.creditsCharged).toBe(7)
      }
      const cleared = yield* cloro.tasks.clearQueue()
      expect(cleared.result.cleared).toBe(0)
      const missing = yield* Effect.flip(cloro.tasks.get("00000000-0000-4000-8000-000000000000"))
      expect(missing._tag).toBe("NotFound")
    }).pipe(
      Effect.provide(inMemory({ accounts: [account(2, 1_000)], latency: { default: CloroSimulator.fixed(1_000) } }))
    ))

  it.scopedLive("the same client talks to the loopback server", () =>
    Effect.gen(function*() {
      const sim = yield* CloroSimulator.CloroSimulator
      const cloro = yield* CloroClient.make.pipe(
        Effect.provide(CloroConfig.layer({ apiKey: KEY, baseUrl: sim.url })),
        Effect.provide(FetchHttpClient.layer), Effect.provide(Cloro.layerBare))
      const answer = yield* cloro.monitor.perplexity(requests.perplexity)
      expect(answer.usage.credits).toEqual({ charged: 6, remaining: 94 })
      expect(answer.result.sources.length).toBeGreaterThan(0)
      const missingKey = yield* Effect.flip(
        CloroClient.make.pipe(
          Effect.flatMap((c) => c.account.credits()),
          Effect.provide(CloroConfig.layer({ apiKey: "sk_test_nobody", baseUrl: sim.url })),
          Effect.provide(FetchHttpClient.layer), Effect.provide(Cloro.layerBare))
      )
      expect(missingKey).toMatchObject({ _tag: "Unauthorized", code: "INVALID_OR_EXPIRED_API_KEY" })
    }).pipe(Effect.provide(CloroSimulator.layerServer({ accounts: [account(2, 100)] }))))
})
