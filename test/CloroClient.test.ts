import { describe, expect, it } from "@effect/vitest"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as CloroClient from "../src/CloroClient.js"
import type { CloroError } from "../src/CloroError.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as Credits from "../src/Credits.js"
import * as Pricing from "../src/Pricing.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as Usage from "../src/Usage.js"
import examples from "./fixtures/openapi-examples.json" with { type: "json" }
import * as Layers from "./support/layers.js"
import * as MockHttp from "./support/mockHttp.js"

const API_KEY = "sk_live_test_secret_key_123"

const headersOk = {
  "X-RateLimit-Limit": "1000",
  "X-RateLimit-Remaining": "999",
  "X-Credits-Charged": "7",
  "X-Credits-Remaining": "4993",
  "X-Concurrency-Limit": "10",
  "X-Concurrency-Current": "1",
  "X-Concurrency-Remaining": "9",
  "X-Request-ID": "8f6c2d1e-0000-4000-8000-000000000001",
  "X-Latency-Ms": "1234"
}

/** Runs `use` against a client whose HttpClient answers with `handler`. */
const withClient = <A, E>(
  handler: MockHttp.Handler,
  use: (client: CloroClient.CloroClientShape) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const mock = yield* MockHttp.make(handler)
    const client = yield* Layers.bareClientOf({ apiKey: API_KEY, http: mock.client })
    const result = yield* Effect.either(use(client))
    return { result, sent: yield* mock.sent }
  })

const answer = (body: unknown, headers: Record<string, string> = headersOk, status = 200) =>
  () => Effect.succeed(MockHttp.json(body, status, headers))

const errorBody = (code: string, message: string, details?: unknown) => ({
  success: false,
  error: { code, message, ...(details === undefined ? {} : { details }), timestamp: "2026-11-28T10:00:00.000Z" }
})

const failureOf = <A>(result: Either.Either<A, CloroError>): CloroError => {
  if (Either.isRight(result)) throw new Error("expected a failure")
  return result.left
}

