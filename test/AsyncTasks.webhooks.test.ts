import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as Task from "../src/Task.js"
import * as CloroSimulator from "../src/testing/CloroSimulator.js"
import * as Webhooks from "../src/Webhooks.js"
import { appClient, drive, type Harness, polls, provide, start } from "./AsyncTasks.harness.js"

const secret = "whsec_async_tasks_test"
const hookUrl = "https://hooks.example.com/hooks/cloro"

const runAll = (h: Harness, requests: Iterable<AsyncTasks.RunRequest>, options: AsyncTasks.RunOptions) =>
  drive(
    AsyncTasks.run(requests, options).pipe(
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray),
      provide(h)
    )
  )

/** The simulator signs with its Clock; a realistic epoch keeps "5 minutes ago" a valid time. */
const atRealisticTime = TestClock.setTime(1_767_225_600_000)

const google = (query: string) => Task.make("google", { query, country: "US" })

describe("AsyncTasks.run with webhooks", () => {
  it.scoped("tasks finish by their signed deliveries, without a single poll, and settle in the ledger", () =>
    Effect.gen(function*() {
      yield* atRealisticTime
      const receiver = yield* Webhooks.makeReceiver({ secret, path: "/hooks/cloro" })
      const h = yield* start(
        { plan: { concurrency: 50, credits: 100_000 }, latency: { default: CloroSimulator.uniform(1_000, 20_000) }, webhookSecret: secret },
        { webhookClient: yield* appClient(receiver.app) }
      )
      const inputs = Array.from({ length: 120 }, (_, i) => ({
        id: `hook-${i}`,
        task: i % 3 === 0 ? Task.make("chatgpt", { prompt: `q ${i}`, country: "US" }) : google(`q ${i}`)
      }))
      const outcomes = yield* runAll(h, inputs, { batchSize: 50, webhooks: { events: receiver.events, url: hookUrl } })
      expect(outcomes).toHaveLength(120)
      expect(outcomes.every((o) => Either.isRight(o.result))).toBe(true)
      expect(yield* polls(h.sim)).toHaveLength(0)
      const deliveries = yield* h.sim.webhooks
      expect(deliveries).toHaveLength(120)
      expect(deliveries.every((d) => d.status === 200 && d.url === hookUrl)).toBe(true)
      // the outcomes come in the order cloro delivered them
      expect(outcomes.map((o) => o.taskId)).toEqual(deliveries.map((d) => d.taskId))
      // nothing polled, so every charge reached the ledger through a delivery
      const charged = (yield* h.sim.counters).creditsCharged.total
      expect(charged).toBe(40 * 5 + 80 * 3)
      expect(yield* h.ledger.snapshot).toMatchObject({ spent: charged, reserved: 0, pendingTasks: 0 })
    }))

  it.scoped("a delivery with a wrong signature, an old timestamp or a tampered body is refused, and the task is polled instead", () =>
    Effect.gen(function*() {
      yield* atRealisticTime
      const receiver = yield* Webhooks.makeReceiver({ secret, path: "/hooks/cloro" })
      const cloroHeaders = new Set(Object.values(Webhooks.headerNames).map((name) => name.toLowerCase()))
      const resign = (headers: Record<string, string>, body: string, key: string, timestampSeconds: number) => ({
        headers: {
          ...Object.fromEntries(Object.entries(headers).filter(([name]) => !cloroHeaders.has(name.toLowerCase()))),
          ...Webhooks.signedHeaders({
            secret: key,
            timestampSeconds,
            rawBody: body,
            webhookId: headers[Webhooks.headerNames.webhookId.toLowerCase()] ?? ""
          })
        },
        body
      })
      const webhookClient = yield* appClient(receiver.app, ({ body, headers }) => {
        const signedAt = Number(headers[Webhooks.headerNames.timestamp.toLowerCase()])
        if (body.includes("\"idempotencyKey\":\"bad-signature\"")) return resign(headers, body, "whsec_someone_else", signedAt)
        if (body.includes("\"idempotencyKey\":\"old-timestamp\"")) return resign(headers, body, secret, signedAt - 600)
        if (body.includes("\"idempotencyKey\":\"tampered\"")) {
          return { headers, body: body.replace(/"creditsCharged":\d+/, "\"creditsCharged\":0") }
        }
        return { headers, body }
      })
      const h = yield* start(
        { latency: { default: CloroSimulator.fixed(2_000) }, webhookSecret: secret, webhookRetryDelays: [] },
        { webhookClient }
      )
      const ids = ["signed", "bad-signature", "old-timestamp", "tampered"]
      const outcomes = yield* runAll(h, ids.map((id) => ({ id, task: google(id) })), {
        webhooks: {
          events: receiver.events,
          url: hookUrl,
          fallbackAfter: "30 seconds",
          fallbackSchedule: Schedule.spaced("10 seconds")
        }
      })
      // the signed one by its delivery at 2 s, the others by the poll at 30 s
      expect(outcomes[0]?.id).toBe("signed")
      expect(new Set(outcomes.slice(1).map((o) => o.id))).toEqual(new Set(["bad-signature", "old-timestamp", "tampered"]))
      expect(outcomes.every((o) => Either.isRight(o.result) && o.creditsCharged === 3)).toBe(true)
      const taskOf = (id: string) => outcomes.find((o) => o.id === id)?.taskId
      const statuses = Object.fromEntries((yield* h.sim.webhooks).map((d) => [d.taskId, d.status]))
      expect(ids.map((id) => statuses[taskOf(id) ?? ""])).toEqual([200, 401, 401, 401])
      // only the refused ones were polled, once each, when the fallback began
      const polled = yield* polls(h.sim)
      expect(polled.map((p) => p.path).sort()).toEqual(
        ["bad-signature", "old-timestamp", "tampered"].map((id) => `/v1/async/task/${taskOf(id)}`).sort()
      )
      expect(polled.every((p) => p.startedAt - 1_767_225_600_000 === 30_000)).toBe(true)
      expect(yield* h.ledger.snapshot).toMatchObject({ spent: 12, pendingTasks: 0 })
    }))

  it.scoped("re-run without a journal, a task found already submitted is recognised by its delivery's key", () =>
    Effect.gen(function*() {
      yield* atRealisticTime
      const receiver = yield* Webhooks.makeReceiver({ secret, path: "/hooks/cloro" })
      const h = yield* start(
        {
          latency: { engines: { google: CloroSimulator.fixed(1_000), gemini: CloroSimulator.fixed(60_000) } },
          webhookSecret: secret
        },
        { webhookClient: yield* appClient(receiver.app) }
      )
      const inputs = [
        ...["a", "b", "c"].map((id) => ({ id: `quick-${id}`, task: google(id) })),
        ...["a", "b", "c"].map((id) => ({ id: `slow-${id}`, task: Task.make("gemini", { prompt: id, country: "US" }) }))
      ]
      const options: AsyncTasks.RunOptions = { webhooks: { events: receiver.events, url: hookUrl } }
      const first = yield* AsyncTasks.run(inputs, options).pipe(
        Stream.runCollect,
        provide(h),
        Effect.fork
      )
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.interrupt(first)

      const outcomes = yield* runAll(h, inputs, options)
      expect(yield* h.sim.tasks).toHaveLength(6)
      const slow = outcomes.filter((o) => o.id?.startsWith("slow-"))
      expect(slow.every((o) => Either.isRight(o.result) && o.taskId !== undefined && o.creditsCharged === 4)).toBe(true)
      // the quick ones were delivered to the first run: the second cannot know their ids
      const quick = outcomes.filter((o) => o.id?.startsWith("quick-"))
      expect(quick.map((o) => Either.isLeft(o.result) && o.result.left._tag)).toEqual([
        "SubmittedUnfollowable",
        "SubmittedUnfollowable",
        "SubmittedUnfollowable"
      ])
      expect(quick.map(AsyncTasks.kindOf)).toEqual(["Unfollowable", "Unfollowable", "Unfollowable"])
      expect(yield* polls(h.sim)).toHaveLength(0)
    }))
})
