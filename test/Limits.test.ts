/**
 * The whole pipeline (limiters, retries, ledger, monitor) against the
 * in-memory simulator, on TestClock: the promises of the limits issue.
 */
import { describe, expect, it } from "@effect/vitest"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import { type CloroError, ConcurrentLimitExceeded } from "../src/CloroError.js"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"
import * as Credits from "../src/Credits.js"
import * as Pipeline from "../src/internal/request/pipeline.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as Pricing from "../src/Pricing.js"
import * as Task from "../src/Task.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as UsageMonitor from "../src/UsageMonitor.js"
import { CloroSimulator } from "../src/testing/index.js"
import * as Layers from "./support/layers.js"
import * as MockHttp from "./support/mockHttp.js"

const KEY = "sk_test_limits"

interface Setup {
  readonly sim?: Omit<CloroSimulator.ConfigInput, "accounts">
  readonly plan?: { readonly concurrency?: number; readonly credits?: number }
  readonly options?: Cloro.CloroOptions
  readonly connection?: Omit<CloroConfig.CloroConfigOptions, "apiKey">
}

/** The simulator in memory and the full client pipeline in front of it. */
const setup = (config: Setup = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Layers.simulated({
      apiKey: KEY,
      sim: {
        ...config.sim,
        accounts: [{ apiKey: KEY, id: "acme", plan: { concurrency: 10, credits: 100_000, ...config.plan } }]
      },
      ...(config.connection === undefined ? {} : { connection: config.connection }),
      options: { monitor: "silent", ...config.options }
    }))
    return {
      client: Context.get(context, CloroClient.CloroClient),
      sim: Context.get(context, CloroSimulator.CloroSimulator),
      limiter: Context.get(context, ConcurrencyLimiter.ConcurrencyLimiter),
      rate: Context.get(context, RateLimiter.RateLimiter),
      ledger: Context.get(context, Credits.Credits),
      monitor: Context.get(context, UsageMonitor.UsageMonitor)
    }
  })

/** Runs `effect` in a fiber while the test clock moves forward in steps. */
const drive = <A, E>(effect: Effect.Effect<A, E>, totalMillis: number, stepMillis = 50) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let elapsed = 0; elapsed < totalMillis; elapsed += stepMillis) {
      yield* TestClock.adjust(Duration.millis(stepMillis))
    }
    return yield* Fiber.join(fiber)
  })

const ask = (client: CloroClient.CloroClientShape, i: number) =>
  client.monitor.perplexity({ prompt: `question ${i}`, country: "US" })

const rejectionCount = (counters: CloroSimulator.Counters) =>
  Object.values(counters.rejections).reduce((sum, n) => sum + n, 0)

