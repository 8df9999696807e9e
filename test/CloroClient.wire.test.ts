/**
 * What the client puts on the wire and keeps from it: `undefined` as absent,
 * the `unknownFields` escape hatch, raw answers, per-item batch refusal, and
 * the paid body kept by a `ResponseDecodeError`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as CloroClient from "../src/CloroClient.js"
import * as Engine from "../src/Engine.js"
import * as Task from "../src/Task.js"
import * as Layers from "./support/layers.js"
import * as MockHttp from "./support/mockHttp.js"

const withClient = <A, E>(handler: MockHttp.Handler, use: (client: CloroClient.CloroClientShape) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const mock = yield* MockHttp.make(handler)
    const client = yield* Layers.bareClientOf({ apiKey: "sk_test_wire", http: mock.client })
    const result = yield* Effect.either(use(client))
    const sent = yield* mock.sent
    return { result, bodies: sent.map((request): unknown => JSON.parse(request.body ?? "null")) }
  })

const chatgptAnswer = { success: true, result: { text: "Acme", sources: [], brandNewField: { score: 0.9 } } }
const ok = (body: unknown = chatgptAnswer) => () => Effect.succeed(MockHttp.json(body, 200, { "X-Credits-Charged": "7" }))

const summary = { id: "t-0", taskType: "CHATGPT", status: "QUEUED", priority: 1, createdAt: "2026-11-29T10:00:00.000Z" }
const accepted = (index: number) => ({
  success: true,
  index,
  task: { ...summary, id: `t-${index}` },
  credits: { creditsToCharge: 3, creditsCharged: null }
})

describe("undefined means absent", () => {
  it.effect("optional request fields set to undefined are valid and are not sent", () =>
    Effect.gen(function*() {
      const { bodies, result } = yield* withClient(ok(), (client) =>
        client.monitor.chatgpt({
          prompt: "Best CRM?",
          country: "US",
          state: undefined,
          include: { markdown: true, html: undefined },
          legacy: undefined
        }))
      expect(Either.isRight(result)).toBe(true)
      expect(bodies).toEqual([{ prompt: "Best CRM?", country: "US", include: { markdown: true } }])
    }))

  it("in Engine.validate and Task.validateSubmit too, while a wrong value still gives one issue", () => {
    expect(Either.isRight(Engine.validate("google", { query: "crm", country: "US", pages: undefined }))).toBe(true)
    const task = Task.validateSubmit({
      taskType: "CHATGPT",
      payload: { prompt: "x", country: "US", include: undefined },
      priority: undefined,
      webhook: undefined
    })
    expect(Either.isRight(task) && Object.keys(task.right).sort()).toEqual(["payload", "taskType"])
    const wrong = Engine.validate("chatgpt", { prompt: "x", country: "US", include: { html: "yes" } })
    expect(Either.isLeft(wrong) && wrong.left.issues.map((i) => i.field)).toEqual(["include.html"])
  })
})

describe("unknownFields: sending what the library does not know yet", () => {
  it.effect("an unknown field in the request itself is still refused locally, and nothing is sent", () =>
    Effect.gen(function*() {
      const request = { prompt: "x", country: "US", brandNewParam: true } as Engine.Request<"chatgpt">
      const { bodies, result } = yield* withClient(ok(), (client) => client.monitor.chatgpt(request))
      expect(Either.isLeft(result) && result.left._tag).toBe("InvalidRequest")
      expect(bodies).toEqual([])
    }))

  it.effect("unknownFields are sent beside the validated request", () =>
    Effect.gen(function*() {
      const { bodies, result } = yield* withClient(ok(), (client) =>
        client.monitor.chatgpt({ prompt: "x", country: "US" }, { unknownFields: { brandNewParam: { depth: 2 } } }))
      expect(Either.isRight(result)).toBe(true)
      expect(bodies).toEqual([{ prompt: "x", country: "US", brandNewParam: { depth: 2 } }])
    }))

  it.effect("a known name or a value that is not JSON is refused, and nothing is sent", () =>
    Effect.gen(function*() {
      const { bodies, result } = yield* withClient(ok(), (client) =>
        client.monitor.chatgpt({ prompt: "x", country: "US" }, { unknownFields: { country: "RU", when: new Date(0) } }))
      expect(Either.isLeft(result) && result.left._tag === "InvalidRequest" && result.left.issues.map((i) => i.field))
        .toEqual(["unknownFields.country", "unknownFields.when"])
      expect(bodies).toEqual([])
      const goto = yield* withClient(ok({ url: "https://example.com" }), (client) =>
        client.monitor.googleGoto({ url: "https://www.google.com/url?q=x" }, { unknownFields: { follow: 3 } }))
      expect(goto.bodies).toEqual([{ url: "https://www.google.com/url?q=x", follow: 3 }])
    }))

  it.effect("a task's unknownPayloadFields go into its payload on the wire", () =>
    Effect.gen(function*() {
      const task = Task.make("chatgpt", { prompt: "x", country: "US" }, { unknownPayloadFields: { brandNewParam: 1 } })
      const { bodies, result } = yield* withClient(
        ok({ success: true, task: summary, credits: { creditsToCharge: 3, creditsCharged: null } }),
        (client) => client.tasks.submit(task)
      )
      expect(Either.isRight(result)).toBe(true)
      expect(bodies).toEqual([{ taskType: "CHATGPT", payload: { prompt: "x", country: "US", brandNewParam: 1 } }])
      const shadowing = Task.validateSubmit({ ...task, unknownPayloadFields: { prompt: "y" } })
      expect(Either.isLeft(shadowing) && shadowing.left.issues.map((i) => i.field)).toEqual(["unknownPayloadFields.prompt"])
    }))
})

describe("raw answers", () => {
  it.effect("every answer carries its JSON as sent, unknown fields included", () =>
    Effect.gen(function*() {
      const { result } = yield* withClient(ok(), (client) => client.monitor.chatgpt({ prompt: "x", country: "US" }))
      const answer = Either.getOrThrow(result)
      expect(answer.raw).toEqual(chatgptAnswer)
      expect(answer.result).not.toHaveProperty("brandNewField")
      const credits = yield* withClient(ok({ remaining: 7, perCycle: 10, cycleResetsAt: null, planned: 1 }), (client) =>
        client.account.credits())
      expect(Either.getOrThrow(credits.result).raw).toHaveProperty("planned", 1)
    }))

  it.effect("a 2xx answer that cannot be decoded keeps its body and its usage", () =>
    Effect.gen(function*() {
      const paid = { success: true, result: { text: 42, sources: [] } }
      const { result } = yield* withClient(ok(paid), (client) => client.monitor.chatgpt({ prompt: "x", country: "US" }))
      expect(Either.isLeft(result) && result.left._tag).toBe("ResponseDecodeError")
      if (Either.isLeft(result) && result.left._tag === "ResponseDecodeError") {
        expect(JSON.parse(result.left.body ?? "")).toEqual(paid)
        expect(result.left.bodyTruncated).toBe(false)
        expect(result.left.usage?.credits.charged).toBe(7)
      }
      const huge = `{"success":true,"result":{"text":1,"pad":"${"x".repeat(1_100_000)}"}}`
      const capped = yield* withClient(ok(huge), (client) => client.monitor.chatgpt({ prompt: "x", country: "US" }))
      if (Either.isLeft(capped.result) && capped.result.left._tag === "ResponseDecodeError") {
        expect(capped.result.left.body?.length).toBe(1_048_576)
        expect(capped.result.left.bodyTruncated).toBe(true)
      } else {
        expect.unreachable("expected a ResponseDecodeError")
      }
    }))
})

describe("submitBatch refuses per item", () => {
  const good = Task.make("chatgpt", { prompt: "x", country: "US" })
  const bad = { taskType: "CHATGPT", payload: { prompt: "", country: "US" } } as Task.SubmitTask

  it.effect("an invalid task is refused in cloro's per-item shape and the rest are sent", () =>
    Effect.gen(function*() {
      const { bodies, result } = yield* withClient(
        ok({ success: true, summary: { total: 2, succeeded: 2, failed: 0 }, results: [accepted(0), accepted(1)] }),
        (client) => client.tasks.submitBatch([good, bad, good])
      )
      expect(Array.isArray(bodies[0]) && bodies[0].length).toBe(2)
      const batch = Either.getOrThrow(result).result
      expect(batch.summary).toEqual({ total: 3, succeeded: 2, failed: 1 })
      expect(batch.results.map((item) => [item.index, item.success])).toEqual([[0, true], [1, false], [2, true]])
      const refused = batch.results[1]
      expect(refused?.success === false && refused.error.code).toBe("VALIDATION_ERROR")
      expect(refused?.success === false && refused.error.details).toEqual({
        errors: [{ field: "payload.prompt", message: "Prompt cannot be empty" }],
        source: "client"
      })
      // the third input was cloro's index 1: the ids follow the submitted positions
      expect(batch.results[2]?.success === true && batch.results[2].task.id).toBe("t-1")
    }))

  it.effect("a batch whose every task is invalid sends nothing; a batch of 0 or 501 is refused whole", () =>
    Effect.gen(function*() {
      const none = yield* withClient(ok(), (client) => client.tasks.submitBatch([bad, bad]))
      expect(none.bodies).toEqual([])
      expect(Either.getOrThrow(none.result).result.summary).toEqual({ total: 2, succeeded: 0, failed: 2 })
      const empty = yield* withClient(ok(), (client) => client.tasks.submitBatch([]))
      expect(Either.isLeft(empty.result) && empty.result.left._tag).toBe("InvalidRequest")
      const tooMany = yield* withClient(ok(), (client) => client.tasks.submitBatch(Array.from({ length: 501 }, () => good)))
      expect(Either.isLeft(tooMany.result) && tooMany.result.left._tag).toBe("InvalidRequest")
    }))
})
