/**
 * The simulator's behaviour, written once and run against both ways of
 * running it: the in-memory HttpClient (TestClock drives time) and the real
 * loopback server (real time, so latencies are kept to tens of milliseconds).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Engine from "../src/Engine.js"
import * as Pricing from "../src/Pricing.js"
import * as Usage from "../src/Usage.js"
import * as Webhooks from "../src/Webhooks.js"
import { CloroSimulator } from "../src/testing/index.js"

// ---------------------------------------------------------------------------
// harness
// ---------------------------------------------------------------------------

const KEY = "sk_test_simulator"

interface Answer {
  readonly status: number
  readonly headers: Headers.Headers
  readonly text: string
  readonly json: unknown
}

interface CallOptions {
  /** `null` sends no Authorization header. */
  readonly key?: string | null
  readonly authorization?: string
  readonly body?: unknown
  readonly query?: Record<string, string>
}

interface Harness {
  readonly sim: CloroSimulator.Service
  readonly call: (method: "GET" | "POST" | "DELETE", path: string, options?: CallOptions) => Effect.Effect<Answer, HttpClientError.HttpClientError>
  /** Lets time pass: TestClock in memory, real sleeps over HTTP. */
  readonly advance: (millis: number) => Effect.Effect<void>
  /** Lets background fibers (queue, webhooks) catch up without moving time on. */
  readonly settle: Effect.Effect<void>
}

interface Variant {
  readonly name: string
  readonly test: (name: string, self: () => Effect.Effect<unknown, unknown, Scope.Scope>) => void
  readonly start: (
    config: CloroSimulator.ConfigInput,
    options?: CloroSimulator.Options
  ) => Effect.Effect<Harness, unknown, Scope.Scope>
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const harness = (
  sim: CloroSimulator.Service,
  client: HttpClient.HttpClient,
  advance: (millis: number) => Effect.Effect<void>,
  settle: Effect.Effect<void>
): Harness => ({
  sim,
  advance,
  settle,
  call: (method, path, options = {}) => {
    const key = options.key === undefined ? KEY : options.key
    const base = HttpClientRequest.make(method)(`${sim.url}${path}`).pipe(
      HttpClientRequest.setUrlParams(options.query ?? {}),
      options.authorization !== undefined
        ? HttpClientRequest.setHeader("authorization", options.authorization)
        : key === null
        ? (r) => r
        : HttpClientRequest.bearerToken(key)
    )
    const request = options.body === undefined
      ? base
      : typeof options.body === "string"
      ? HttpClientRequest.bodyText(base, options.body, "application/json")
      : HttpClientRequest.bodyUnsafeJson(base, options.body)
    return client.execute(request).pipe(
      Effect.flatMap((response) =>
        Effect.map(response.text, (text) => ({ status: response.status, headers: response.headers, text, json: parse(text) }))
      )
    )
  }
})

const memory: Variant = {
  name: "in memory",
  test: (name, self) => it.scoped(name, self),
  start: (config, options) =>
    Effect.map(CloroSimulator.make(config, options), (sim) =>
      harness(
        sim,
        CloroSimulator.httpClient(sim.handle),
        (millis) => TestClock.adjust(Duration.millis(millis)),
        Effect.repeatN(TestClock.adjust(Duration.zero), 3)
      ))
}

const overHttp: Variant = {
  name: "over HTTP",
  test: (name, self) => it.scopedLive(name, self),
  start: (config, options) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(CloroSimulator.layerServer(config, options))
      const sim = Context.get(context, CloroSimulator.CloroSimulator)
      const client = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
      return harness(
        sim,
        client,
        // a margin over the simulated time, for the loopback round trips
        (millis) => Effect.sleep(Duration.millis(millis + 40)),
        Effect.sleep(Duration.millis(30))
      )
    })
}

/** Runs `effect` in the background while `millis` pass, then waits for it. */
const during = <A, E>(h: Harness, millis: number, effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* h.advance(millis)
    return yield* Fiber.join(fiber)
  })

/** A test-side webhook receiver: records each delivery and answers with `status(n)`. */
const webhookSink = (status: (attempt: number) => number = () => 200) =>
  Effect.gen(function*() {
    const received = yield* Ref.make<ReadonlyArray<{ readonly url: string; readonly headers: Headers.Headers; readonly body: string }>>([])
    const client = HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
        const n = yield* Ref.modify(received, (all) => [all.length + 1, [...all, { url: url.href, headers: request.headers, body }]])
        return HttpClientResponse.fromWeb(request, new Response(null, { status: status(n) }))
      })
    )
    return { client, received }
  })