describe("limits against the simulator", () => {
  it.scoped("with a configured limit of N, 10N unbounded requests peak at exactly N with no 429", () =>
    Effect.gen(function*() {
      const N = 5
      const { client, sim } = yield* setup({
        plan: { concurrency: N },
        sim: { latency: { default: { _tag: "Fixed", millis: 200 } } },
        options: { concurrency: { limit: N }, retry: "none" }
      })
      const results = yield* drive(
        Effect.forEach(Array.from({ length: 10 * N }, (_, i) => i), (i) => ask(client, i), { concurrency: "unbounded" }),
        10 * 200 * 2
      )
      expect(results).toHaveLength(10 * N)
      const counters = yield* sim.counters
      expect(counters.peakConcurrency["acme"]).toBe(N)
      expect(rejectionCount(counters)).toBe(0)
    }))

  it.scoped("with the limit unknown, it is learned and no 429 reaches the caller", () =>
    Effect.gen(function*() {
      const N = 8
      const { client, limiter, sim } = yield* setup({
        plan: { concurrency: N },
        sim: { latency: { default: { _tag: "Fixed", millis: 200 } } }
      })
      const results = yield* drive(
        Effect.forEach(Array.from({ length: 10 * N }, (_, i) => i), (i) => Effect.either(ask(client, i)), {
          concurrency: "unbounded"
        }),
        10_000
      )
      expect(results.filter(Either.isLeft)).toEqual([])
      const stats = yield* limiter.stats
      expect(stats.size).toBe(N)
      expect(stats.source).toBe("learned")
      const counters = yield* sim.counters
      expect(counters.peakConcurrency["acme"]).toBe(N)
      expect(rejectionCount(counters)).toBe(0)
    }))

  it.scoped("a limit configured too high is corrected by the first 429 and no 429 reaches the caller", () =>
    Effect.gen(function*() {
      const { client, limiter, sim } = yield* setup({
        plan: { concurrency: 4 },
        sim: { latency: { default: { _tag: "Fixed", millis: 200 } } },
        options: { concurrency: { limit: 10 }, retry: { jitter: false } }
      })
      const results = yield* drive(
        Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => Effect.either(ask(client, i)), {
          concurrency: "unbounded"
        }),
        20_000
      )
      expect(results.filter(Either.isLeft)).toEqual([])
      expect((yield* limiter.stats).size).toBe(4)
      // The server refused the first overshoot, and only that: afterwards the limiter knew.
      const counters = yield* sim.counters
      expect(counters.peakConcurrency["acme"]).toBe(4)
      expect(rejectionCount(counters)).toBeLessThanOrEqual(6)
    }))

  it.scoped("the rate stays within the bucket: no RATE_LIMIT_EXCEEDED from a 5/s server", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({
        sim: { rateLimit: { mode: "shared", limit: 5, window: "sliding" } },
        options: { rateLimit: { limit: 5 }, retry: "none" }
      })
      const results = yield* drive(
        Effect.forEach(
          Array.from({ length: 23 }, () => 0),
          () => Effect.either(client.account.countries()),
          { concurrency: "unbounded" }
        ),
        6_000
      )
      expect(results.filter(Either.isLeft)).toEqual([])
      expect((yield* sim.counters).rejections["RATE_LIMIT_EXCEEDED"] ?? 0).toBe(0)
    }))

  it.scoped("a 503's Retry-After is honoured before the retry", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ options: { retry: { base: "100 millis", jitter: false } } })
      yield* sim.injectFaults([{ fault: "503", path: "/v1/credits", retryAfter: 3 }])
      const fiber = yield* Effect.fork(client.account.credits())
      yield* TestClock.adjust("2900 millis")
      expect(fiber.unsafePoll()).toBeNull()
      expect((yield* sim.counters).requestLog.filter((e) => e.path === "/v1/credits")).toHaveLength(1)
      yield* TestClock.adjust("200 millis")
      const response = yield* Fiber.join(fiber)
      expect(response.result.remaining).toBe(100_000)
    }))

  it.scoped("the retry budget stops a storm when the server is down", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({
        options: {
          retry: { base: "10 millis", maxRetries: 10, jitter: false, budget: { capacity: 50, retryCost: 5 } }
        }
      })
      yield* sim.setFaultRate({ rate: 1, faults: ["500"], path: "/v1/credits" })
      const results = yield* drive(
        Effect.forEach(Array.from({ length: 20 }, () => 0), () => Effect.either(client.account.credits()), {
          concurrency: "unbounded"
        }),
        30_000,
        500
      )
      expect(results.every(Either.isLeft)).toBe(true)
      // 20 first attempts + at most 10 retries (50 tokens / 5), not 20 × 11.
      const sent = (yield* sim.counters).requestLog.filter((e) => e.path === "/v1/credits").length
      expect(sent).toBe(30)
    }))

  it.scoped("a forced 429 with retries off surfaces as ConcurrentLimitExceeded with its limit", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ plan: { concurrency: 3 }, options: { retry: "none" } })
      yield* sim.injectFaults([{ fault: "429", engine: "gemini", code: "CONCURRENCY_LIMIT_EXCEEDED" }])
      const error = yield* Effect.flip(client.monitor.gemini({ prompt: "hi", country: "US" }))
      expect(error._tag).toBe("ConcurrentLimitExceeded")
      if (error._tag === "ConcurrentLimitExceeded") expect(error.limit).toBe(3)
    }))

  it.scoped("the retries metric counts retries made, not the failure that ends them", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({
        options: { retry: { base: "10 millis", maxRetries: 1, jitter: false, budget: false } }
      })
      const retries = Metric.tagged(UsageMonitor.metrics.retries, "error.type", "ServerError")
      const before = (yield* Metric.value(retries)).count
      yield* sim.injectFaults([{ fault: "500", engine: "perplexity", times: 2 }])
      const error = yield* Effect.flip(drive(ask(client, 1), 1_000))
      expect(error._tag).toBe("ServerError")
      expect((yield* sim.counters).requestLog).toHaveLength(2)
      expect((yield* Metric.value(retries)).count - before).toBe(1)
    }))

  it.effect("a concurrency 429 is re-queued only when the size at admission explains it, not a size from before the wait", () =>
    Effect.gen(function*() {
      // The limiter had 3 slots when the call joined the line and 2 once it was admitted
      // (another call learned the limit meanwhile): a 429 saying 2 is then someone
      // else's use of the account, a matter for the retry schedule, not for the line.
      const size = yield* Ref.make(3)
      const slots: Pipeline.SlotGate = {
        withPermit: (effect) => Effect.zipRight(Ref.set(size, 2), effect),
        learn: (limit) => Ref.set(size, limit),
        size: Ref.get(size)
      }
      const sent = yield* Ref.make(0)
      const send = () =>
        Effect.zipRight(
          Ref.update(sent, (n) => n + 1),
          Effect.fail(new ConcurrentLimitExceeded({ message: "full", code: "CONCURRENCY_LIMIT_EXCEEDED", status: 429, limit: 2 }))
        )
      const error = yield* Effect.flip(Pipeline.run(
        {
          slots,
          rate: RateLimiter.unlimited,
          credits: yield* Credits.make(),
          monitor: yield* UsageMonitor.make({ log: false }),
          retry: RetryPolicy.none
        },
        send,
        { method: "POST", path: "/v1/monitor/gemini", kind: "monitor", decode: Either.right, timeout: Duration.seconds(1) },
        { estimate: 0, maxCost: 0, tag: undefined, engine: "gemini" }
      ))
      expect(error._tag).toBe("ConcurrentLimitExceeded")
      expect(yield* Ref.get(sent)).toBe(1)
    }))

  it.scoped("BudgetExceeded fires before any HTTP call", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ options: { credits: { budget: 10 } } })
      // perplexity sync = 4 + 2: the first fits, the second would take spend to 12
      yield* drive(ask(client, 1), 1_000)
      const error = yield* Effect.flip(ask(client, 2))
      expect(error._tag).toBe("BudgetExceeded")
      expect((yield* sim.counters).requestLog).toHaveLength(1)
    }))

  it.scoped("a known balance that cannot pay refuses before sending", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ plan: { credits: 8 } })
      yield* drive(ask(client, 1), 1_000) // costs 6, the answer says 2 remain
      const error = yield* Effect.flip(ask(client, 2))
      expect(error._tag).toBe("BudgetExceeded")
      expect((yield* sim.counters).requestLog).toHaveLength(1)
    }))

  it.scoped("the ledger equals the simulator's charged total, per tag too", () =>
    Effect.gen(function*() {
      const { client, ledger, sim } = yield* setup({ sim: { latency: { default: { _tag: "Fixed", millis: 50 } } } })
      const calls: ReadonlyArray<Effect.Effect<unknown, CloroError>> = [
        client.monitor.chatgpt({ prompt: "a", country: "US", include: { shopping: true } }, { tag: "alice" }),
        client.monitor.chatgpt({ prompt: "b", country: "US", state: "NY" }, { tag: "bob" }),
        client.monitor.google({ query: "c", country: "US", pages: 3, include: { aioverview: true } }, { tag: "alice" }),
        client.monitor.googleNews({ query: "d", country: "US", pages: 2 }),
        client.monitor.aimode({ prompt: "e", country: "US", include: { expandProducts: true } }, { tag: "bob" }),
        client.monitor.perplexity({ prompt: "", country: "US" }), // refused locally: free
        client.monitor.googleGoto({ url: "https://www.google.com/goto?url=https://example.com" })
      ]
      yield* drive(Effect.forEach(calls, Effect.either, { concurrency: "unbounded" }), 2_000)
      const snapshot = yield* ledger.snapshot
      const counters = yield* sim.counters
      expect(snapshot.spent).toBe(counters.creditsCharged.total)
      expect(snapshot.spent).toBeGreaterThan(0)
      expect(snapshot.reserved).toBe(0)
      expect(snapshot.balance).toBe(counters.balances["acme"])
      expect(snapshot.spentByTag["alice"]).toBe(9 + 11)
      expect(snapshot.spentByTag["bob"]! >= 7 + 6).toBe(true)
    }))

  it.scoped("a charged 2xx whose body cannot be decoded still counts in the ledger", () =>
    Effect.gen(function*() {
      const { client, ledger, sim } = yield* setup({
        sim: { faults: { script: [{ fault: "garbageBody", engine: "perplexity" }] } }
      })
      const error = yield* Effect.flip(drive(ask(client, 1), 1_000))
      expect(error._tag).toBe("ResponseDecodeError")
      const snapshot = yield* ledger.snapshot
      const counters = yield* sim.counters
      expect(counters.creditsCharged.total).toBeGreaterThan(0)
      expect(snapshot.spent).toBe(counters.creditsCharged.total)
      expect(snapshot.reserved).toBe(0)
    }))

  it.scoped("interrupting a batch in flight: waiting calls stop at once, sent ones finish on their slots and are booked", () =>
    Effect.gen(function*() {
      const { client, ledger, limiter, sim } = yield* setup({
        plan: { concurrency: 4 },
        sim: { latency: { default: { _tag: "Fixed", millis: 1_000 } } },
        options: { concurrency: { limit: 4 } }
      })
      const fiber = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) => ask(client, i), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("1500 millis")
      expect((yield* limiter.stats).inUse).toBe(4)
      // Returns at once (the clock does not move), though 4 requests are still on the wire.
      yield* Fiber.interrupt(fiber)
      const stats = yield* limiter.stats
      expect(stats.inUse).toBe(4)
      expect(stats.waiting).toBe(0)
      yield* TestClock.adjust("600 millis")
      expect((yield* sim.counters).inFlight["acme"]).toBe(0)
      expect((yield* limiter.stats).inUse).toBe(0)
      const snapshot = yield* ledger.snapshot
      expect(snapshot.reserved).toBe(0)
      expect(snapshot.spent).toBe((yield* sim.counters).creditsCharged.total)
      expect(snapshot.spent).toBeGreaterThan(0)
      // and the limiter still admits new work
      const after = yield* drive(ask(client, 99), 2_000)
      expect(after.result.text.length).toBeGreaterThan(0)
    }))

  it.scoped("a line of thousands, each refused its reservation the moment it is handed a slot, passes every slot on and holds nothing", () =>
    Effect.gen(function*() {
      const waiting = 2_000
      const maxCost = Pricing.maxCharge("perplexity", { prompt: "q", country: "US" }, { mode: "sync" })
      // Room for the two calls on the wire only: every call behind them is refused its reservation
      // the moment it is handed a slot, and gives that slot straight to the next one.
      const { client, ledger, limiter } = yield* setup({
        plan: { concurrency: 2 },
        sim: { latency: { default: { _tag: "Fixed", millis: 1_000 } } },
        options: { concurrency: { limit: 2 }, credits: { budget: 2 * maxCost }, retry: "none" }
      })
      const fiber = yield* Effect.fork(Effect.forEach(
        Array.from({ length: waiting + 2 }, (_, i) => i),
        (i) => Effect.either(ask(client, i)),
        { concurrency: "unbounded" }
      ))
      yield* TestClock.adjust("10 millis")
      expect(yield* limiter.stats).toMatchObject({ inUse: 2, waiting })
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.join(fiber)
      const refused = results.filter((r) => Either.isLeft(r) && r.left._tag === "BudgetExceeded").length
      console.log(`${waiting + 2} calls on 2 slots, budget for 2: ${results.filter(Either.isRight).length} answered, ${refused} refused`)
      expect(results.filter(Either.isRight)).toHaveLength(2)
      expect(refused).toBe(waiting)
      expect(yield* limiter.stats).toMatchObject({ inUse: 0, waiting: 0 })
      expect((yield* ledger.snapshot).reserved).toBe(0)
    }))

  it.scoped("the monitor warns once per crossing", () =>
    Effect.gen(function*() {
      const { client, monitor } = yield* setup({
        plan: { credits: 130 },
        options: { monitor: { thresholds: { lowCredits: 110 } } }
      })
      for (let i = 0; i < 4; i++) yield* drive(ask(client, i), 500)
      const warnings = yield* monitor.warnings
      expect(warnings.filter((w) => w._tag === "LowCredits")).toHaveLength(1)
    }))

  it.scoped("async submissions reserve their estimate, refuse a batch over budget before sending, and settle on finish", () =>
    Effect.gen(function*() {
      const { client, ledger, sim } = yield* setup({ options: { credits: { budget: 12 } } })
      const task = { taskType: "PERPLEXITY", payload: { prompt: "p", country: "US" } } as const
      const refused = yield* Effect.flip(client.tasks.submitBatch([task, task, task, task]))
      expect(refused._tag).toBe("BudgetExceeded")
      expect((yield* sim.counters).requestLog).toHaveLength(0)
      const submitted = yield* client.tasks.submitBatch([task, task])
      expect(yield* ledger.snapshot).toMatchObject({ reserved: 8, pendingTasks: 2, spent: 0 })
      yield* TestClock.adjust("1 second")
      for (const item of submitted.result.results) {
        if (item.success) yield* client.tasks.get(item.task.id)
      }
      expect(yield* ledger.snapshot).toMatchObject({ reserved: 0, pendingTasks: 0, spent: 8 })
      expect((yield* sim.counters).creditsCharged.total).toBe(8)
    }))

  it.scoped("a request waiting out its backoff holds no slot", () =>
    Effect.gen(function*() {
      const { client, limiter, sim } = yield* setup({
        plan: { concurrency: 1 },
        sim: { latency: { default: { _tag: "Fixed", millis: 100 } } },
        options: { concurrency: { limit: 1 }, retry: { base: "100 millis", jitter: false } }
      })
      yield* sim.injectFaults([{ fault: "503", engine: "gemini", retryAfter: 5 }])
      const first = yield* Effect.fork(client.monitor.gemini({ prompt: "first", country: "US" }))
      yield* TestClock.adjust("10 millis")
      // the first request got its 503 and sleeps 5 s; the only slot is free for the second meanwhile
      expect((yield* limiter.stats).inUse).toBe(0)
      const second = yield* drive(client.monitor.gemini({ prompt: "second", country: "US" }), 1_000)
      expect(second.result.text.length).toBeGreaterThan(0)
      expect(first.unsafePoll()).toBeNull()
      yield* TestClock.adjust("5 seconds")
      const done = yield* Fiber.join(first)
      expect(done.result.text.length).toBeGreaterThan(0)
      expect((yield* sim.counters).peakConcurrency["acme"]).toBe(1)
    }))

  it.scoped("a task followed with a tag is counted under it when its submission had none", () =>
    Effect.gen(function*() {
      const { client, ledger } = yield* setup()
      const submitted = yield* client.tasks.submit({ taskType: "PERPLEXITY", payload: { prompt: "p", country: "US" } })
      yield* TestClock.adjust("1 second")
      yield* client.tasks.get(submitted.result.task.id, { tag: "carol" })
      expect((yield* ledger.snapshot).spentByTag).toEqual({ carol: 4 })
    }))
})