describe("CloroClient monitor endpoints", () => {
  type Call = (client: CloroClient.CloroClientShape) => Effect.Effect<CloroClient.CloroResponse<unknown>, CloroError>
  const cases: ReadonlyArray<readonly [string, string, object, unknown, Call]> = [
    ["chatgpt", "/v1/monitor/chatgpt", { prompt: "Best CRM?", country: "US", include: { markdown: true } }, examples.ChatGPTMonitorResponse, (c) => c.monitor.chatgpt({ prompt: "Best CRM?", country: "US", include: { markdown: true } })],
    ["perplexity", "/v1/monitor/perplexity", { prompt: "Best CRM?", country: "DE" }, examples.PerplexityMonitorResponse, (c) => c.monitor.perplexity({ prompt: "Best CRM?", country: "DE" })],
    ["gemini", "/v1/monitor/gemini", { prompt: "Best CRM?", country: "FR" }, examples.GeminiMonitorResponse, (c) => c.monitor.gemini({ prompt: "Best CRM?", country: "FR" })],
    ["copilot", "/v1/monitor/copilot", { prompt: "Best CRM?", country: "US", state: "CA" }, examples.CopilotMonitorResponse, (c) => c.monitor.copilot({ prompt: "Best CRM?", country: "US", state: "CA" })],
    ["grok", "/v1/monitor/grok", { prompt: "Best CRM?", country: "GB" }, examples.GrokMonitorResponse, (c) => c.monitor.grok({ prompt: "Best CRM?", country: "GB" })],
    ["aimode", "/v1/monitor/aimode", { prompt: "Best CRM?", gl: "us" }, examples.AiModeMonitorResponse, (c) => c.monitor.aimode({ prompt: "Best CRM?", gl: "us" })],
    ["google", "/v1/monitor/google", { query: "best crm", country: "US", pages: 2 }, examples.GoogleMonitorResponse, (c) => c.monitor.google({ query: "best crm", country: "US", pages: 2 })],
    ["googleNews", "/v1/monitor/google/news", { query: "crm", country: "US" }, examples.GoogleNewsMonitorResponse, (c) => c.monitor.googleNews({ query: "crm", country: "US" })]
  ]

  for (const [name, path, request, example, call] of cases) {
    it.effect(`${name}: POSTs ${path} with the bearer key and a clean JSON body, and decodes the answer`, () =>
      Effect.gen(function*() {
        const { result, sent } = yield* withClient(
          answer(Object.assign({}, example, { unknownTopLevel: 1 })),
          call
        )
        expect(sent).toHaveLength(1)
        const [req] = sent
        expect(req!.method).toBe("POST")
        expect(req!.url.pathname).toBe(path)
        expect(req!.headers["authorization"]).toBe(`Bearer ${API_KEY}`)
        expect(req!.headers["content-type"]).toContain("application/json")
        expect(JSON.parse(req!.body!)).toEqual(request)
        expect(req!.body).not.toContain("undefined")
        const response = Either.getOrThrow(result)
        expect(response.usage.credits).toEqual({ charged: 7, remaining: 4993 })
        expect(response.usage.concurrency.limit).toBe(10)
        expect(response.usage.requestId).toBe("8f6c2d1e-0000-4000-8000-000000000001")
        expect(response.result).toBeDefined()
      }))
  }

  it.effect("chatgpt result is typed and keeps documented fields", () =>
    Effect.gen(function*() {
      const { result } = yield* withClient(
        answer(examples.ChatGPTMonitorResponse),
        (client) => client.monitor.chatgpt({ prompt: "Acme?", country: "US" })
      )
      const response = Either.getOrThrow(result)
      expect(response.result.text).toContain("Acme")
      expect(response.result.sources.length).toBeGreaterThan(0)
      expect(response.result.sources[0]!.url).toMatch(/^https:/)
    }))

  it.effect("googleGoto is free and resolves the redirect", () =>
    Effect.gen(function*() {
      const { result, sent } = yield* withClient(
        answer({ url: "https://example.com/page" }, { "X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "10" }),
        (client) => client.monitor.googleGoto({ url: "https://www.google.com/goto?url=https://example.com/page" })
      )
      expect(sent[0]!.url.pathname).toBe("/v1/monitor/google/goto")
      expect(Either.getOrThrow(result).result.url).toBe("https://example.com/page")
      expect(Either.getOrThrow(result).usage.rateLimit.remaining).toBe(10)
    }))
})

describe("CloroClient local validation", () => {
  // One client for the block: every test here is refused before sending, so sharing it changes nothing they assert.
  it.layer(Layers.recordingClient(API_KEY, answer({})))((it) => {
    const refuse = (use: (client: CloroClient.CloroClientShape) => Effect.Effect<unknown, CloroError>) =>
      Effect.gen(function*() {
        const client = yield* CloroClient.CloroClient
        const result = yield* Effect.either(use(client))
        // one client for the block: nothing any of its tests asked was sent
        expect(yield* yield* Layers.SentRequests).toHaveLength(0)
        const error = failureOf(result)
        if (error._tag !== "InvalidRequest") throw new Error(`expected InvalidRequest, got ${error._tag}`)
        expect(error.source).toBe("client")
        return error.issues.map((issue) => issue.field)
      })

    it.effect("refuses an empty prompt without sending", () =>
      Effect.gen(function*() {
        const fields = yield* refuse((client) => client.monitor.chatgpt({ prompt: "", country: "US" }))
        expect(fields).toContain("prompt")
      }))

    it.effect("refuses a prompt over 10,000 characters", () =>
      Effect.gen(function*() {
        const fields = yield* refuse((client) => client.monitor.gemini({ prompt: "x".repeat(10_001), country: "US" }))
        expect(fields).toContain("prompt")
      }))

    it.effect("lists every issue of a request at once", () =>
      Effect.gen(function*() {
        const fields = yield* refuse((client) =>
          client.monitor.google({ query: "", country: "US", gl: "de", pages: 11, location: "Austin,Texas,United States", uule: "w+CAIQICI" })
        )
        expect(fields).toEqual(expect.arrayContaining(["query", "pages"]))
        expect(fields.length).toBeGreaterThanOrEqual(4)
      }))

    it.effect("refuses state outside the US, and an unknown include key", () =>
      Effect.gen(function*() {
        const stateFields = yield* refuse((client) => client.monitor.perplexity({ prompt: "hi", country: "DE", state: "CA" }))
        expect(stateFields).toContain("state")
        const includeFields = yield* refuse((client) =>
          client.monitor.chatgpt(JSON.parse(`{"prompt":"hi","country":"US","include":{"screenshots":true}}`))
        )
        expect(includeFields.some((field) => field.startsWith("include"))).toBe(true)
      }))

    it.effect("refuses url together with query", () =>
      Effect.gen(function*() {
        const fields = yield* refuse((client) =>
          client.monitor.google({ query: "crm", url: "https://www.google.com/search?q=crm", country: "US" })
        )
        expect(fields.length).toBeGreaterThan(0)
      }))

    it.effect("refuses an empty batch and one over 500 tasks", () =>
      Effect.gen(function*() {
        yield* refuse((client) => client.tasks.submitBatch([]))
        const task = { taskType: "CHATGPT", payload: { prompt: "hi", country: "US" } } as const
        yield* refuse((client) => client.tasks.submitBatch(Array.from({ length: 501 }, () => task)))
      }))

    it.effect("refuses a bad task id, countries model and states country", () =>
      Effect.gen(function*() {
        yield* refuse((client) => client.tasks.get("../credits"))
        yield* refuse((client) => client.account.states("us"))
      }))

    it.effect("refuses a goto link that is not Google's", () =>
      Effect.gen(function*() {
        yield* refuse((client) => client.monitor.googleGoto({ url: "https://evil.example/goto?x=1" }))
      }))
  })
})

describe("CloroClient async and account endpoints", () => {
  const taskSummary = {
    id: "b27a21e1-7c39-4aa2-a347-23e828c426f9",
    taskType: "CHATGPT",
    status: "QUEUED",
    priority: 5,
    createdAt: "2026-11-28T10:00:00.000Z",
    latencyMs: null,
    idempotencyKey: "job-1"
  }

  it.effect("submit POSTs /v1/async/task with the task", () =>
    Effect.gen(function*() {
      const { result, sent } = yield* withClient(
        answer({ success: true, task: taskSummary, credits: { creditsToCharge: 5, creditsCharged: null } }),
        (client) =>
          client.tasks.submit({
            taskType: "CHATGPT",
            payload: { prompt: "hi", country: "US" },
            priority: 5,
            idempotencyKey: "job-1"
          })
      )
      expect(sent[0]!.method).toBe("POST")
      expect(sent[0]!.url.pathname).toBe("/v1/async/task")
      expect(JSON.parse(sent[0]!.body!)).toEqual({
        taskType: "CHATGPT",
        payload: { prompt: "hi", country: "US" },
        priority: 5,
        idempotencyKey: "job-1"
      })
      expect(Either.getOrThrow(result).result.task.id).toBe(taskSummary.id)
    }))

  it.effect("submitBatch POSTs an array and decodes per-item results", () =>
    Effect.gen(function*() {
      const { result, sent } = yield* withClient(answer(examples.BatchTaskResponse), (client) =>
        client.tasks.submitBatch([
          { taskType: "CHATGPT", payload: { prompt: "a", country: "US" } },
          { taskType: "GOOGLE", payload: { query: "b", country: "US" } }
        ]))
      expect(sent[0]!.url.pathname).toBe("/v1/async/task/batch")
      expect(Array.isArray(JSON.parse(sent[0]!.body!))).toBe(true)
      expect(Either.getOrThrow(result).result.summary.total).toBe(3)
    }))

  it.effect("get decodes QUEUED, COMPLETED (typed by engine) and FAILED", () =>
    Effect.gen(function*() {
      const states = [
        { task: taskSummary, credits: { creditsToCharge: 5, creditsCharged: null } },
        {
          task: { ...taskSummary, status: "COMPLETED", latencyMs: 5000 },
          credits: { creditsToCharge: 5, creditsCharged: 5 },
          response: examples.ChatGPTMonitorResponse.result
        },
        {
          task: { ...taskSummary, status: "FAILED" },
          credits: { creditsToCharge: 5, creditsCharged: 0 },
          response: { error: { code: "PROVIDER_ERROR", message: "ChatGPT did not answer" } }
        }
      ]
      for (const body of states) {
        const { result, sent } = yield* withClient(answer(body), (client) => client.tasks.get(taskSummary.id))
        expect(sent[0]!.method).toBe("GET")
        expect(sent[0]!.url.pathname).toBe(`/v1/async/task/${taskSummary.id}`)
        const state = Either.getOrThrow(result).result
        expect(state.status).toBe(body.task.status)
        if (state.status === "COMPLETED" && state.taskType === "CHATGPT") {
          expect(state.result.text).toContain("Acme")
        }
        if (state.status === "FAILED") expect(state.error.code).toBe("PROVIDER_ERROR")
      }
    }))

  it.effect("status, clearQueue, credits, countries, states use the documented method and path", () =>
    Effect.gen(function*() {
      type Call = (c: CloroClient.CloroClientShape) => Effect.Effect<CloroClient.CloroResponse<unknown>, CloroError>
      const calls: ReadonlyArray<readonly [Call, string, string, string, unknown]> = [
        [(c) => c.tasks.status(), "GET", "/v1/async/status", "", { queuedTasks: 3, processingTasks: 1, priorityBreakdown: [{ priority: 1, count: 3 }], concurrency: { used: 1, max: 10 } }],
        [(c) => c.tasks.clearQueue(), "DELETE", "/v1/async/queue", "", { success: true, cleared: 3 }],
        [(c) => c.account.credits(), "GET", "/v1/credits", "", { remaining: 4993, perCycle: 37500, cycleResetsAt: "2026-12-01T00:00:00.000Z" }],
        [(c) => c.account.countries("chatgpt"), "GET", "/v1/countries", "?model=chatgpt", ["US", "DE"]],
        [(c) => c.account.states(), "GET", "/v1/states", "?country=US", [{ code: "CA", name: "California" }]]
      ]
      for (const [call, method, path, search, body] of calls) {
        const { result, sent } = yield* withClient(answer(body), (client) => call(client))
        expect(sent[0]!.method).toBe(method)
        expect(sent[0]!.url.pathname).toBe(path)
        expect(sent[0]!.url.search).toBe(search)
        expect(sent[0]!.headers["authorization"]).toBe(`Bearer ${API_KEY}`)
        expect(Either.getOrThrow(result).result).toEqual(body)
      }
    }))
})

describe("CloroClient errors", () => {
  const failWith = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    Effect.map(
      withClient(answer(body, headers, status), (client) => client.monitor.chatgpt({ prompt: "hi", country: "US" })),
      ({ result }) => failureOf(result)
    )

  it.effect("maps both concurrency codes to ConcurrentLimitExceeded with its limit", () =>
    Effect.gen(function*() {
      for (const code of ["CONCURRENT_LIMIT_EXCEEDED", "CONCURRENCY_LIMIT_EXCEEDED"]) {
        const error = yield* failWith(429, errorBody(code, "Too many concurrent requests", { limit: 10 }), {
          "X-Concurrent-Limit": "10",
          "X-Concurrent-Current": "10",
          "X-Request-ID": "req-429"
        })
        expect(error._tag).toBe("ConcurrentLimitExceeded")
        if (error._tag === "ConcurrentLimitExceeded") {
          expect(error.limit).toBe(10)
          expect(error.current).toBe(10)
          expect(error.code).toBe(code)
          expect(error.requestId).toBe("req-429")
          expect(error.status).toBe(429)
        }
      }
    }))

  it.effect("takes the concurrency limit from headers when details lack it", () =>
    Effect.gen(function*() {
      const error = yield* failWith(429, errorBody("CONCURRENCY_LIMIT_EXCEEDED", "busy"), { "x-concurrency-limit": "20" })
      expect(error._tag === "ConcurrentLimitExceeded" && error.limit).toBe(20)
    }))

  const table: ReadonlyArray<readonly [number, unknown, string, Record<string, string>?]> = [
    [429, errorBody("RATE_LIMIT_EXCEEDED", "Rate limit exceeded"), "RateLimitExceeded"],
    [429, errorBody("QUEUE_LIMIT_EXCEEDED", "Queue full", { limit: 100000 }), "QueueLimitExceeded"],
    [403, errorBody("INSUFFICIENT_CREDITS", "Not enough credits"), "InsufficientCredits"],
    [401, errorBody("MISSING_API_KEY", "Missing"), "Unauthorized"],
    [401, errorBody("INVALID_API_KEY_FORMAT", "Bad format"), "Unauthorized"],
    [401, errorBody("INVALID_OR_EXPIRED_API_KEY", "Expired"), "Unauthorized"],
    [403, errorBody("INSUFFICIENT_PERMISSIONS", "Scopes", { requiredScopes: ["read:monitor"] }), "Unauthorized"],
    [400, errorBody("VALIDATION_ERROR", "Invalid", [{ field: "country", message: "Unsupported country" }]), "InvalidRequest"],
    [422, { success: false, error: "Request validation failed", details: [{ field: "payload.country", message: "Required" }] }, "InvalidRequest"],
    [404, errorBody("RESOURCE_NOT_FOUND", "No such route", { id: "/v1/monitor/nope" }), "NotFound"],
    [409, errorBody("RESOURCE_ALREADY_EXISTS", "Key reused", { field: "idempotencyKey", value: "job-1" }), "Conflict"],
    [409, errorBody("RESOURCE_CONFLICT", "Conflict"), "Conflict"],
    [499, { success: false, error: "Request was canceled" }, "RequestCanceled"],
    [499, errorBody("REQUEST_CANCELED", "Canceled"), "RequestCanceled"],
    [500, { success: false, error: "Maximum retries exceeded" }, "ServerError"],
    [500, { error: { code: "INTERNAL_SERVER_ERROR", message: "boom", timestamp: "x" } }, "ServerError"],
    [502, errorBody("EXTERNAL_SERVICE_ERROR", "Upstream", { service: "google" }), "ServerError"],
    [503, errorBody("SERVICE_UNAVAILABLE", "Maintenance"), "ServiceUnavailable", { "Retry-After": "30" }],
    [401, { success: false, error: "Invalid or missing API key" }, "Unauthorized"],
    [429, { success: false, error: "Rate limit exceeded. Try again in 15 minutes.", retry_after: 900 }, "RateLimitExceeded"],
    [502, "<html>Bad Gateway</html>", "ServerError"],
    [418, "", "UnexpectedStatus"]
  ]

  for (const [status, body, tag, headers] of table) {
    it.effect(`${status} ${JSON.stringify(body).slice(0, 70)} -> ${tag}`, () =>
      Effect.gen(function*() {
        const error = yield* failWith(status, body, headers)
        expect(error._tag).toBe(tag)
        if ("status" in error) expect(error.status).toBe(status)
      }))
  }

  it.effect("keeps the details a caller needs", () =>
    Effect.gen(function*() {
      const validation = yield* failWith(400, errorBody("VALIDATION_ERROR", "Invalid", [{ field: "country", message: "Unsupported" }]))
      expect(validation._tag === "InvalidRequest" && validation.issues).toEqual([{ field: "country", message: "Unsupported" }])
      const conflict = yield* failWith(409, errorBody("RESOURCE_ALREADY_EXISTS", "reused", { field: "idempotencyKey", value: "job-1" }))
      expect(conflict._tag === "Conflict" && [conflict.field, conflict.value]).toEqual(["idempotencyKey", "job-1"])
      const upstream = yield* failWith(502, errorBody("EXTERNAL_SERVICE_ERROR", "Upstream", { service: "google" }))
      expect(upstream._tag === "ServerError" && upstream.service).toBe("google")
      const unavailable = yield* failWith(503, errorBody("SERVICE_UNAVAILABLE", "down"), { "retry-after": "30" })
      expect(unavailable._tag === "ServiceUnavailable" && unavailable.retryAfter?.value).toEqual({ _tag: "Millis", millis: 30_000 })
      const oldest = yield* failWith(429, { success: false, error: "Rate limit exceeded", retry_after: 900 })
      expect(oldest._tag === "RateLimitExceeded" && oldest.retryAfter?.value).toEqual({ _tag: "Millis", millis: 900_000 })
    }))

  it.effect("a 200 with a body of the wrong shape is a readable ResponseDecodeError", () =>
    Effect.gen(function*() {
      const error = yield* failWith(200, { success: true, result: { sources: "nope" } }, headersOk)
      expect(error._tag).toBe("ResponseDecodeError")
      if (error._tag === "ResponseDecodeError") {
        expect(error.description).toMatch(/result/)
        expect(error.requestId).toBe(headersOk["X-Request-ID"])
      }
      const garbage = yield* failWith(200, "not json at all", headersOk)
      expect(garbage._tag === "ResponseDecodeError" && garbage.description).toMatch(/not JSON/)
    }))

  it.effect("a connection reset is a TransportError", () =>
    Effect.gen(function*() {
      const { result } = yield* withClient(() => Effect.succeed("reset" as const), (client) => client.account.credits())
      expect(failureOf(result)._tag).toBe("TransportError")
    }))

  it.effect("no answer within the timeout is a Timeout", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        withClient(() => Effect.never, (client) => client.account.credits({ timeout: "5 seconds" }))
      )
      yield* TestClock.adjust("6 seconds")
      const { result } = yield* Fiber.join(fiber)
      const error = failureOf(result)
      expect(error._tag).toBe("Timeout")
    }))

  it.effect("the API key never appears in an error", () =>
    Effect.gen(function*() {
      const bodies = [
        [401, errorBody("INVALID_OR_EXPIRED_API_KEY", "Expired")],
        [500, "boom"],
        [200, "garbage"]
      ] as const
      for (const [status, body] of bodies) {
        const error = yield* failWith(status, body)
        expect(JSON.stringify(error)).not.toContain(API_KEY)
        expect(String(error)).not.toContain(API_KEY)
      }
    }))
})


