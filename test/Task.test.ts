import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { InvalidRequest } from "../src/CloroError.js"
import * as Task from "../src/Task.js"

// The examples of cloro's OpenAPI components (cloro-openapi.json), plus an unknown field each.
const summary = {
  id: "b27a21e1-7c39-4aa2-a347-23e828c426f9",
  taskType: "CHATGPT",
  status: "QUEUED",
  priority: 1,
  createdAt: "2026-04-09T15:00:00.000Z",
  latencyMs: null,
  idempotencyKey: "batch-chatgpt-001",
  region: "eu-west-1"
}
const credits = { creditsToCharge: 5, creditsCharged: null, currency: "credits" }
const webhook = { url: "https://your-app.com/webhook-handler", deliveredAt: "2025-11-10T15:00:05.000Z", delivered: true }
const chatgptResult = {
  text: "Acme Corp makes anvils.",
  sources: [{ position: 1, url: "https://acme.example", label: "Acme", description: "Anvils" }],
  markdown: "**Acme Corp** makes anvils.",
  futureField: { nested: true }
}

const leftOf = <A, E>(either: Either.Either<A, E>): E => {
  if (Either.isRight(either)) throw new Error(`expected a Left, got ${JSON.stringify(either.right)}`)
  return either.left
}
const rightOf = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) throw new Error(`expected a Right, got ${String(either.left)}`)
  return either.right
}
const fields = (error: InvalidRequest) => error.issues.map((issue) => issue.field)

describe("response schemas decode the OpenAPI examples", () => {
  it("SubmitResponse (AsyncTaskCreateResponse), dropping unknown fields", () => {
    const decoded = Schema.decodeUnknownSync(Task.SubmitResponse)({ success: true, task: summary, credits, extra: 1 })
    expect(decoded).toEqual({
      success: true,
      task: {
        id: "b27a21e1-7c39-4aa2-a347-23e828c426f9",
        taskType: "CHATGPT",
        status: "QUEUED",
        priority: 1,
        createdAt: "2026-04-09T15:00:00.000Z",
        latencyMs: null,
        idempotencyKey: "batch-chatgpt-001"
      },
      credits: { creditsToCharge: 5, creditsCharged: null }
    })
  })

  it("TaskSummary from an older API without latencyMs / idempotencyKey", () => {
    const { idempotencyKey: _k, latencyMs: _l, ...older } = summary
    expect(Schema.decodeUnknownSync(Task.TaskSummary)(older)).not.toHaveProperty("latencyMs")
  })

  it("TaskSummary reads an unknown task type (a tolerant reader) but refuses an unknown status", () => {
    const result = Schema.decodeUnknownEither(Task.TaskSummary, { errors: "all" })({
      ...summary,
      taskType: "AIOVERVIEW",
      status: "ENQUEUED"
    })
    const issues = ParseResult.ArrayFormatter.formatErrorSync(leftOf(result))
    expect(issues.map((i) => i.path)).toEqual([["status"]])
    expect(Schema.decodeUnknownSync(Task.TaskSummary)({ ...summary, taskType: "AIOVERVIEW" }).taskType).toBe("AIOVERVIEW")
  })

  it("BatchResponse, discriminating items on success", () => {
    const decoded = Schema.decodeUnknownSync(Task.BatchResponse)({
      success: true,
      summary: { total: 2, succeeded: 1, failed: 1, skipped: 0 },
      results: [
        { success: true, index: 0, task: summary, credits },
        {
          success: false,
          index: 1,
          error: {
            code: "VALIDATION_ERROR",
            message: "Invalid task at index 2",
            details: { errors: [{ field: "payload.country", message: "Invalid input: expected string, received undefined" }] },
            timestamp: "2026-04-09T15:00:00.000Z",
            hint: "x"
          }
        }
      ]
    })
    expect(decoded.summary).toEqual({ total: 2, succeeded: 1, failed: 1 })
    const [ok, ko] = decoded.results
    expect(ok?.success === true && ok.task.id).toBe(summary.id)
    expect(ko?.success === false && ko.error).toEqual({
      code: "VALIDATION_ERROR",
      message: "Invalid task at index 2",
      details: { errors: [{ field: "payload.country", message: "Invalid input: expected string, received undefined" }] },
      timestamp: "2026-04-09T15:00:00.000Z"
    })
  })

  it("AsyncStatus, with and without the newer fields", () => {
    expect(
      Schema.decodeUnknownSync(Task.AsyncStatus)({
        queuedTasks: 3,
        processingTasks: 2,
        priorityBreakdown: [{ priority: 5, count: 2 }],
        concurrency: { used: 2, max: 5 },
        region: "x"
      })
    ).toEqual({ queuedTasks: 3, processingTasks: 2, priorityBreakdown: [{ priority: 5, count: 2 }], concurrency: { used: 2, max: 5 } })
    expect(Schema.decodeUnknownSync(Task.AsyncStatus)({ queuedTasks: 0, processingTasks: 0, concurrency: null }))
      .toEqual({ queuedTasks: 0, processingTasks: 0, concurrency: null })
    expect(Schema.decodeUnknownSync(Task.AsyncStatus)({ queuedTasks: 0, processingTasks: 0 }).concurrency).toBeNull()
  })

  it("ClearQueueResponse, CreditsBalance, Countries, States", () => {
    expect(Schema.decodeUnknownSync(Task.ClearQueueResponse)({ success: true, cleared: 42, took: 3 }))
      .toEqual({ success: true, cleared: 42 })
    expect(
      Schema.decodeUnknownSync(Task.CreditsBalance)({
        remaining: 48210,
        perCycle: 1562500,
        cycleResetsAt: "2026-08-10T17:35:27.000Z",
        plan: "growth"
      })
    ).toEqual({ remaining: 48210, perCycle: 1562500, cycleResetsAt: "2026-08-10T17:35:27.000Z" })
    expect(Schema.decodeUnknownSync(Task.CreditsBalance)({ remaining: 500, perCycle: null, cycleResetsAt: null }))
      .toEqual({ remaining: 500, perCycle: null, cycleResetsAt: null })
    expect(Schema.decodeUnknownSync(Task.Countries)(["AF", "AX", "AL", "DZ", "AS"])).toEqual(["AF", "AX", "AL", "DZ", "AS"])
    expect(
      Schema.decodeUnknownSync(Task.States)([{ code: "AL", name: "Alabama", fips: "01" }, { code: "DC", name: "District of Columbia" }])
    ).toEqual([{ code: "AL", name: "Alabama" }, { code: "DC", name: "District of Columbia" }])
  })
})

