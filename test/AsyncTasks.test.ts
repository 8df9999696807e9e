import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as Task from "../src/Task.js"
import * as CloroSimulator from "../src/testing/CloroSimulator.js"
import { drive, polls, provide, start } from "./AsyncTasks.harness.js"

const chatgpt = (prompt: string) => Task.make("chatgpt", { prompt, country: "US" })

describe("AsyncTasks.wait", () => {
  it.scoped("polls at once, then on the schedule, and ends with the COMPLETED state typed by its engine", () =>
    Effect.gen(function*() {
      const h = yield* start({ latency: { default: CloroSimulator.fixed(7_000) } })
      const submitted = yield* h.client.tasks.submit(chatgpt("Best CRM for startups?"))
      const done = yield* drive(
        AsyncTasks.wait(submitted.result.task.id).pipe(provide(h)),
        Duration.millis(250)
      )
      expect(done.status).toBe("COMPLETED")
      // narrowing `taskType` types `result` as ChatGPT's
      const text = done.taskType === "CHATGPT" ? done.result.text : undefined
      expect(text).toEqual(expect.any(String))
      expect(done.credits).toEqual({ creditsToCharge: 5, creditsCharged: 5 })
      // at once, then 2 s, 3 s, 4.5 s apart: the fourth poll (9.5 s) sees it done
      expect((yield* polls(h.sim)).map((p) => p.startedAt)).toEqual([0, 2_000, 5_000, 9_500])
      expect((yield* h.ledger.snapshot).spent).toBe(5)
    }))

  it.scoped("a FAILED task is a TaskFailed carrying the task's error", () =>
    Effect.gen(function*() {
      const h = yield* start({ latency: { default: CloroSimulator.fixed(1_000) } })
      yield* h.sim.injectFaults([{ engine: "gemini", on: "task", fault: "502" }])
      const submitted = yield* h.client.tasks.submit(Task.make("gemini", { prompt: "x", country: "US" }))
      const error = yield* drive(
        Effect.flip(AsyncTasks.wait(submitted.result.task.id)).pipe(
          provide(h)
        )
      )
      expect(error).toBeInstanceOf(AsyncTasks.TaskFailed)
      expect(error).toMatchObject({
        _tag: "TaskFailed",
        taskId: submitted.result.task.id,
        taskType: "GEMINI",
        code: "EXTERNAL_SERVICE_ERROR"
      })
    }))

  it.scoped("times out on the Clock after 300 s by default, having polled at most every 15 s", () =>
    Effect.gen(function*() {
      const h = yield* start({ latency: { default: CloroSimulator.fixed(3_600_000) } })
      const submitted = yield* h.client.tasks.submit(chatgpt("slow"))
      const error = yield* drive(
        Effect.flip(AsyncTasks.wait(submitted.result.task.id)).pipe(
          provide(h)
        ),
        Duration.seconds(5)
      )
      expect(error).toMatchObject({ _tag: "TaskTimeout", taskType: "CHATGPT", lastStatus: "PROCESSING" })
      expect(error._tag === "TaskTimeout" && Duration.toMillis(error.waited)).toBe(300_000)
      const times = (yield* polls(h.sim)).map((p) => p.startedAt)
      expect(times.slice(0, 8)).toEqual([0, 2_000, 5_000, 9_500, 16_250, 26_375, 41_375, 56_375])
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0))
      expect(Math.max(...gaps)).toBe(15_000)
      expect(times.at(-1)).toBeLessThanOrEqual(300_000)
    }))

  it.scoped("a schedule that stops ends the wait with a TaskTimeout; the timeout is configurable", () =>
    Effect.gen(function*() {
      const h = yield* start({ latency: { default: CloroSimulator.fixed(3_600_000) } })
      const id = (yield* h.client.tasks.submit(chatgpt("slow"))).result.task.id
      const wait = (options: AsyncTasks.WaitOptions) =>
        Effect.flip(AsyncTasks.wait(id, options)).pipe(provide(h))
      const stopped = yield* drive(wait({ schedule: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(2))) }))
      expect(stopped).toMatchObject({ _tag: "TaskTimeout", lastStatus: "PROCESSING" })
      expect(stopped.message).toContain("schedule stopped")
      expect((yield* polls(h.sim)).length).toBe(3)
      const short = yield* drive(wait({ timeout: "20 seconds", schedule: Schedule.spaced("1 second") }))
      expect(short._tag === "TaskTimeout" && Duration.toMillis(short.waited)).toBe(20_000)
      const bad = yield* wait({ timeout: -1 })
      expect(bad).toMatchObject({ _tag: "InvalidRequest", source: "client", issues: [{ field: "timeout" }] })
    }))

  it.scoped("interrupting the wait stops the polling", () =>
    Effect.gen(function*() {
      const h = yield* start({ latency: { default: CloroSimulator.fixed(3_600_000) } })
      const id = (yield* h.client.tasks.submit(chatgpt("slow"))).result.task.id
      const fiber = yield* Effect.fork(AsyncTasks.wait(id).pipe(provide(h)))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.interrupt(fiber)
      const before = (yield* polls(h.sim)).length
      expect(before).toBe(4)
      yield* TestClock.adjust("10 minutes")
      expect((yield* polls(h.sim)).length).toBe(before)
    }))

  it.scoped("an unknown task is a NotFound", () =>
    Effect.gen(function*() {
      const h = yield* start({})
      const error = yield* Effect.flip(
        AsyncTasks.wait("00000000-0000-4000-8000-000000000000").pipe(
          provide(h)
        )
      )
      expect(error._tag).toBe("NotFound")
    }))
})

describe("AsyncTasks.run", () => {
  it.scoped("1,200 tasks go in three batches and each gives exactly one outcome", () =>
    Effect.gen(function*() {
      const h = yield* start({
        plan: { concurrency: 100, credits: 100_000 },
        latency: { default: CloroSimulator.fixed(0) }
      })
      const inputs = Array.from({ length: 1_200 }, (_, i) => ({ id: `row-${i}`, task: chatgpt(`question ${i}`) }))
      const outcomes = Chunk.toReadonlyArray(
        yield* drive(
          AsyncTasks.run(inputs).pipe(Stream.runCollect, provide(h))
        )
      )
      expect(outcomes).toHaveLength(1_200)
      expect(new Set(outcomes.map((o) => o.id)).size).toBe(1_200)
      expect(new Set(outcomes.map((o) => o.index)).size).toBe(1_200)
      expect(outcomes.every((o) => Either.isRight(o.result))).toBe(true)
      const counters = yield* h.sim.counters
      expect(counters.requests["/v1/async/task/batch"]).toEqual({ "200": 3 })
      const tasks = yield* h.sim.tasks
      expect(tasks).toHaveLength(1_200)
      expect(new Set(tasks.map((t) => t.idempotencyKey)).size).toBe(1_200)
      expect(tasks.find((t) => t.idempotencyKey === "row-7")?.id).toBe(outcomes.find((o) => o.id === "row-7")?.taskId)
      // every outcome reached the ledger
      const ledger = yield* h.ledger.snapshot
      expect(ledger.spent).toBe(counters.creditsCharged.total)
      expect(ledger.spent).toBe(1_200 * 5)
      expect(ledger.reserved).toBe(0)
      expect(ledger.pendingTasks).toBe(0)
    }))
})