describe("CloroClient.layerMock", () => {
  const ok = { result: { text: "Acme is a cartoon company", sources: [] }, usage: Usage.empty }

  it.effect("answers from handlers and validates like the real client", () =>
    Effect.gen(function*() {
      const client = yield* CloroClient.CloroClient
      const answer = yield* client.monitor.chatgpt({ prompt: "Acme?", country: "US" })
      expect(answer.result.text).toContain("Acme")
      const invalid = yield* Effect.flip(client.monitor.chatgpt({ prompt: "", country: "US" }))
      expect(invalid._tag).toBe("InvalidRequest")
    }).pipe(Effect.provide(CloroClient.layerMock({ monitor: { chatgpt: () => Effect.succeed(ok) } }))))

  it.effect("a method without a handler dies with a message naming it", () =>
    Effect.gen(function*() {
      const client = yield* CloroClient.CloroClient
      const exit = yield* Effect.exit(client.account.credits())
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toMatch(/account\.credits/)
    }).pipe(Effect.provide(CloroClient.layerMock({}))))
})

describe("CloroClient.withRetry", () => {
  it.effect("overrides the policy for the calls inside it", () =>
    Effect.gen(function*() {
      const mock = yield* MockHttp.make(() => Effect.succeed(MockHttp.json(errorBody("INTERNAL_SERVER_ERROR", "boom"), 500)))
      const policy = yield* RetryPolicy.make({ maxRetries: 2, base: "1 millis", jitter: false, budget: false })
      const client = yield* Layers.bareClientOf({ apiKey: API_KEY, http: mock.client, services: RetryPolicy.layerNone })
      yield* Effect.flip(client.account.credits())
      expect(yield* mock.sent).toHaveLength(1)
      const fiber = yield* Effect.fork(Effect.flip(client.account.credits()).pipe(CloroClient.withRetry(policy)))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(yield* mock.sent).toHaveLength(1 + 3)
    }))
})