describe("decodeTaskStatus", () => {
  it("QUEUED", () => {
    const state = rightOf(Task.decodeTaskStatus({ task: summary, credits, extra: true }))
    expect(state.status).toBe("QUEUED")
    expect(state.taskType).toBe("CHATGPT")
    expect(state).not.toHaveProperty("result")
    expect(state).not.toHaveProperty("webhook")
  })

  it("PROCESSING", () => {
    const state = rightOf(Task.decodeTaskStatus({ task: { ...summary, status: "PROCESSING", taskType: "GEMINI" }, credits }))
    expect(state.status).toBe("PROCESSING")
    expect(state.taskType).toBe("GEMINI")
  })

  it("COMPLETED gives the engine's typed result, with unknown fields dropped", () => {
    const state = rightOf(
      Task.decodeTaskStatus({
        task: { ...summary, status: "COMPLETED", latencyMs: 41250 },
        credits: { creditsToCharge: 5, creditsCharged: 5 },
        webhook,
        response: chatgptResult
      })
    )
    if (state.status !== "COMPLETED" || state.taskType !== "CHATGPT") throw new Error(`unexpected ${state.status}`)
    // typed: `result` is ChatGPT.Result here, so `.markdown` and `.sources[0].url` compile
    expect(state.result.text).toBe("Acme Corp makes anvils.")
    expect(state.result.markdown).toBe("**Acme Corp** makes anvils.")
    expect(state.result.sources[0]?.url).toBe("https://acme.example")
    expect(state.result).not.toHaveProperty("futureField")
    expect(state.webhook).toEqual(webhook)
    expect(state.task.latencyMs).toBe(41250)
    expect(state.credits.creditsCharged).toBe(5)
  })

  it("COMPLETED checks the result with the schema of the task's own engine", () => {
    // a ChatGPT result's `sources` must be an array when present; Google's result has no `sources`
    const google = rightOf(
      Task.decodeTaskStatus({ task: { ...summary, status: "COMPLETED", taskType: "GOOGLE" }, credits, response: {} })
    )
    expect(google.status === "COMPLETED" && google.taskType).toBe("GOOGLE")
    const error = leftOf(
      Task.decodeTaskStatus({ task: { ...summary, status: "COMPLETED" }, credits, response: { sources: "none" } })
    )
    const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
    expect(new Set(issues.map((i) => i.path.join(".")))).toEqual(new Set(["response.sources"]))
  })

  it("COMPLETED accepts the result bare or wrapped in { success, result }, as the official SDK's fixtures send it", () => {
    const result = { text: "Acme", sources: [{ url: "https://acme.example" }] }
    for (const response of [result, { success: true, result }]) {
      const state = rightOf(Task.decodeTaskStatus({ task: { ...summary, status: "COMPLETED" }, credits, response }))
      expect(state.status === "COMPLETED" && state.taskType === "CHATGPT" && state.result.text).toBe("Acme")
    }
    // a wrapped answer whose result is wrong is still an error, pointed at `response`
    const error = leftOf(
      Task.decodeTaskStatus({ task: { ...summary, status: "COMPLETED" }, credits, response: { success: true, result: { text: 1 } } })
    )
    expect(ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.path.join("."))).toContain("response.text")
  })

  it("COMPLETED without a response is a decoding error at `response`", () => {
    const error = leftOf(Task.decodeTaskStatus({ task: { ...summary, status: "COMPLETED" }, credits }))
    expect(ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.path)).toEqual([["response"]])
  })

  it("FAILED gives the task's error", () => {
    const state = rightOf(
      Task.decodeTaskStatus({
        task: { ...summary, status: "FAILED", latencyMs: 120000 },
        credits: { creditsToCharge: 5, creditsCharged: 0 },
        response: {
          error: { code: "INTERNAL_SERVER_ERROR", message: "Maximum retries exceeded", details: { attempts: 5 }, x: 1 }
        }
      })
    )
    if (state.status !== "FAILED") throw new Error(`unexpected ${state.status}`)
    expect(state.error).toEqual({ code: "INTERNAL_SERVER_ERROR", message: "Maximum retries exceeded", details: { attempts: 5 } })
    expect(state.credits.creditsCharged).toBe(0)
  })

  it("FAILED without an error object still reads as FAILED", () => {
    const bare = rightOf(Task.decodeTaskStatus({ task: { ...summary, status: "FAILED" }, credits }))
    expect(bare.status === "FAILED" && bare.error.code).toBe(Task.unknownFailureCode)
    const older = rightOf(
      Task.decodeTaskStatus({ task: { ...summary, status: "FAILED" }, credits, response: { error: "Request was canceled" } })
    )
    expect(older.status === "FAILED" && older.error).toEqual({ code: Task.unknownFailureCode, message: "Request was canceled" })
  })

  it("FAILED with a malformed error points at response.error", () => {
    const error = leftOf(
      Task.decodeTaskStatus({ task: { ...summary, status: "FAILED" }, credits, response: { error: { code: 500 } } })
    )
    expect(ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.path.join("."))).toEqual([
      "response.error.code",
      "response.error.message"
    ])
  })

  it("refuses a body that is not a task", () => {
    const error = leftOf(Task.decodeTaskStatus({ credits }))
    expect(ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.path)).toEqual([["task"]])
    expect(Either.isLeft(Task.decodeTaskStatus("not json"))).toBe(true)
  })

  it("encodes each state back to cloro's wire shape", () => {
    const bodies = [
      { task: summary, credits },
      { task: { ...summary, status: "COMPLETED" }, credits, webhook, response: chatgptResult },
      { task: { ...summary, status: "FAILED" }, credits, response: { error: { code: "X", message: "y" } } }
    ]
    const { futureField: _f, ...knownResult } = chatgptResult
    const { region: _r, ...knownSummary } = summary
    const knownCredits = { creditsToCharge: 5, creditsCharged: null }
    const encoded = bodies.map((body) => rightOf(Task.encodeTaskStatus(rightOf(Task.decodeTaskStatus(body)))))
    expect(encoded).toEqual([
      { task: knownSummary, credits: knownCredits },
      { task: { ...knownSummary, status: "COMPLETED" }, credits: knownCredits, webhook, response: knownResult },
      { task: { ...knownSummary, status: "FAILED" }, credits: knownCredits, response: { error: { code: "X", message: "y" } } }
    ])
  })

  it("isFinished", () => {
    const queued = rightOf(Task.decodeTaskStatus({ task: summary, credits }))
    const failed = rightOf(Task.decodeTaskStatus({ task: { ...summary, status: "FAILED" }, credits }))
    expect([Task.isFinished(queued), Task.isFinished(failed)]).toEqual([false, true])
  })
})

