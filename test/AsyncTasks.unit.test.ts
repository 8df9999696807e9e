import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Duration from "effect/Duration"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Cloro from "../src/Cloro.js"
import * as TestClock from "effect/TestClock"
import * as Tracker from "../src/internal/async/tracker.js"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as Task from "../src/Task.js"
import examples from "./fixtures/openapi-examples.json" with { type: "json" }
import { drive } from "./AsyncTasks.harness.js"
import * as MockHttp from "./support/mockHttp.js"

describe("AsyncTasks.idempotencyKeyFor", () => {
  it("keeps a short plain id readable, under the prefix", () => {
    expect(AsyncTasks.idempotencyKeyFor("row-42")).toBe("row-42")
    expect(AsyncTasks.idempotencyKeyFor("row-42", { keyPrefix: "job-7:" })).toBe("job-7:row-42")
  })

  it("hashes long, unusual or marker-like ids into a stable key of at most 255 characters", () => {
    const long = "x".repeat(300)
    for (const id of [long, "naïve café", "has space", "sha256:abc", "random:abc", "\"quoted\""]) {
      const key = AsyncTasks.idempotencyKeyFor(id, { keyPrefix: "p:" })
      expect(key).toMatch(/^p:sha256:[0-9a-f]{64}$/)
      expect(AsyncTasks.idempotencyKeyFor(id, { keyPrefix: "p:" })).toBe(key)
    }
    expect(AsyncTasks.idempotencyKeyFor("a b")).not.toBe(AsyncTasks.idempotencyKeyFor("a  b"))
    // an id fitting 255 characters only without the prefix is hashed too
    expect(AsyncTasks.idempotencyKeyFor("y".repeat(250), { keyPrefix: "longer-prefix:" })).toHaveLength(
      "longer-prefix:sha256:".length + 64
    )
  })
})

const summary = (index: number, key: string) => ({
  id: `00000000-0000-4000-8000-00000000000${index}`,
  taskType: "GOOGLE",
  status: "QUEUED",
  priority: 1,
  createdAt: "2026-11-28T10:00:00.000Z",
  latencyMs: null,
  idempotencyKey: key
})

const itemError = (index: number, code: string, details: unknown) => ({
  success: false,
  index,
  error: { code, message: `refused: ${code}`, details, timestamp: "2026-11-28T10:00:00.000Z" }
})

/** A client whose HttpClient answers with `handler`. */
const withMock = (handler: MockHttp.Handler) =>
  Effect.gen(function*() {
    const mock = yield* MockHttp.make(handler)
    const client = yield* CloroClient.make.pipe(
      Effect.provide(
        Layer.merge(
          CloroConfig.layer({ apiKey: "sk_test_unit", baseUrl: "https://api.cloro.dev" }),
          Layer.succeed(HttpClient.HttpClient, mock.client)
        )
      ), Effect.provide(Cloro.layerBare))
    return { client, sent: mock.sent }
  }).pipe(Effect.orDie)

const google = (query: string, options: Task.SubmitOptions = {}) => Task.make("google", { query, country: "US" }, options)