describe("CloroClient retries of task submissions", () => {
  const submitted = {
    success: true,
    task: { id: "t-1", taskType: "CHATGPT", status: "QUEUED", priority: 1, createdAt: "2026-11-28T10:00:00.000Z" },
    credits: { creditsToCharge: 5, creditsCharged: null }
  }
  const run = (task: Parameters<CloroClient.CloroClientShape["tasks"]["submit"]>[0]) =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const mock = yield* MockHttp.make(() =>
        Effect.flatMap(Ref.getAndUpdate(attempts, (n) => n + 1), (n) =>
          Effect.succeed(n === 0 ? "reset" as const : MockHttp.json(submitted)))
      )
      const policy = yield* RetryPolicy.make({ maxRetries: 3, base: "1 millis", jitter: false, budget: false })
      const client = yield* Layers.bareClientOf({
        apiKey: API_KEY,
        http: mock.client,
        services: Layer.succeed(RetryPolicy.RetryPolicy, policy)
      })
      const fiber = yield* Effect.fork(Effect.either(client.tasks.submit(task)))
      yield* TestClock.adjust("1 second")
      return { result: yield* Fiber.join(fiber), sent: (yield* mock.sent).length }
    })

  it.effect("a dropped connection is not retried without an idempotency key: the task may exist already", () =>
    Effect.gen(function*() {
      const { result, sent } = yield* run({ taskType: "CHATGPT", payload: { prompt: "hi", country: "US" } })
      expect(sent).toBe(1)
      expect(Either.isLeft(result) && result.left._tag).toBe("TransportError")
    }))

  it.effect("with an idempotency key the same submission is safely retried", () =>
    Effect.gen(function*() {
      const { result, sent } = yield* run({ taskType: "CHATGPT", payload: { prompt: "hi", country: "US" }, idempotencyKey: "job-1" })
      expect(sent).toBe(2)
      expect(Either.isRight(result)).toBe(true)
    }))
})