describe("make", () => {
  it("builds a typed task for an engine", () => {
    const task = Task.make("googleNews", { query: "acme", gl: "us" }, { priority: 3, idempotencyKey: "k-1" })
    expect(task).toEqual({ taskType: "GOOGLE_NEWS", payload: { query: "acme", gl: "us" }, priority: 3, idempotencyKey: "k-1" })
    expect(Either.isRight(Task.validateSubmit(task))).toBe(true)
  })
})

describe("validateSubmit", () => {
  const good = {
    taskType: "CHATGPT",
    priority: 5,
    idempotencyKey: "your-custom-identifier-123",
    webhook: { url: "https://your-app.com/webhook-handler" },
    payload: { prompt: "What is the weather in New York?", country: "US" }
  }

  it("accepts the OpenAPI example and types its payload", () => {
    const task = rightOf(Task.validateSubmit(good))
    expect(task).toEqual(good)
    if (task.taskType === "CHATGPT") expect(task.payload.country).toBe("US")
  })

  it("lists every envelope and payload issue at once", () => {
    const error = leftOf(
      Task.validateSubmit({
        taskType: "CHATGPT",
        priority: 11,
        idempotencyKey: "",
        webhook: { url: "ftp://example.com/hook", secret: "x" },
        payload: { prompt: "", state: "CA", country: "DE", model: "gpt" },
        callback: true
      })
    )
    expect(error._tag).toBe("InvalidRequest")
    expect(error.source).toBe("client")
    expect(fields(error).sort()).toEqual(
      [
        "priority",
        "idempotencyKey",
        "webhook.url",
        "webhook.secret",
        "callback",
        "payload.prompt",
        "payload.model",
        "payload.state"
      ].sort()
    )
    expect(error.issues.find((i) => i.field === "priority")?.message).toBe("priority must be an integer from 1 to 10 (got 11)")
    expect(error.issues.find((i) => i.field === "payload.prompt")?.message).toBe("Prompt cannot be empty")
  })

  it.each([
    [{ priority: 0 }, "priority"],
    [{ priority: 2.5 }, "priority"],
    [{ priority: "5" }, "priority"],
    [{ idempotencyKey: "   " }, "idempotencyKey"],
    [{ idempotencyKey: "k".repeat(256) }, "idempotencyKey"],
    [{ webhook: { url: "/relative/hook" } }, "webhook.url"],
    [{ webhook: {} }, "webhook.url"],
    [{ webhook: "https://example.com" }, "webhook"]
  ])("refuses %j on %s", (patch, field) => {
    expect(fields(leftOf(Task.validateSubmit({ ...good, ...patch })))).toEqual([field])
  })

  it("accepts the boundaries", () => {
    for (const patch of [{ priority: 1 }, { priority: 10 }, { idempotencyKey: "k".repeat(255) }, { webhook: { url: "http://localhost:8080/h" } }]) {
      expect(Either.isRight(Task.validateSubmit({ ...good, ...patch }))).toBe(true)
    }
  })

  it("refuses an unknown task type and a missing payload", () => {
    expect(fields(leftOf(Task.validateSubmit({ taskType: "AIOVERVIEW", payload: {} })))).toEqual(["taskType"])
    const error = leftOf(Task.validateSubmit({ taskType: "GOOGLE" }))
    expect(error.issues).toEqual([expect.objectContaining({ field: "payload", message: "Required field is missing" })])
  })

  it("checks the payload against the engine the task type names", () => {
    // `query` is Google's field, not ChatGPT's
    const error = leftOf(Task.validateSubmit({ taskType: "CHATGPT", payload: { query: "crm", country: "US" } }))
    expect(fields(error).sort()).toEqual(["payload.prompt", "payload.query"])
    expect(Either.isRight(Task.validateSubmit({ taskType: "GOOGLE", payload: { query: "crm", gl: "us" } }))).toBe(true)
  })

  it("refuses a payload or a body that is not an object", () => {
    expect(fields(leftOf(Task.validateSubmit({ taskType: "CHATGPT", payload: "hello" })))).toEqual(["payload"])
    expect(fields(leftOf(Task.validateSubmit(null)))).toEqual(["(body)"])
    expect(fields(leftOf(Task.validateSubmit([good])))).toEqual(["(body)"])
  })
})

