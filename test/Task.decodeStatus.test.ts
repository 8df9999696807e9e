import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Engine from "../src/Engine.js"
import * as Task from "../src/Task.js"
import * as Generators from "../src/testing/internal/generators.js"
import * as Prng from "../src/testing/internal/prng.js"
import { isKnownTaskType } from "../src/internal/task/base.js"

// `Task.decodeTaskStatus` reads a well-formed body by hand and decodes only the part its status carries;
// it must give exactly what `TaskStatusResponse` gives (value and key order), and the same error otherwise.
const reference = Schema.decodeUnknownEither(Task.TaskStatusResponse, { errors: "all" })

const names = Object.keys(Engine.engines) as ReadonlyArray<Engine.EngineName>
/** A generated result per engine, as the simulator would send it. */
const results = names.map((name) => ({
  taskType: Engine.engines[name].taskType as string,
  result: Generators.generate(name, Prng.make(7, name), { prompt: "q", query: "q", country: "US" }).result as unknown
}))

const summaries = (taskType: string, status: string): ReadonlyArray<Record<string, unknown>> => {
  const base = { id: "t-1", taskType, status, priority: 1, createdAt: "2026-04-09T15:00:00.000Z" }
  return [
    base,
    { ...base, latencyMs: null, idempotencyKey: null },
    { ...base, idempotencyKey: "k-1", latencyMs: 1200, region: "eu" },
    { ...base, latencyMs: "slow" },
    { ...base, idempotencyKey: 7 },
    { ...base, priority: "1" },
    { ...base, status: "DONE" },
    { ...base, id: undefined }
  ]
}
const creditsVariants: ReadonlyArray<unknown> = [
  { creditsToCharge: 5, creditsCharged: null },
  { creditsCharged: 5, creditsToCharge: 5, currency: "credits" },
  { creditsToCharge: 5 },
  "5"
]
const webhooks: ReadonlyArray<unknown> = [
  undefined,
  { url: "https://example.com/hook", deliveredAt: null, delivered: false, attempts: 2 },
  { url: "https://example.com/hook", deliveredAt: "2026-04-09T15:00:05.000Z", delivered: "yes" }
]
const responses = (status: string, result: unknown): ReadonlyArray<unknown> =>
  status === "COMPLETED"
    ? [result, { success: true, result }, undefined, "not a result", null]
    : status === "FAILED"
    ? [{ error: { code: "PROVIDER_ERROR", message: "down", details: { retry: false } } }, { error: "down" }, undefined, { error: 5 }]
    : [undefined, { partial: true }]

const bodies = function*(): Generator<unknown> {
  yield null
  yield []
  yield "a body"
  for (const { result, taskType } of [...results, { taskType: "NEW_ENGINE", result: { answer: 1 } }]) {
    for (const status of ["QUEUED", "PROCESSING", "COMPLETED", "FAILED"]) {
      for (const task of summaries(taskType, status)) {
        for (const credits of creditsVariants) {
          for (const webhook of webhooks) {
            for (const response of responses(status, result)) {
              yield {
                task,
                credits,
                ...(webhook === undefined ? {} : { webhook }),
                ...(response === undefined ? {} : { response }),
                extra: "ignored"
              }
            }
          }
        }
      }
    }
  }
  // a key present with `undefined` is not the key left out
  yield { task: summaries("CHATGPT", "QUEUED")[0], credits: creditsVariants[0], webhook: undefined }
  yield { task: summaries("CHATGPT", "COMPLETED")[0], credits: creditsVariants[0], response: undefined }
}

describe("Task.decodeTaskStatus", () => {
  it("decodes every generated body to what TaskStatusResponse decodes it to, or fails with the same issues", () => {
    let decoded = 0
    let failed = 0
    const kinds = new Set<string>()
    for (const body of bodies()) {
      const fast = Task.decodeTaskStatus(body)
      const slow = reference(body)
      expect(fast._tag, JSON.stringify(body)).toBe(slow._tag)
      if (Either.isRight(fast) && Either.isRight(slow)) {
        decoded++
        kinds.add(`${fast.right.status} ${fast.right.taskType}`)
        expect(fast.right).toStrictEqual(slow.right)
        // the same keys in the same order, so that what a caller serializes does not change either
        expect(JSON.stringify(fast.right)).toBe(JSON.stringify(slow.right))
      } else if (Either.isLeft(fast) && Either.isLeft(slow)) {
        failed++
        expect(fast.left.message).toBe(slow.left.message)
      }
    }
    console.log(`decodeTaskStatus: ${decoded} bodies decoded, ${failed} refused, each the same as the schema`)
    // every status of every engine (and of a type this version does not know) is among the decoded ones
    const taskTypes = [...results.map((r) => r.taskType), Task.unknownTaskType]
    expect([...kinds].sort()).toStrictEqual(
      ["QUEUED", "PROCESSING", "COMPLETED", "FAILED"].flatMap((status) => taskTypes.map((t) => `${status} ${t}`)).sort()
    )
    expect(failed).toBeGreaterThan(decoded)
  })
})

describe("isKnownTaskType", () => {
  it("answers what Schema.is(TaskType) answers", () => {
    const is = Schema.is(Task.TaskType)
    const candidates: ReadonlyArray<unknown> = [
      ...Task.TaskType.literals,
      ...Task.TaskType.literals.map((t) => t.toLowerCase()),
      Task.unknownTaskType,
      "",
      undefined,
      null,
      1,
      { taskType: "GOOGLE" },
      ["GOOGLE"]
    ]
    for (const candidate of candidates) expect(isKnownTaskType(candidate), String(candidate)).toBe(is(candidate))
    expect(candidates.filter(isKnownTaskType)).toHaveLength(Task.TaskType.literals.length)
  })
})
