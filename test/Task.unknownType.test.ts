/**
 * A task whose `taskType` cloro adds after this version: built from the
 * OpenAPI document's own task schema (`AsyncTaskSummary`, each property's
 * example) with the `taskType` enum value replaced by one outside the enum,
 * it must read as a task of an unknown engine, its raw `response` kept, in
 * every state, through a submit answer, a poll, and `AsyncTasks.run`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as Task from "../src/Task.js"
import { drive } from "./AsyncTasks.harness.js"
import openapi from "./fixtures/cloro-openapi.json" with { type: "json" }
import * as MockHttp from "./support/mockHttp.js"

interface Property {
  readonly example?: unknown
  readonly enum?: ReadonlyArray<string>
}

const summarySchema = openapi.components.schemas.AsyncTaskSummary
const properties: Readonly<Record<string, Property>> = summarySchema.properties
const knownTypes = properties.taskType?.enum ?? []
/** A task type outside the document's enum: the first of these names it does not list. */
const newType = ["DEEPSEEK", "CLAUDE", "MISTRAL"].find((t) => !knownTypes.includes(t)) ?? "NEW_ENGINE"

/** The document's example summary, every property from its `example`, with `taskType` replaced. */
const summaryWith = (status: string) => ({
  ...Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, property.example])),
  taskType: newType,
  status
})
const credits = { creditsToCharge: 4, creditsCharged: 4 }
const response = { answer: "from an engine this version does not know", items: [1, 2, { deep: null }] }

describe("a task type cloro adds later (outside the OpenAPI enum)", () => {
  it("the generated summary uses a type the document does not list, and every required field", () => {
    expect(knownTypes.length).toBeGreaterThan(0)
    expect(knownTypes).not.toContain(newType)
    expect(Object.keys(summaryWith("QUEUED"))).toEqual(expect.arrayContaining([...summarySchema.required]))
  })

  it("decodes in every state as a task of an unknown engine, the raw response kept", () => {
    for (const status of ["QUEUED", "PROCESSING"]) {
      const state = Either.getOrThrow(Task.decodeTaskStatus({ task: summaryWith(status), credits }))
      expect(state).toMatchObject({ status, taskType: Task.unknownTaskType, task: { taskType: newType } })
    }
    const completed = Either.getOrThrow(Task.decodeTaskStatus({ task: summaryWith("COMPLETED"), credits, response }))
    expect(completed.status).toBe("COMPLETED")
    if (completed.status !== "COMPLETED" || completed.taskType !== Task.unknownTaskType) {
      throw new Error(`expected an unknown engine, got ${completed.taskType}`)
    }
    // narrowed: `result` is the raw response, as cloro sent it
    expect(completed.result).toEqual(response)
    expect(completed.task.taskType).toBe(newType)
    expect(Task.isFinished(completed)).toBe(true)
    const failed = Either.getOrThrow(
      Task.decodeTaskStatus({ task: summaryWith("FAILED"), credits, response: { error: { code: "X", message: "no" } } })
    )
    expect(failed).toMatchObject({ status: "FAILED", taskType: Task.unknownTaskType, error: { code: "X" } })
  })

  it("encodes back to the wire with the type cloro sent", () => {
    const completed = Either.getOrThrow(Task.decodeTaskStatus({ task: summaryWith("COMPLETED"), credits, response }))
    const wire = Either.getOrThrow(Task.encodeTaskStatus(completed))
    expect(wire.task.taskType).toBe(newType)
    expect(wire.response).toEqual(response)
  })

  it("a submit answer and a batch answer carrying it decode", () => {
    const submitted = Schema.decodeUnknownSync(Task.SubmitResponse)({
      success: true,
      task: summaryWith("QUEUED"),
      credits: { creditsToCharge: 4, creditsCharged: null }
    })
    expect(submitted.task.taskType).toBe(newType)
    const batch = Schema.decodeUnknownSync(Task.BatchResponse)({
      success: true,
      summary: { total: 1, succeeded: 1, failed: 0 },
      results: [{ success: true, index: 0, task: summaryWith("QUEUED"), credits: { creditsToCharge: 4, creditsCharged: null } }]
    })
    expect(batch.results[0]).toMatchObject({ success: true, task: { taskType: newType } })
  })

  it("submitting one is still refused locally (a strict writer)", () => {
    const refused = Task.validateSubmit({ taskType: newType, payload: { prompt: "x", country: "US" } })
    expect(Either.isLeft(refused)).toBe(true)
  })
})

/** A client whose server answers every batch with the new type accepted, and every poll with it COMPLETED. */
const clientOfNewType = Effect.gen(function*() {
  const mock = yield* MockHttp.make((request) => {
    if (request.method === "POST") {
      const keys: ReadonlyArray<string> = JSON.parse(request.body ?? "[]").map((t: { idempotencyKey: string }) => t.idempotencyKey)
      return Effect.succeed(MockHttp.json({
        success: true,
        summary: { total: keys.length, succeeded: keys.length, failed: 0 },
        results: keys.map((key, index) => ({
          success: true,
          index,
          task: { ...summaryWith("QUEUED"), id: `b27a21e1-7c39-4aa2-a347-23e828c4260${index}`, idempotencyKey: key },
          credits: { creditsToCharge: 4, creditsCharged: null }
        }))
      }))
    }
    const id = request.url.pathname.split("/").pop() ?? ""
    return Effect.succeed(MockHttp.json({ task: { ...summaryWith("COMPLETED"), id }, credits, response }))
  })
  return yield* CloroClient.make.pipe(
    Effect.provide(
      Layer.merge(
        CloroConfig.layer({ apiKey: "sk_test_unit", baseUrl: "https://api.cloro.dev" }),
        Layer.succeed(HttpClient.HttpClient, mock.client)
      )
    ),
    Effect.provide(Cloro.layerBare)
  )
}).pipe(Effect.orDie)

describe("AsyncTasks with a task type cloro adds later", () => {
  it.effect("wait ends with the unknown engine's COMPLETED state, its response kept", () =>
    Effect.gen(function*() {
      const client = yield* clientOfNewType
      const done = yield* drive(
        AsyncTasks.wait("b27a21e1-7c39-4aa2-a347-23e828c426f9").pipe(Effect.provideService(CloroClient.CloroClient, client))
      )
      expect(done).toMatchObject({ status: "COMPLETED", taskType: Task.unknownTaskType, result: response })
    }))

  it.effect("run gives each task's outcome as Completed with the raw response as its result, nothing lost", () =>
    Effect.gen(function*() {
      const client = yield* clientOfNewType
      const ids = ["a", "b", "c"]
      const outcomes = yield* drive(
        AsyncTasks.run(ids.map((id) => ({ id, task: Task.make("google", { query: id, country: "US" }) }))).pipe(
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray),
          Effect.provideService(CloroClient.CloroClient, client)
        )
      )
      expect(outcomes.map((o) => o.id).sort()).toEqual(ids)
      for (const outcome of outcomes) {
        expect(AsyncTasks.kindOf(outcome)).toBe("Completed")
        // the input's own type stands in for the one this version cannot name
        expect(outcome.taskType).toBe("GOOGLE")
        expect(outcome.creditsCharged).toBe(4)
        const completed = Either.getOrThrow(outcome.result)
        expect(completed).toMatchObject({ taskType: Task.unknownTaskType, task: { taskType: newType }, result: response })
      }
    }))
})