describe("traps: the client means what its options say", () => {
  const slow = { latency: { default: { _tag: "Fixed", millis: 200 } } } as const
  const sends = (counters: CloroSimulator.Counters) => counters.requestLog.length

  for (const concurrency of ["unlimited", { initialLimit: 20 }] as const) {
    it.scoped(`trap: retries off means no resend (concurrency ${JSON.stringify(concurrency)}): 20 calls, cap 10, 20 requests`, () =>
      Effect.gen(function*() {
        const { client, sim } = yield* setup({ plan: { concurrency: 10 }, sim: slow, options: { concurrency, retry: "none" } })
        const results = yield* drive(
          Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => Effect.either(ask(client, i)), {
            concurrency: "unbounded"
          }),
          5_000
        )
        const counters = yield* sim.counters
        console.log(`retry "none", concurrency ${JSON.stringify(concurrency)}: ${sends(counters)} requests for 20 calls`)
        expect(sends(counters)).toBe(20)
        expect(results.filter((r) => r._tag === "Left").length).toBe(rejectionCount(counters))
      }))
  }

  it.scoped("trap: RetryPolicy.none per call means exactly one send, even for an explained concurrency 429", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ plan: { concurrency: 2 }, sim: slow, options: { concurrency: { initialLimit: 4 } } })
      yield* drive(
        Effect.forEach(
          Array.from({ length: 4 }, (_, i) => i),
          (i) => Effect.either(client.monitor.perplexity({ prompt: `q ${i}`, country: "US" }, { retry: RetryPolicy.none })),
          { concurrency: "unbounded" }
        ),
        5_000
      )
      expect(sends(yield* sim.counters)).toBe(4)
    }))

  it.scoped("trap: a concurrency requeue is a resend paid from the retry budget", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ budget: { capacity: 100, retryCost: 5 }, jitter: false })
      const { client, sim } = yield* setup({ plan: { concurrency: 2 }, sim: slow, options: { concurrency: { initialLimit: 4 } } })
      yield* drive(
        Effect.forEach(Array.from({ length: 4 }, (_, i) => i), (i) => ask(client, i).pipe(CloroClient.withRetry(policy)), {
          concurrency: "unbounded"
        }),
        10_000
      )
      const counters = yield* sim.counters
      const resends = sends(counters) - 4
      expect(resends).toBeGreaterThan(0)
      // every resend paid 5 tokens, each of the 4 successes earned 1 back
      expect(yield* policy.budgetLeft).toBe(Math.min(100, 100 - 5 * resends + 4))
    }))

  it.scoped("trap: the retry budget is charged only for retries that happen (an ambiguous non-idempotent call)", () =>
    Effect.gen(function*() {
      const policy = yield* RetryPolicy.make({ budget: { capacity: 100 } })
      const { client, sim } = yield* setup({ options: { retry: "none" } })
      yield* sim.injectFaults([{ fault: "reset", path: "/v1/async/task", times: 1 }])
      const error = yield* Effect.flip(
        client.tasks.submit(Task.make("google", { query: "crm", country: "US" })).pipe(CloroClient.withRetry(policy))
      )
      expect(error._tag).toBe("TransportError")
      expect(sends(yield* sim.counters)).toBe(1)
      expect(yield* policy.budgetLeft).toBe(100)
    }))

  it.scoped("trap: a sync call that timed out is not resent by default (it may be billed)", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({ connection: { monitorTimeout: "1 second" } })
      yield* sim.injectFaults([{ fault: "stall", engine: "perplexity", times: 5, stallMillis: 10_000 }])
      const error = yield* Effect.flip(drive(ask(client, 1), 30_000, 250))
      expect(error._tag).toBe("Timeout")
      expect(sends(yield* sim.counters)).toBe(1)
    }))

  it.scoped("a sync call that timed out is resent when the policy says resendSyncTimeouts", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* setup({
        connection: { monitorTimeout: "1 second" },
        options: { retry: { resendSyncTimeouts: true, maxRetries: 2, jitter: false } }
      })
      yield* sim.injectFaults([{ fault: "stall", engine: "perplexity", times: 5, stallMillis: 10_000 }])
      yield* Effect.flip(drive(ask(client, 1), 30_000, 250))
      expect(sends(yield* sim.counters)).toBe(3)
    }))

  it.scoped("trap: budgets cannot be overrun: AI Mode expandProducts reserves the most it can cost", () =>
    Effect.gen(function*() {
      const request = { prompt: "best running shoes to buy", gl: "us", include: { expandProducts: true } } as const
      expect(Pricing.estimate("aimode", request, { mode: "sync" })).toBe(6)
      expect(Pricing.maxCharge("aimode", request, { mode: "sync" })).toBe(12)
      const { client, ledger } = yield* setup({ options: { credits: { budget: 12 } } })
      const results = yield* drive(
        Effect.all([Effect.either(client.monitor.aimode(request)), Effect.either(client.monitor.aimode(request))], {
          concurrency: "unbounded"
        }),
        1_000
      )
      const snapshot = yield* ledger.snapshot
      console.log(`budget 12, two AI Mode expandProducts calls: spent ${snapshot.spent}`)
      expect(snapshot.spent).toBeLessThanOrEqual(12)
      expect(snapshot.reserved).toBe(0)
      expect(results.filter((r) => r._tag === "Left" && r.left._tag === "BudgetExceeded")).toHaveLength(1)
    }))

  it.scoped("trap: a learned X-Concurrency-Limit of 1e9 does not open the floodgates", () =>
    Effect.gen(function*() {
      const { limiter } = yield* setup()
      yield* limiter.learn(1_000_000_000)
      expect((yield* limiter.stats).size).toBe(ConcurrencyLimiter.MAX_LEARNED_LIMIT)
    }))
})