describe("validateBatch", () => {
  const task = (prompt: string) => ({ taskType: "PERPLEXITY", payload: { prompt, country: "US" } })

  it("accepts 1 to 500 tasks, in order", () => {
    const tasks = Array.from({ length: 500 }, (_, i) => task(`q${i}`))
    const validated = rightOf(Task.validateBatch(tasks))
    expect(validated.length).toBe(500)
    expect(validated[499]).toEqual(task("q499"))
    expect(rightOf(Task.validateBatch([task("one")]))).toEqual([task("one")])
  })

  it.each([[[]], [Array.from({ length: 501 }, () => task("q"))], [{ tasks: [] }], ["tasks"]])(
    "refuses a batch that is empty, too big or not an array (%#)",
    (input) => {
      const error = leftOf(Task.validateBatch(input))
      expect(fields(error)).toEqual(["tasks"])
    }
  )

  it("lists every issue of every task, prefixed with its index", () => {
    const error = leftOf(
      Task.validateBatch([
        task("fine"),
        { taskType: "PERPLEXITY", priority: 0, payload: { prompt: "", country: "US" } },
        "not a task",
        { taskType: "GOOGLE", payload: { query: "crm" } }
      ])
    )
    expect(fields(error)).toEqual(["[1].priority", "[1].payload.prompt", "[2]", "[3].payload.gl"])
    expect(error.message).toContain("[1].priority")
  })

  it("keeps the message short for a large failing batch", () => {
    const error = leftOf(Task.validateBatch(Array.from({ length: 40 }, () => task(""))))
    expect(error.issues.length).toBe(40)
    expect(error.message).toContain("(and 35 more)")
  })
})