describe("AsyncTasks.run against scripted answers", () => {
  it.effect("maps each refused item of a batch to its typed error, in either documented shape; sends a left-out item again", () =>
    Effect.gen(function*() {
      const { client, sent } = yield* withMock((request) => {
        if (request.method === "POST") {
          const keys: ReadonlyArray<string> = JSON.parse(request.body ?? "[]").map((t: { idempotencyKey: string }) => t.idempotencyKey)
          if (keys.length === 1) {
            // the item left out of the first answer, sent again: it existed all along
            return Effect.succeed(MockHttp.json({
              success: true,
              summary: { total: 1, succeeded: 0, failed: 1 },
              results: [itemError(0, "RESOURCE_ALREADY_EXISTS", { field: "idempotencyKey", value: keys[0] })]
            }))
          }
          return Effect.succeed(MockHttp.json({
            success: true,
            summary: { total: 5, succeeded: 1, failed: 3 },
            results: [
              { success: true, index: 0, task: summary(0, keys[0] ?? ""), credits: { creditsToCharge: 3, creditsCharged: null } },
              itemError(1, "VALIDATION_ERROR", { errors: [{ field: "payload.country", message: "unsupported" }] }),
              itemError(2, "VALIDATION_ERROR", { field: "payload.query", message: "too long" }),
              itemError(3, "SOMETHING_NEW", undefined)
              // no result for index 4
            ]
          }))
        }
        return Effect.succeed(MockHttp.json({
          task: { ...summary(0, "a"), status: "COMPLETED", latencyMs: 1200 },
          credits: { creditsToCharge: 3, creditsCharged: 3 },
          response: examples.GoogleMonitorResponse.result
        }))
      })
      const outcomes = yield* drive(
        AsyncTasks.run(["a", "b", "c", "d", "e"].map((id) => ({ id, task: google(id) }))).pipe(
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray),
          Effect.provideService(CloroClient.CloroClient, client)
        )
      )
      const byId = (id: string) => {
        const outcome = outcomes.find((o) => o.id === id)
        return outcome !== undefined && Either.isLeft(outcome.result) ? outcome.result.left : outcome
      }
      expect(byId("a")).toMatchObject({ taskId: summary(0, "").id, creditsCharged: 3 })
      expect(byId("b")).toMatchObject({
        _tag: "InvalidRequest",
        source: "server",
        issues: [{ field: "payload.country", message: "unsupported" }]
      })
      expect(byId("c")).toMatchObject({ _tag: "InvalidRequest", issues: [{ field: "payload.query", message: "too long" }] })
      expect(byId("d")).toMatchObject({ _tag: "UnexpectedStatus", code: "SOMETHING_NEW" })
      expect(byId("e")).toMatchObject({ _tag: "SubmittedUnfollowable", reason: "AmbiguousSubmit", idempotencyKey: "e" })
      const requests = yield* sent
      expect(requests.map((r) => r.method).sort()).toEqual(["GET", "POST", "POST"])
      expect(JSON.parse(requests.find((r) => r.method === "POST" && JSON.parse(r.body ?? "[]").length === 1)?.body ?? "[]"))
        .toEqual([{ taskType: "GOOGLE", payload: { query: "e", country: "US" }, idempotencyKey: "e" }])
      expect(JSON.parse(requests[0]?.body ?? "[]")).toEqual(
        ["a", "b", "c", "d", "e"].map((id) => ({ taskType: "GOOGLE", payload: { query: id, country: "US" }, idempotencyKey: id }))
      )
    }))

  it.effect("a batch refused as a whole gives each of its tasks the error; keys are random without an id", () =>
    Effect.gen(function*() {
      const { client, sent } = yield* withMock(() =>
        Effect.succeed(
          MockHttp.json(
            { success: false, error: { code: "INVALID_OR_EXPIRED_API_KEY", message: "no", timestamp: "2026-11-28T10:00:00.000Z" } },
            401
          )
        )
      )
      const outcomes = yield* AsyncTasks.run(
        [{ task: google("x") }, { task: google("y") }, { task: google("z", { idempotencyKey: "mine" }) }],
        { keyPrefix: "job:" }
      ).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray), Effect.provideService(CloroClient.CloroClient, client))
      expect(outcomes).toHaveLength(3)
      for (const outcome of outcomes) {
        expect(Either.isLeft(outcome.result) && outcome.result.left._tag).toBe("Unauthorized")
        // refused before any task was created: nothing was billed
        expect(outcome.creditsCharged).toBe(0)
      }
      const keys = JSON.parse((yield* sent)[0]?.body ?? "[]").map((t: { idempotencyKey: string }) => t.idempotencyKey)
      expect(keys[0]).toMatch(/^job:random:[0-9a-f]{32}$/)
      expect(keys[1]).toMatch(/^job:random:[0-9a-f]{32}$/)
      expect(keys[0]).not.toBe(keys[1])
      // a task's own key is kept
      expect(keys[2]).toBe("mine")
      expect(outcomes.map((o) => o.idempotencyKey)).toEqual(keys)
    }))

  it.effect("an empty input gives an empty stream without a request", () =>
    Effect.gen(function*() {
      const { client, sent } = yield* withMock(() => Effect.die("no request expected"))
      const outcomes = yield* AsyncTasks.run([]).pipe(Stream.runCollect, Effect.provideService(CloroClient.CloroClient, client))
      expect(Chunk.size(outcomes)).toBe(0)
      expect(yield* sent).toEqual([])
    }))
})

describe("the run's poll tracker", () => {
  it.scoped("runs at most `concurrency` polls at once, leaving the other due tasks in its map (no waiting fibers)", () =>
    Effect.gen(function*() {
      const active = yield* Ref.make({ now: 0, peak: 0, polls: 0 })
      const state = (id: string) =>
        Schema.decodeUnknownSync(Task.TaskStatusResponse)({
          task: { ...summary(0, id), status: "PROCESSING" },
          credits: { creditsToCharge: 3, creditsCharged: null }
        })
      const tracker = yield* Tracker.make<string>({
        get: (taskId) =>
          Ref.update(active, (a) => ({ now: a.now + 1, peak: Math.max(a.peak, a.now + 1), polls: a.polls + 1 })).pipe(
            Effect.zipRight(Effect.sleep("1 second")),
            Effect.zipRight(Ref.update(active, (a) => ({ ...a, now: a.now - 1 }))),
            Effect.as(state(taskId))
          ),
        concurrency: 7
      })
      for (let i = 0; i < 100; i++) {
        const key = `k${i}`
        yield* tracker.register(key)
        yield* tracker.assign(key, `task-${i}`)
        yield* tracker.watch(key, {
          taskId: `task-${i}`,
          schedule: Schedule.spaced("1 second"),
          first: { _tag: "Now" },
          timeout: Duration.minutes(10),
          retry: Schedule.spaced("1 second"),
          expired: () => "expired"
        }, () => Effect.void)
      }
      for (let i = 0; i < 40; i++) yield* TestClock.adjust("500 millis")
      const seen = yield* Ref.get(active)
      expect(seen.peak).toBe(7)
      expect(seen.polls).toBeGreaterThan(100)
    }))
})