describe("CloroClient per-call options", () => {
  it.effect("a bad timeout is a typed InvalidRequest, not a crash, and nothing is sent", () =>
    Effect.gen(function*() {
      const timeouts: ReadonlyArray<Duration.DurationInput> = [0, "-5 seconds", Duration.infinity]
      for (const timeout of timeouts) {
        const { result, sent } = yield* withClient(answer({}), (client) => client.account.credits({ timeout }))
        expect(sent).toHaveLength(0)
        const error = failureOf(result)
        expect(error._tag === "InvalidRequest" && error.issues.map((i) => i.field)).toEqual(["timeout"])
      }
    }))
})

describe("traps: inputs and answers the declared types do not cover", () => {
  /** A client whose ledger is at hand, answered by `handler`, with `maxResponseBytes` as given. */
  const withLedger = (handler: MockHttp.Handler, connection: Partial<CloroConfig.CloroConfigOptions> = {}) =>
    Effect.gen(function*() {
      const mock = yield* MockHttp.make(handler)
      const ledger = yield* Credits.make()
      const client = yield* Layers.bareClientOf({
        apiKey: API_KEY,
        http: mock.client,
        connection,
        services: Layer.succeed(Credits.Credits, ledger)
      })
      return { client, ledger, sent: mock.sent }
    })
  const noCharge = Object.fromEntries(Object.entries(headersOk).filter(([name]) => name !== "X-Credits-Charged"))

  it.effect("trap: a 2xx with an empty body is not booked as spent", () =>
    Effect.gen(function*() {
      const { client, ledger } = yield* withLedger(() => Effect.succeed({ status: 200, headers: noCharge, body: "" }))
      const error = yield* Effect.flip(client.monitor.chatgpt({ prompt: "hi", country: "US" }))
      expect(error._tag).toBe("UnexpectedStatus")
      expect(yield* ledger.snapshot).toMatchObject({ spent: 0, reserved: 0 })
    }))

  it.effect("trap: a 2xx with an error body is the error it names, and not booked as spent", () =>
    Effect.gen(function*() {
      const { client, ledger } = yield* withLedger(
        answer(errorBody("INTERNAL_SERVER_ERROR", "Maximum retries exceeded"), noCharge)
      )
      const error = yield* Effect.flip(client.monitor.chatgpt({ prompt: "hi", country: "US" }))
      expect(error._tag).toBe("ServerError")
      expect(yield* ledger.snapshot).toMatchObject({ spent: 0, reserved: 0 })
    }))

  it.effect("a 2xx whose body does not decode is still booked at its estimate (cloro answered it)", () =>
    Effect.gen(function*() {
      const { client, ledger } = yield* withLedger(answer({ success: true, result: { text: 5, sources: "nope" } }, noCharge))
      const error = yield* Effect.flip(client.monitor.chatgpt({ prompt: "hi", country: "US" }))
      expect(error._tag).toBe("ResponseDecodeError")
      const estimate = Pricing.estimate("chatgpt", { prompt: "hi", country: "US" }, { mode: "sync" })
      expect(yield* ledger.snapshot).toMatchObject({ spent: estimate, reserved: 0 })
    }))

  it.live("trap: a never-ending 200 body fails typed once past maxResponseBytes", () =>
    Effect.gen(function*() {
      const chunk = new Uint8Array(64 * 1024).fill(32)
      const endless = HttpClient.make((request) =>
        Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(new ReadableStream({ pull: (controller) => controller.enqueue(chunk) }), { status: 200 })
        ))
      )
      const client = yield* Layers.bareClientOf({
        apiKey: API_KEY,
        http: endless,
        connection: { maxResponseBytes: 1024 * 1024 }
      })
      const error = yield* Effect.flip(client.monitor.chatgpt({ prompt: "hi", country: "US" }))
      expect(error._tag).toBe("ResponseDecodeError")
      expect(error.message).toContain("maxResponseBytes")
    }), 10_000)

  it.effect("a declared Content-Length past maxResponseBytes fails without reading", () =>
    Effect.gen(function*() {
      const { client } = yield* withLedger(answer({ success: true, result: { text: "x".repeat(2000) } }), {
        maxResponseBytes: 1000
      })
      const error = yield* Effect.flip(client.monitor.chatgpt({ prompt: "hi", country: "US" }))
      expect(error._tag).toBe("ResponseDecodeError")
    }))

  it.effect("trap: a bigint or a circular value in a request fails typed instead of throwing", () =>
    Effect.gen(function*() {
      const { client, sent } = yield* withLedger(answer({ success: true, task: {} }))
      const circular: Record<string, unknown> = { query: "crm", country: "US" }
      circular.self = circular
      const inputs: ReadonlyArray<unknown> = [
        { prompt: "hi", country: "US", extra: BigInt(1) },
        { prompt: BigInt(1), country: "US" },
        circular
      ]
      for (const input of inputs) {
        // @ts-expect-error input outside the declared type, as plain JS may pass
        const exit = yield* Effect.exit(client.monitor.chatgpt(input))
        expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)._tag === "Some").toBe(true)
        // @ts-expect-error same for a task payload
        const task = yield* Effect.exit(client.tasks.submit({ taskType: "GOOGLE", payload: input }))
        expect(Exit.isFailure(task) && Cause.failureOption(task.cause)._tag === "Some").toBe(true)
      }
      expect(yield* sent).toHaveLength(0)
    }))

  it.effect("trap: tasks.get(undefined) and other garbage fail with InvalidRequest", () =>
    Effect.gen(function*() {
      const { client } = yield* withLedger(answer({}))
      // @ts-expect-error plain JS may pass an unset variable
      expect((yield* Effect.flip(client.tasks.get(undefined)))._tag).toBe("InvalidRequest")
      // @ts-expect-error a number
      expect((yield* Effect.flip(client.tasks.get(42)))._tag).toBe("InvalidRequest")
      // @ts-expect-error an array that stringifies to a valid country
      expect((yield* Effect.flip(client.account.states(["US"])))._tag).toBe("InvalidRequest")
      // @ts-expect-error options of the wrong shape
      expect((yield* Effect.flip(client.account.credits({ timeout: "-5 seconds", tag: 3 })))._tag).toBe("InvalidRequest")
    }))

  it.effect("trap: client.monitor.chatgpt(garbage) returns an Effect instead of throwing", () =>
    Effect.gen(function*() {
      const { client } = yield* withLedger(answer({}))
      const hostile = new Proxy({}, {
        get: () => {
          throw new Error("boom")
        },
        ownKeys: () => {
          throw new Error("boom")
        }
      })
      for (const input of [undefined, null, 1, "x", Symbol("s"), hostile]) {
        // @ts-expect-error garbage in
        const effect = client.monitor.chatgpt(input, input)
        expect(Effect.isEffect(effect)).toBe(true)
        const exit = yield* Effect.exit(effect)
        expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause)._tag === "Some").toBe(true)
      }
    }))
})