describe("trap: wiring: the services the client uses are in its layer's type", () => {
  it("forgetting a service is a compile error, not a client with no limits", () => {
    const client = CloroClient.layerWith({ apiKey: KEY })
    // Merging (instead of providing) the services leaves them required: the
    // layer cannot be given to a program that has only an HttpClient.
    const merged = Layer.merge(client, Cloro.layerServices())
    // @ts-expect-error the pipeline services are still required
    const wrong: Layer.Layer<CloroClient.CloroClient, unknown, HttpClient.HttpClient> = merged
    const right: Layer.Layer<CloroClient.CloroClient, unknown, HttpClient.HttpClient> = client.pipe(
      Layer.provide(Cloro.layerServices())
    )
    expect([wrong, right].every(Layer.isLayer)).toBe(true)
  })
})

describe("a waiting call holds its place in line, not its built call", () => {
  it.scoped("with any limiter behind the public shape: no reservation (nor span, nor pipeline) until its slot is taken", () =>
    Effect.gen(function*() {
      // A limiter as a shared (Redis) one or a test double is: only the public shape, no in-memory internals.
      const inner = yield* ConcurrencyLimiter.make({ limit: 1 })
      const limiter: ConcurrencyLimiter.ConcurrencyLimiterShape = {
        [ConcurrencyLimiter.TypeId]: ConcurrencyLimiter.TypeId,
        withPermit: (effect) => inner.withPermit(effect),
        resize: inner.resize,
        learn: inner.learn,
        stats: inner.stats
      }
      const ledger = yield* Credits.make()
      const done = yield* Ref.make(0)
      const answer = { success: true, result: { text: "ok", sources: [] } }
      const client = yield* Layers.bareClientOf({
        apiKey: KEY,
        http: (yield* MockHttp.make(() => Effect.as(Effect.sleep("1 second"), MockHttp.json(answer, 200, { "X-Credits-Charged": "7" })))).client,
        services: Layer.mergeAll(
          Layer.succeed(ConcurrencyLimiter.ConcurrencyLimiter, limiter),
          Layer.succeed(Credits.Credits, ledger)
        )
      })
      const calls = yield* Effect.fork(Effect.forEach(
        Array.from({ length: 5 }, (_, i) => i),
        (i) =>
          client.monitor.chatgpt({ prompt: `wait ${i}`, country: "US" }).pipe(
            Effect.withSpan("caller"),
            Effect.tap(() => Ref.update(done, (n) => n + 1))
          ),
        { concurrency: "unbounded" }
      ))
      yield* TestClock.adjust("10 millis")
      const waiting = yield* ledger.snapshot
      const stats = yield* limiter.stats
      const maxCost = Pricing.maxCharge("chatgpt", { prompt: "wait", country: "US" }, { mode: "sync" })
      // One call on its slot holds one reservation; the four waiting hold none.
      expect(stats.waiting).toBe(4)
      expect(waiting.reserved).toBe(maxCost)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(calls)
      const after = yield* ledger.snapshot
      expect(after.spent).toBe(35)
      expect(after.reserved).toBe(0)
      expect(yield* Ref.get(done)).toBe(5)
    }))
})