const at = (value: unknown, ...path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>(
    (node, key) =>
      Array.isArray(node) ? (typeof key === "number" ? node[key] : undefined) : Predicate.isRecord(node) ? node[String(key)] : undefined,
    value
  )

const list = (value: unknown): ReadonlyArray<unknown> => (Array.isArray(value) ? value : [])

const str = (value: unknown): string => (typeof value === "string" ? value : "")

const header = (answer: Answer, name: string): string | undefined => Option.getOrUndefined(Headers.get(answer.headers, name))

const chatgpt = { prompt: "best CRM for startups", country: "US" }

// ---------------------------------------------------------------------------
// the suite
// ---------------------------------------------------------------------------

describe.each([memory, overHttp])("CloroSimulator $name", (variant) => {
  const test = variant.test

  describe("limits", () => {
    const concurrencyCase = (
      code: "CONCURRENT_LIMIT_EXCEEDED" | "CONCURRENCY_LIMIT_EXCEEDED",
      prefix: "X-Concurrent" | "X-Concurrency"
    ) =>
      Effect.gen(function*() {
        const h = yield* variant.start({
          accounts: [{ apiKey: KEY, plan: { concurrency: 3, credits: 1000 } }],
          concurrencyCode: code,
          concurrencyHeaderPrefix: prefix,
          latency: { default: CloroSimulator.fixed(300) }
        })
        const answers = yield* during(
          h,
          300,
          Effect.all(Array.from({ length: 4 }, () => h.call("POST", "/v1/monitor/chatgpt", { body: chatgpt })), {
            concurrency: "unbounded"
          })
        )
        const rejected = answers.filter((a) => a.status === 429)
        expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 429])
        expect(rejected[0]?.json).toMatchObject({ success: false, error: { code, details: { limit: 3 } } })
        const other = prefix === "X-Concurrency" ? "X-Concurrent" : "X-Concurrency"
        for (const answer of answers) {
          expect(header(answer, `${prefix}-Limit`)).toBe("3")
          expect(header(answer, `${other}-Limit`)).toBeUndefined()
        }
        expect(rejected[0] && header(rejected[0], `${prefix}-Remaining`)).toBe("0")
        expect(rejected[0] && header(rejected[0], "X-Credits-Charged")).toBeUndefined()
        const counters = yield* h.sim.counters
        expect(counters.peakConcurrency["account_1"]).toBe(3)
        expect(counters.rejections[code]).toBe(1)
        expect(counters.creditsCharged.total).toBe(3 * 7)
      })

    test("N+1 concurrent calls against a limit of N: one 429 CONCURRENCY_LIMIT_EXCEEDED", () =>
      concurrencyCase("CONCURRENCY_LIMIT_EXCEEDED", "X-Concurrency"))

    test("the older spelling: CONCURRENT_LIMIT_EXCEEDED and X-Concurrent-*", () =>
      concurrencyCase("CONCURRENT_LIMIT_EXCEEDED", "X-Concurrent"))

    test("PROCESSING async tasks take the same slots as sync calls; goto takes none", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({
          accounts: [{ apiKey: KEY, plan: { concurrency: 1, credits: 1000 } }],
          latency: { default: CloroSimulator.fixed(200), engines: { gemini: CloroSimulator.fixed(10) } }
        })
        const submitted = yield* h.call("POST", "/v1/async/task", { body: { taskType: "CHATGPT", payload: chatgpt } })
        expect(submitted.status).toBe(200)
        yield* h.settle
        const blocked = yield* h.call("POST", "/v1/monitor/gemini", { body: chatgpt })
        expect(blocked.json).toMatchObject({ error: { code: "CONCURRENCY_LIMIT_EXCEEDED", details: { limit: 1 } } })
        expect(header(blocked, "X-Concurrency-Current")).toBe("1")
        const goto = yield* h.call("POST", "/v1/monitor/google/goto", {
          body: { url: "https://www.google.com/url?q=https%3A%2F%2Fexample.com%2Fa" }
        })
        expect(goto.json).toEqual({ url: "https://example.com/a" })
        expect(header(goto, "X-Concurrency-Limit")).toBeUndefined()
        yield* h.advance(200)
        const free = yield* during(h, 10, h.call("POST", "/v1/monitor/gemini", { body: chatgpt }))
        expect(free.status).toBe(200)
      }))

    test("limits, balances and counters are per key", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({
          accounts: [
            { apiKey: "sk_test_alpha", id: "alpha", plan: { concurrency: 1, credits: 100 } },
            { apiKey: "sk_test_beta", id: "beta", plan: { concurrency: 1, credits: 50 } }
          ],
          rateLimit: { limit: 2 },
          latency: { default: CloroSimulator.fixed(100) }
        })
        const [a, b, a2] = yield* during(
          h,
          100,
          Effect.all(
            [
              h.call("POST", "/v1/monitor/chatgpt", { key: "sk_test_alpha", body: chatgpt }),
              h.call("POST", "/v1/monitor/chatgpt", { key: "sk_test_beta", body: chatgpt }),
              Effect.delay(h.call("POST", "/v1/monitor/chatgpt", { key: "sk_test_alpha", body: chatgpt }), Duration.millis(20))
            ],
            { concurrency: "unbounded" }
          )
        )
        expect([a?.status, b?.status, a2?.status]).toEqual([200, 200, 429])
        expect(header(b!, "X-Credits-Remaining")).toBe("43")
        const counters = yield* h.sim.counters
        expect(counters.creditsCharged.byAccount).toEqual({ alpha: 7, beta: 7 })
        expect(counters.balances).toEqual({ alpha: 93, beta: 43 })
        expect(counters.peakConcurrency).toEqual({ alpha: 1, beta: 1 })
        // alpha has used both of its requests this second on this endpoint; beta one
        expect((yield* h.call("POST", "/v1/monitor/chatgpt", { key: "sk_test_alpha", body: chatgpt })).status).toBe(429)
        expect(
          counters.requestLog.filter((e) => e.endpoint === "/v1/monitor/chatgpt").map((e) => [e.accountId, e.status])
        ).toEqual(expect.arrayContaining([["alpha", 200], ["beta", 200], ["alpha", 429]]))
        expect((yield* h.call("GET", "/v1/async/task/%E0%A4%A", { key: "sk_test_beta" })).json).toMatchObject({
          error: { code: "RESOURCE_NOT_FOUND" }
        })
      }))

    test("more than the per-endpoint rate in a fixed window gives RATE_LIMIT_EXCEEDED", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({ rateLimit: { mode: "perEndpoint", limit: 5, window: "fixed" } })
        const answers = yield* Effect.forEach(Array.from({ length: 6 }), () => h.call("GET", "/v1/credits"))
        expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429])
        expect(answers.map((a) => header(a, "X-RateLimit-Remaining"))).toEqual(["4", "3", "2", "1", "0", "0"])
        expect(answers[5]?.json).toMatchObject({ success: false, error: { code: "RATE_LIMIT_EXCEEDED" } })
        expect(header(answers[5]!, "X-RateLimit-Limit")).toBe("5")
        expect(header(answers[5]!, "Retry-After")).toBeUndefined()
        // another endpoint has its own budget
        expect((yield* h.call("GET", "/v1/async/status")).status).toBe(200)
        yield* h.advance(1000)
        expect((yield* h.call("GET", "/v1/credits")).status).toBe(200)
        expect((yield* h.sim.counters).rejections["RATE_LIMIT_EXCEEDED"]).toBe(1)
      }))

    test("the shared mode counts every /v1/* path against one budget", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({ rateLimit: { mode: "shared", limit: 4 } })
        const statuses = yield* Effect.forEach(
          ["/v1/credits", "/v1/async/status", "/v1/countries", "/v1/credits", "/v1/async/status"],
          (path) => Effect.map(h.call("GET", path), (a) => a.status)
        )
        expect(statuses).toEqual([200, 200, 200, 200, 429])
      }))

    const windowCase = (window: "fixed" | "sliding") =>
      Effect.gen(function*() {
        const h = yield* variant.start({ rateLimit: { limit: 3, window } })
        const burst = (n: number) =>
          Effect.forEach(Array.from({ length: n }), () => Effect.map(h.call("GET", "/v1/credits"), (a) => a.status))
        const first = yield* burst(2)
        yield* h.advance(600)
        const second = yield* burst(2)
        yield* h.advance(500)
        const third = yield* burst(3)
        return [first, second, third]
      })

    test("a fixed window resets a second after it opened", () =>
      Effect.gen(function*() {
        expect(yield* windowCase("fixed")).toEqual([[200, 200], [200, 429], [200, 200, 200]])
      }))

    test("a sliding window counts the last 1000 ms", () =>
      Effect.gen(function*() {
        // at 1.1 s the request made at 0.6 s still counts
        expect(yield* windowCase("sliding")).toEqual([[200, 200], [200, 429], [200, 200, 429]])
      }))
  })

  describe("credits", () => {
    const cases: ReadonlyArray<readonly [Engine.EngineName, Record<string, unknown>, number | undefined]> = [
      ["chatgpt", chatgpt, 7],
      ["chatgpt", { ...chatgpt, include: { shopping: true, searchQueries: true } }, 9],
      ["chatgpt", { ...chatgpt, state: "CA", include: { shopping: true } }, 11],
      ["chatgpt", { ...chatgpt, include: { markdown: true, html: true } }, 7],
      ["perplexity", chatgpt, 6],
      ["gemini", { ...chatgpt, state: "NY" }, 8],
      ["copilot", chatgpt, 7],
      ["grok", chatgpt, 6],
      ["google", { query: "best crm", gl: "us", pages: 3, include: { aioverview: true } }, 11],
      ["googleNews", { query: "best crm", country: "US", pages: 2 }, 7],
      ["aimode", { prompt: "best running shoes", country: "US", include: { expandProducts: true } }, undefined]
    ]

    test("each engine and option costs what Pricing says, and the balance falls by it", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({ accounts: [{ apiKey: KEY, plan: { credits: 1000, concurrency: 5 } }] })
        let spent = 0
        for (const [engine, body, documented] of cases) {
          const before = yield* h.sim.balance(KEY)
          const answer = yield* h.call("POST", Engine.engines[engine].path, { body })
          expect(answer.status, `${engine} ${JSON.stringify(body)}`).toBe(200)
          const request = Either.getOrThrow(Engine.validate(engine, body))
          const clusters = list(at(answer.json, "result", "productResults")).length
          const price = Pricing.charge(engine, request, { mode: "sync", productClusters: clusters })
          if (documented !== undefined) expect(price).toBe(documented)
          if (engine === "aimode") {
            expect(clusters).toBeGreaterThan(0)
            expect(price).toBe(Pricing.estimate(engine, request, { mode: "sync" }) + clusters)
          }
          expect(header(answer, "X-Credits-Charged")).toBe(String(price))
          expect(header(answer, "X-Credits-Remaining")).toBe(String(before - price))
          expect(yield* h.sim.balance(KEY)).toBe(before - price)
          spent += price
        }
        const credits = yield* h.call("GET", "/v1/credits")
        expect(credits.json).toEqual({ remaining: 1000 - spent, perCycle: null, cycleResetsAt: null })
        expect((yield* h.sim.counters).creditsCharged).toEqual({ total: spent, byAccount: { account_1: spent } })
      }))

    test("failures charge nothing; a balance that cannot pay gives 403 INSUFFICIENT_CREDITS", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({ accounts: [{ apiKey: KEY, plan: { credits: 100, concurrency: 5 } }] })
        expect((yield* h.call("POST", "/v1/monitor/chatgpt", { body: { prompt: "" } })).status).toBe(400)
        yield* h.sim.injectFaults([
          { path: "/v1/monitor/chatgpt", fault: "503" },
          { path: "/v1/monitor/chatgpt", fault: "500" },
          { path: "/v1/monitor/chatgpt", fault: "429" }
        ])
        const faulted = yield* Effect.forEach([1, 2, 3], () => h.call("POST", "/v1/monitor/chatgpt", { body: chatgpt }))
        expect(faulted.map((a) => a.status)).toEqual([503, 500, 429])
        expect(yield* h.sim.balance(KEY)).toBe(100)
        yield* h.sim.setBalance(KEY, 6)
        const poor = yield* h.call("POST", "/v1/monitor/chatgpt", { body: chatgpt })
        expect(poor.status).toBe(403)
        expect(poor.json).toMatchObject({ success: false, error: { code: "INSUFFICIENT_CREDITS" } })
        // perplexity (6) still fits
        expect((yield* h.call("POST", "/v1/monitor/perplexity", { body: chatgpt })).status).toBe(200)
        expect(yield* h.sim.balance(KEY)).toBe(0)
        expect((yield* h.sim.counters).creditsCharged.total).toBe(6)
      }))
  })

  describe("requests", () => {
    test("401 MISSING_API_KEY (none, lowercase bearer), INVALID_OR_EXPIRED_API_KEY, INVALID_API_KEY_FORMAT", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({})
        const none = yield* h.call("GET", "/v1/credits", { key: null })
        const lower = yield* h.call("GET", "/v1/credits", { authorization: `bearer ${KEY}` })
        const unknown = yield* h.call("GET", "/v1/credits", { key: "sk_live_unknown" })
        const malformed = yield* h.call("GET", "/v1/credits", { authorization: "Bearer not a key!" })
        expect([none, lower, unknown, malformed].map((a) => a.status)).toEqual([401, 401, 401, 401])
        expect([none, lower, unknown, malformed].map((a) => at(a.json, "error", "code"))).toEqual([
          "MISSING_API_KEY",
          "MISSING_API_KEY",
          "INVALID_OR_EXPIRED_API_KEY",
          "INVALID_API_KEY_FORMAT"
        ])
        expect(none.json).toMatchObject({ success: false, error: { message: expect.any(String), timestamp: expect.any(String) } })
        expect(header(none, "X-RateLimit-Limit")).toBeUndefined()
        expect(header(none, "X-Request-ID")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        const log = (yield* h.sim.counters).requestLog
        expect(JSON.stringify(log)).not.toContain("sk_live_unknown")
        expect(JSON.stringify(log)).not.toContain(KEY)
      }))

    test("400 VALIDATION_ERROR lists every issue as {field, message}; 404 for unknown routes", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({})
        const invalid = yield* h.call("POST", "/v1/monitor/chatgpt", { body: { prompt: "", country: "CN", model: "CHATGPT" } })
        expect(invalid.status).toBe(400)
        expect(invalid.json).toMatchObject({ success: false, error: { code: "VALIDATION_ERROR" } })
        const fields = list(at(invalid.json, "error", "details")).map((d) => at(d, "field"))
        expect(fields).toEqual(expect.arrayContaining(["prompt", "country", "model"]))
        expect(header(invalid, "X-Concurrency-Limit")).toBeUndefined()
        const notJson = yield* h.call("POST", "/v1/monitor/chatgpt", { body: "{nope" })
        expect(notJson.json).toMatchObject({ error: { code: "VALIDATION_ERROR", details: [{ field: "(body)" }] } })
        const missing = yield* h.call("GET", "/v1/monitor/chatgpt")
        expect(missing.status).toBe(404)
        expect(missing.json).toMatchObject({ error: { code: "RESOURCE_NOT_FOUND", details: { id: "/v1/monitor/chatgpt" } } })
        expect((yield* h.call("POST", "/v1/monitor/bard", { body: chatgpt })).status).toBe(404)
        expect((yield* h.sim.counters).creditsCharged.total).toBe(0)
      }))

    test("every answer carries X-Request-ID, X-Latency-Ms and X-RateLimit-*; answers depend only on seed and request", () =>
      Effect.gen(function*() {
        const config = { seed: 7, latency: { default: CloroSimulator.fixed(20) } }
        const a = yield* variant.start(config)
        const b = yield* variant.start(config)
        const c = yield* variant.start({ ...config, seed: 8 })
        const body = { ...chatgpt, include: { markdown: true } }
        const [ra, rb, rc] = yield* during(
          a,
          20,
          Effect.all([a, b, c].map((h) => h.call("POST", "/v1/monitor/chatgpt", { body })), { concurrency: "unbounded" })
        )
        expect(ra?.json).toEqual(rb?.json)
        expect(ra?.json).not.toEqual(rc?.json)
        const usage = Usage.fromHeaders(ra!.headers)
        expect(usage.latencyMs).toBeGreaterThanOrEqual(20)
        expect(usage.rateLimit).toEqual({ limit: 1000, remaining: 999 })
        expect(usage.requestId).toBe(header(rb!, "X-Request-ID"))
        expect(str(at(ra?.json, "result", "markdown")).length).toBeGreaterThan(0)
      }))

    test("countries per engine and US states", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({})
        const all = list((yield* h.call("GET", "/v1/countries")).json)
        const forChatgpt = list((yield* h.call("GET", "/v1/countries", { query: { model: "chatgpt" } })).json)
        expect(all).toContain("CN")
        expect(forChatgpt).not.toContain("CN")
        expect(forChatgpt).toContain("CZ")
        expect((yield* h.call("GET", "/v1/countries", { query: { model: "bard" } })).status).toBe(400)
        const states = list((yield* h.call("GET", "/v1/states", { query: { country: "US" } })).json)
        expect(states).toHaveLength(51)
        expect(states).toContainEqual({ code: "CA", name: "California" })
        expect((yield* h.call("GET", "/v1/states", { query: { country: "DE" } })).json).toEqual([])
        expect((yield* h.call("GET", "/v1/states")).status).toBe(400)
      }))
  })

  describe("async", () => {
    test("a task goes QUEUED → PROCESSING → COMPLETED and its signed webhook verifies", () =>
      Effect.gen(function*() {
        // over real HTTP a busy machine can take longer than 250 ms between two polls: a task must not finish
        // before the test looks, so the real-time variant gives each task a second
        const latency = variant.name === "over HTTP" ? 1_000 : 250
        const sink = yield* webhookSink()
        const secret = "whsec_test_secret"
        const h = yield* variant.start(
          {
            accounts: [{ apiKey: KEY, plan: { concurrency: 1, credits: 100 } }],
            latency: { default: CloroSimulator.fixed(latency) },
            webhookSecret: secret
          },
          { webhookClient: sink.client }
        )
        const first = yield* h.call("POST", "/v1/async/task", {
          body: { taskType: "CHATGPT", payload: chatgpt, webhook: { url: "https://hooks.example.com/cloro" } }
        })
        expect(first.json).toMatchObject({
          success: true,
          task: { taskType: "CHATGPT", status: "QUEUED", priority: 1, latencyMs: null, idempotencyKey: null },
          credits: { creditsToCharge: 5, creditsCharged: null }
        })
        const firstId = str(at(first.json, "task", "id"))
        const second = yield* h.call("POST", "/v1/async/task", { body: { taskType: "PERPLEXITY", payload: chatgpt } })
        const secondId = str(at(second.json, "task", "id"))
        yield* h.settle
        const poll = (id: string) => h.call("GET", `/v1/async/task/${id}`)
        expect(at((yield* poll(firstId)).json, "task", "status")).toBe("PROCESSING")
        expect(at((yield* poll(secondId)).json, "task", "status")).toBe("QUEUED")
        yield* h.advance(latency)
        const done = yield* poll(firstId)
        expect(done.json).toMatchObject({
          task: { id: firstId, status: "COMPLETED" },
          credits: { creditsToCharge: 5, creditsCharged: 5 },
          webhook: { url: "https://hooks.example.com/cloro", delivered: true }
        })
        expect(at(done.json, "task", "latencyMs")).toBeGreaterThanOrEqual(latency)
        expect(Either.isRight(Engine.decodeResult("chatgpt", at(done.json, "response")))).toBe(true)
        expect(at((yield* poll(secondId)).json, "task", "status")).toBe("PROCESSING")
        yield* h.advance(latency)
        expect((yield* poll(secondId)).json).toMatchObject({ task: { status: "COMPLETED" }, credits: { creditsCharged: 4 } })
        // async has no +2 sync surcharge
        expect(yield* h.sim.balance(KEY)).toBe(100 - 5 - 4)

        const deliveries = yield* Ref.get(sink.received)
        expect(deliveries).toHaveLength(1)
        const delivery = deliveries[0]!
        expect(delivery.url).toBe("https://hooks.example.com/cloro")
        expect(Headers.get(delivery.headers, "x-cloro-webhook-id")).toEqual(Option.some(`${firstId}-1`))
        const event = yield* Webhooks.verify(secret, delivery.headers, delivery.body)
        expect(event).toMatchObject({ verified: true, attempt: 1, state: { task: { id: firstId } } })
        // the same bytes under another secret do not verify
        expect((yield* Effect.flip(Webhooks.verify("whsec_other", delivery.headers, delivery.body)))._tag).toBe(
          "WebhookSignatureInvalid"
        )
        const body = parse(delivery.body)
        expect(body).toMatchObject({ task: { id: firstId, status: "COMPLETED" }, credits: { creditsCharged: 5 } })
        expect(at(body, "webhook")).toBeUndefined()
      }))

    test("webhooks are retried on non-2xx, each attempt with its own id", () =>
      Effect.gen(function*() {
        const sink = yield* webhookSink((n) => (n < 3 ? 500 : 204))
        const h = yield* variant.start(
          { latency: { default: CloroSimulator.fixed(10) }, webhookRetryDelays: [30, 30, 30, 30] },
          { webhookClient: sink.client }
        )
        const submitted = yield* h.call("POST", "/v1/async/task", {
          body: { taskType: "GEMINI", payload: chatgpt, webhook: { url: "https://hooks.example.com/x" } }
        })
        const id = str(at(submitted.json, "task", "id"))
        yield* h.settle
        yield* h.advance(10)
        yield* h.advance(30)
        yield* h.advance(30)
        const deliveries = yield* Ref.get(sink.received)
        expect(deliveries.map((d) => Option.getOrUndefined(Headers.get(d.headers, "x-cloro-webhook-id")))).toEqual([
          `${id}-1`,
          `${id}-2`,
          `${id}-3`
        ])
        const attempts = yield* h.sim.webhooks
        expect(attempts.map((a) => [a.attempt, a.status, a.ok])).toEqual([[1, 500, false], [2, 500, false], [3, 204, true]])
        expect((yield* h.call("GET", `/v1/async/task/${id}`)).json).toMatchObject({ webhook: { delivered: true } })
      }))

    test("higher priorities run first, FIFO within a level", () =>
      Effect.gen(function*() {
        // The first task holds the only slot while the others are queued. Over HTTP the clock is real, so it
        // holds it long enough for four submits to arrive on a loaded machine too.
        const blockerMillis = variant === overHttp ? 2_000 : 300
        const h = yield* variant.start({
          accounts: [{ apiKey: KEY, plan: { concurrency: 1, credits: 1000 } }],
          latency: { default: CloroSimulator.fixed(40), engines: { chatgpt: CloroSimulator.fixed(blockerMillis) } }
        })
        const submit = (name: string, priority: number) =>
          h.call("POST", "/v1/async/task", {
            body: { taskType: "GEMINI", payload: { prompt: name, country: "US" }, priority, idempotencyKey: name }
          })
        yield* h.call("POST", "/v1/async/task", {
          body: { taskType: "CHATGPT", payload: chatgpt, idempotencyKey: "blocker" }
        })
        yield* h.settle
        for (const [name, priority] of [["a", 1], ["b", 5], ["c", 10], ["d", 5]] as const) yield* submit(name, priority)
        const status = yield* h.call("GET", "/v1/async/status")
        expect(status.json).toEqual({
          queuedTasks: 4,
          processingTasks: 1,
          priorityBreakdown: [{ priority: 10, count: 1 }, { priority: 5, count: 2 }, { priority: 1, count: 1 }],
          concurrency: { used: 1, max: 1 }
        })
        yield* h.advance(blockerMillis)
        // One at a time on the one slot: step until all have ended (late on a loaded machine, never out of order).
        const allCompleted = Effect.map(h.sim.tasks, (tasks) => tasks.every((t) => t.status === "COMPLETED"))
        for (let step = 0; step < 100 && !(yield* allCompleted); step++) yield* h.advance(40)
        const tasks = yield* h.sim.tasks
        expect(tasks.every((t) => t.status === "COMPLETED")).toBe(true)
        const order = [...tasks].sort((x, y) => (x.finishedAt ?? 0) - (y.finishedAt ?? 0)).map((t) => t.idempotencyKey)
        expect(order).toEqual(["blocker", "c", "b", "d", "a"])
        expect((yield* h.sim.counters).peakConcurrency["account_1"]).toBe(1)
      }))

    test("the queue cap gives QUEUE_LIMIT_EXCEEDED (batches all or nothing); DELETE clears QUEUED tasks", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({
          accounts: [{ apiKey: KEY, plan: { concurrency: 1, credits: 1000 } }],
          latency: { default: CloroSimulator.fixed(5_000) },
          queueLimit: 2
        })
        const task = { taskType: "GOOGLE", payload: { query: "crm", gl: "us" } }
        expect((yield* h.call("POST", "/v1/async/task", { body: task })).status).toBe(200)
        yield* h.settle
        const queued = yield* Effect.forEach([1, 2], () => h.call("POST", "/v1/async/task", { body: task }))
        expect(queued.map((a) => a.status)).toEqual([200, 200])
        const full = yield* h.call("POST", "/v1/async/task", { body: task })
        expect(full.status).toBe(429)
        expect(full.json).toMatchObject({ success: false, error: { code: "QUEUE_LIMIT_EXCEEDED", details: { limit: 2 } } })
        expect((yield* h.call("POST", "/v1/async/task/batch", { body: [task] })).status).toBe(429)
        const cleared = yield* h.call("DELETE", "/v1/async/queue")
        expect(cleared.json).toEqual({ success: true, cleared: 2 })
        expect((yield* h.call("GET", `/v1/async/task/${str(at(queued[0]?.json, "task", "id"))}`)).status).toBe(404)
        expect((yield* h.call("GET", "/v1/async/status")).json).toMatchObject({ queuedTasks: 0, processingTasks: 1 })
        const batch = yield* h.call("POST", "/v1/async/task/batch", { body: [task, task] })
        expect(batch.json).toMatchObject({ success: true, summary: { total: 2, succeeded: 2, failed: 0 } })
        expect((yield* h.sim.counters).rejections["QUEUE_LIMIT_EXCEEDED"]).toBe(2)
      }))

    test("idempotency keys: 409 on reuse, a failure item in a batch; batches succeed partially", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({ latency: { default: CloroSimulator.fixed(1_000) } })
        const task = (key?: string) => ({
          taskType: "CHATGPT",
          payload: chatgpt,
          ...(key === undefined ? {} : { idempotencyKey: key })
        })
        expect((yield* h.call("POST", "/v1/async/task", { body: task("k1") })).status).toBe(200)
        const again = yield* h.call("POST", "/v1/async/task", { body: task("k1") })
        expect(again.status).toBe(409)
        expect(again.json).toMatchObject({
          success: false,
          error: { code: "RESOURCE_ALREADY_EXISTS", details: { field: "idempotencyKey", value: "k1" } }
        })
        const batch = yield* h.call("POST", "/v1/async/task/batch", {
          body: [task("k2"), { taskType: "CHATGPT", payload: { prompt: "x" } }, task("k1"), task(), task("k2")]
        })
        expect(batch.status).toBe(200)
        expect(batch.json).toMatchObject({
          success: true,
          summary: { total: 5, succeeded: 2, failed: 3 },
          results: [
            { success: true, index: 0, task: { status: "QUEUED", idempotencyKey: "k2" }, credits: { creditsToCharge: 5 } },
            { success: false, index: 1, error: { code: "VALIDATION_ERROR" } },
            { success: false, index: 2, error: { code: "RESOURCE_ALREADY_EXISTS", details: { value: "k1" } } },
            { success: true, index: 3 },
            { success: false, index: 4, error: { code: "RESOURCE_ALREADY_EXISTS" } }
          ]
        })
        expect(at(batch.json, "results", 1, "error", "details", "errors")).toContainEqual({
          field: "payload.country",
          message: expect.any(String)
        })
        expect((yield* h.call("POST", "/v1/async/task/batch", { body: [] })).status).toBe(400)
        expect((yield* h.call("GET", "/v1/async/task/00000000-0000-4000-8000-000000000000")).json).toMatchObject({
          error: { code: "RESOURCE_NOT_FOUND" }
        })
      }))

    test("a FAILED task charges 0", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({ latency: { default: CloroSimulator.fixed(20) } })
        yield* h.sim.injectFaults([{ engine: "gemini", on: "task", fault: "502" }])
        const submitted = yield* h.call("POST", "/v1/async/task", { body: { taskType: "GEMINI", payload: chatgpt } })
        const before = yield* h.sim.balance(KEY)
        yield* h.settle
        yield* h.advance(20)
        const failed = yield* h.call("GET", `/v1/async/task/${str(at(submitted.json, "task", "id"))}`)
        expect(failed.json).toMatchObject({
          task: { status: "FAILED" },
          credits: { creditsToCharge: 4, creditsCharged: 0 },
          response: { error: { code: "EXTERNAL_SERVICE_ERROR" } }
        })
        expect(yield* h.sim.balance(KEY)).toBe(before)
      }))
  })

  describe("faults", () => {
    test("a script hits only the next matching requests: 503 with Retry-After, reset, garbage body, bad headers, 429 burst", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({})
        yield* h.sim.injectFaults([
          { path: "/v1/monitor/chatgpt", fault: "503", retryAfter: 2 },
          { path: "/v1/credits", fault: "reset" },
          { path: "/v1/async/status", fault: "garbageBody" },
          { path: "/v1/countries", fault: "malformedHeaders" },
          { path: "/v1/states", fault: "missingHeaders" },
          { engine: "gemini", fault: "429", times: 2 }
        ])
        expect((yield* h.call("POST", "/v1/monitor/perplexity", { body: chatgpt })).status).toBe(200)
        const unavailable = yield* h.call("POST", "/v1/monitor/chatgpt", { body: chatgpt })
        expect(unavailable.status).toBe(503)
        expect(unavailable.json).toMatchObject({ success: false, error: { code: "SERVICE_UNAVAILABLE" } })
        expect(header(unavailable, "Retry-After")).toBe("2")
        expect((yield* h.call("POST", "/v1/monitor/chatgpt", { body: chatgpt })).status).toBe(200)

        const reset = yield* Effect.either(h.call("GET", "/v1/credits"))
        expect(Either.isLeft(reset) && reset.left._tag === "RequestError" && reset.left.reason === "Transport").toBe(true)
        expect((yield* h.call("GET", "/v1/credits")).status).toBe(200)

        const garbage = yield* h.call("GET", "/v1/async/status")
        expect(garbage.status).toBe(200)
        expect(garbage.json).toBeUndefined()

        const mangled = yield* h.call("GET", "/v1/countries")
        expect(Usage.fromHeaders(mangled.headers).rateLimit.limit).toBeUndefined()
        expect(Array.isArray(mangled.json)).toBe(true)
        const bare = yield* h.call("GET", "/v1/states", { query: { country: "US" } })
        expect(bare.status).toBe(200)
        expect(Usage.fromHeaders(bare.headers)).toEqual(Usage.empty)

        const burst = yield* Effect.forEach([1, 2, 3], () => h.call("POST", "/v1/monitor/gemini", { body: chatgpt }))
        expect(burst.map((a) => a.status)).toEqual([429, 429, 200])
        expect(at(burst[0]?.json, "error", "code")).toBe("RATE_LIMIT_EXCEEDED")

        const counters = yield* h.sim.counters
        expect(counters.requests["/v1/credits"]).toEqual({ "0": 1, "200": 1 })
        expect(counters.requests["/v1/monitor/chatgpt"]).toEqual({ "503": 1, "200": 1 })
      }))

    test("a stall outlasts the caller's timeout", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({})
        yield* h.sim.injectFaults([{ path: "/v1/monitor/chatgpt", fault: "stall", stallMillis: 60_000 }])
        const result = yield* during(
          h,
          100,
          h.call("POST", "/v1/monitor/chatgpt", { body: chatgpt }).pipe(Effect.timeoutOption(Duration.millis(100)))
        )
        expect(Option.isNone(result)).toBe(true)
        yield* h.settle
        // the hang-up is counted as cloro's 499, and charged nothing
        const counters = yield* h.sim.counters
        expect(counters.requests["/v1/monitor/chatgpt"]).toEqual({ "499": 1 })
        expect(counters.creditsCharged.total).toBe(0)
      }))

    test("a fault rate hits a share of matching requests, reproducibly", () =>
      Effect.gen(function*() {
        const h = yield* variant.start({ seed: 3, rateLimit: { limit: 1000 } })
        yield* h.sim.setFaultRate({ rate: 0.5, faults: ["500", "502"], path: "/v1/credits" })
        const statuses = yield* Effect.forEach(Array.from({ length: 40 }), () =>
          Effect.map(h.call("GET", "/v1/credits"), (a) => a.status))
        const failed = statuses.filter((s) => s !== 200)
        expect(failed.length).toBeGreaterThan(8)
        expect(failed.length).toBeLessThan(32)
        expect(new Set(failed)).toEqual(new Set([500, 502]))
        expect((yield* h.call("GET", "/v1/async/status")).status).toBe(200)
        yield* h.sim.setFaultRate(undefined)
        expect((yield* h.call("GET", "/v1/credits")).status).toBe(200)
      }))
  })

  test("a bad configuration is a typed SimulatorConfigError listing every problem", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        variant.start({ rateLimit: { limit: -1 }, latency: { default: CloroSimulator.fixed(Number.NaN) } })
      )
      expect(error).toBeInstanceOf(CloroSimulator.SimulatorConfigError)
      const paths = error instanceof CloroSimulator.SimulatorConfigError ? error.issues.map((i) => i.path) : []
      expect(paths).toEqual(expect.arrayContaining(["rateLimit.limit", "latency.default.millis"]))
      const h = yield* variant.start({})
      const bad = yield* Effect.flip(h.sim.setFaultRate({ rate: 2, faults: ["500"] }))
      expect(bad.issues.map((i) => i.path)).toEqual(["rate"])
    }))
})
