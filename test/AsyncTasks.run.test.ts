import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as AsyncTasks from "../src/AsyncTasks.js"
import type * as Engine from "../src/Engine.js"
import * as Pricing from "../src/Pricing.js"
import * as Task from "../src/Task.js"
import * as CloroSimulator from "../src/testing/CloroSimulator.js"
import { drive, type Harness, polls, provide, start } from "./AsyncTasks.harness.js"

const google = (query: string) => Task.make("google", { query, country: "US" })

const runAll = (h: Harness, requests: Iterable<AsyncTasks.RunRequest>, options?: AsyncTasks.RunOptions) =>
  drive(
    AsyncTasks.run(requests, options).pipe(
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray),
      provide(h)
    )
  )

const errorOf = (outcome: AsyncTasks.Outcome | undefined) =>
  outcome !== undefined && Either.isLeft(outcome.result) ? outcome.result.left : undefined

describe("AsyncTasks.run outcomes", () => {
  it.scoped("every input gives one outcome, in completion order; refusals and failures are typed outcomes", () =>
    Effect.gen(function*() {
      const h = yield* start({
        // 4 credits: enough to queue anything but ChatGPT (5), and to complete only the first to finish
        plan: { concurrency: 10, credits: 4 },
        latency: {
          engines: {
            google: CloroSimulator.fixed(1_000),
            perplexity: CloroSimulator.fixed(3_000),
            gemini: CloroSimulator.fixed(5_000)
          }
        }
      })
      yield* h.sim.injectFaults([{ engine: "perplexity", on: "task", fault: "503" }])
      const notAnObject: AsyncTasks.RunRequest = JSON.parse("42")
      const inputs: ReadonlyArray<AsyncTasks.RunRequest> = [
        { id: "google", task: google("best crm") },
        { id: "chatgpt", task: Task.make("chatgpt", { prompt: "too expensive", country: "US" }) },
        { id: "empty-prompt", task: Task.make("chatgpt", { prompt: "", country: "US" }) },
        { id: "gemini", task: Task.make("gemini", { prompt: "finishes when the balance is gone", country: "US" }) },
        { id: "perplexity", task: Task.make("perplexity", { prompt: "fails upstream", country: "US" }) },
        notAnObject,
        { id: "", task: google("empty id") }
      ]
      const outcomes = yield* runAll(h, inputs, { schedule: Schedule.spaced("500 millis") })
      expect(outcomes).toHaveLength(inputs.length)
      expect(new Set(outcomes.map((o) => o.index))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]))
      // refusals come out at once; the tasks in the order they finished
      expect(new Set(outcomes.slice(0, 4).map((o) => o.index))).toEqual(new Set([1, 2, 5, 6]))
      expect(outcomes.slice(4).map((o) => o.id)).toEqual(["google", "perplexity", "gemini"])

      const byIndex = (i: number) => outcomes.find((o) => o.index === i)
      expect(byIndex(0)).toMatchObject({ id: "google", taskType: "GOOGLE", creditsToCharge: 3, creditsCharged: 3 })
      expect(Either.isRight(byIndex(0)!.result)).toBe(true)
      expect(errorOf(byIndex(1))).toMatchObject({ _tag: "InsufficientCredits" })
      expect(byIndex(1)).toMatchObject({ taskId: undefined, creditsToCharge: null, creditsCharged: 0 })
      expect(errorOf(byIndex(2))).toMatchObject({
        _tag: "InvalidRequest",
        source: "client",
        issues: [expect.objectContaining({ field: "payload.prompt" })]
      })
      expect(byIndex(2)).toMatchObject({ idempotencyKey: undefined, creditsCharged: 0 })
      expect(errorOf(byIndex(3))).toMatchObject({ _tag: "TaskFailed", taskType: "GEMINI", code: "INSUFFICIENT_CREDITS" })
      expect(byIndex(3)).toMatchObject({ creditsToCharge: 4, creditsCharged: 0 })
      expect(errorOf(byIndex(4))).toMatchObject({ _tag: "TaskFailed", code: "SERVICE_UNAVAILABLE" })
      expect(errorOf(byIndex(4))).toBeInstanceOf(AsyncTasks.TaskFailed)
      expect(errorOf(byIndex(5))).toMatchObject({ _tag: "InvalidRequest", issues: [{ field: "(request)" }] })
      expect(errorOf(byIndex(6))?.message).toContain("id must be a non-empty string")

      expect(yield* h.sim.tasks).toHaveLength(3)
      const ledger = yield* h.ledger.snapshot
      expect(ledger).toMatchObject({ spent: 3, reserved: 0, pendingTasks: 0 })
    }))

  it.scoped("estimates match the simulator's charges; AI Mode's expandProducts charges more than estimated", () =>
    Effect.gen(function*() {
      const h = yield* start({ plan: { credits: 10_000 } })
      const cases = [
        c("chatgpt", { prompt: "best crm", country: "US", state: "CA", include: { shopping: true } }),
        c("perplexity", { prompt: "best crm", country: "DE" }),
        c("gemini", { prompt: "best crm", country: "US" }),
        c("copilot", { prompt: "best crm", country: "US" }),
        c("grok", { prompt: "best crm", country: "US" }),
        c("aimode", { prompt: "best laptop deals", gl: "us" }),
        c("aimode", { prompt: "best laptop deals", gl: "us", include: { expandProducts: true } }),
        c("google", { query: "best crm", country: "US", pages: 3, include: { aioverview: true } }),
        c("googleNews", { query: "crm", country: "US", pages: 2 })
      ]
      const outcomes = yield* runAll(h, cases.map((x, i) => ({ id: `case-${i}`, task: x.task })))
      expect(outcomes).toHaveLength(cases.length)
      for (const outcome of outcomes) {
        const expected = cases[outcome.index]!
        expect(outcome.creditsToCharge).toBe(expected.estimate)
        expect(Either.isRight(outcome.result)).toBe(true)
        if (expected.expands) {
          const clusters = Either.isRight(outcome.result) && outcome.result.right.taskType === "AIMODE"
            ? outcome.result.right.result.productResults?.length ?? 0
            : 0
          expect(clusters).toBeGreaterThan(0)
          expect(outcome.creditsCharged).toBe(expected.estimate + clusters)
        } else {
          expect(outcome.creditsCharged).toBe(expected.estimate)
        }
      }
      const charged = outcomes.reduce((sum, o) => sum + (o.creditsCharged ?? 0), 0)
      expect(charged).toBeGreaterThan(cases.reduce((sum, x) => sum + x.estimate, 0))
      expect((yield* h.ledger.snapshot).spent).toBe(charged)
      expect((yield* h.sim.counters).creditsCharged.total).toBe(charged)
    }))

  it.scoped("the same id twice follows one task", () =>
    Effect.gen(function*() {
      const h = yield* start({ latency: { default: CloroSimulator.fixed(1_000) } })
      const outcomes = yield* runAll(h, [
        { id: "same", task: google("one") },
        { id: "other", task: google("two") },
        { id: "same", task: google("one") }
      ])
      expect(outcomes).toHaveLength(3)
      expect(outcomes.every((o) => Either.isRight(o.result))).toBe(true)
      const same = outcomes.filter((o) => o.id === "same")
      expect(same.map((o) => o.taskId)).toEqual([same[0]?.taskId, same[0]?.taskId])
      expect(yield* h.sim.tasks).toHaveLength(2)
    }))

  it.scoped("inputs without an id get keys no pinned Random can repeat, so a second run is not mistaken for the first", () =>
    Effect.gen(function*() {
      const h = yield* start({ latency: { default: CloroSimulator.fixed(1_000) } })
      // each run pinned to the same seed, as two runs of a reproducible job would be (and as two
      // processes whose live Random got the same 32-bit seed are)
      const once = () =>
        runAll(h, [{ task: google("one") }, { task: google("two") }]).pipe(Effect.withRandom(Random.make("reproducible")))
      const first = yield* once()
      const second = yield* once()
      expect([...first, ...second].map((o) => errorOf(o)?._tag)).toEqual([undefined, undefined, undefined, undefined])
      expect(yield* h.sim.tasks).toHaveLength(4)
    }))

  it.effect("invalid options fail the stream with every issue", () =>
    Effect.gen(function*() {
      const h = yield* Effect.scoped(start({}))
      const error = yield* AsyncTasks.run([], {
        batchSize: 501,
        inFlight: 0,
        timeout: Number.NaN,
        keyPrefix: "has space",
        webhooks: { events: Stream.empty, url: "ftp://example.com" }
      }).pipe(Stream.runCollect, Effect.flip, provide(h))
      expect(error._tag).toBe("InvalidRequest")
      expect(error._tag === "InvalidRequest" && error.issues.map((i) => i.field)).toEqual([
        "batchSize",
        "inFlight",
        "timeout",
        "keyPrefix",
        "webhooks.url"
      ])
    }))
})

describe("AsyncTasks.run resubmission", () => {
  const inputs = Array.from({ length: 500 }, (_, i) => ({ id: `job-${i}`, task: google(`query ${i}`) }))
  const options = { batchSize: 100, inFlight: 150 }

  /** Starts a run and interrupts it part-way, as a crash would. */
  const killed = (h: Harness, journal?: AsyncTasks.Journal) =>
    Effect.gen(function*() {
      const fiber = yield* AsyncTasks.run(inputs, { ...options, journal }).pipe(
        Stream.runCollect,
        provide(h),
        Effect.fork
      )
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.interrupt(fiber)
      return (yield* h.sim.tasks).length
    })

  it.scoped("re-running killed work with the same ids creates no duplicate; a journal follows the earlier tasks", () =>
    Effect.gen(function*() {
      const h = yield* start({ plan: { concurrency: 50, credits: 100_000 } })
      const journal = yield* AsyncTasks.memoryJournal
      const before = yield* killed(h, journal)
      expect(before).toBeGreaterThan(100)
      expect(before).toBeLessThan(inputs.length)
      // a killed run sends nothing more
      const requests = (yield* h.sim.counters).requestLog.length
      yield* TestClock.adjust("1 minute")
      expect((yield* h.sim.counters).requestLog.length).toBe(requests)
      const outcomes = yield* runAll(h, inputs, { ...options, journal })
      expect(outcomes).toHaveLength(inputs.length)
      expect(new Set(outcomes.map((o) => o.id)).size).toBe(inputs.length)
      expect(outcomes.filter((o) => Either.isLeft(o.result))).toEqual([])
      const tasks = yield* h.sim.tasks
      expect(tasks).toHaveLength(inputs.length)
      expect(new Set(tasks.map((t) => t.idempotencyKey)).size).toBe(inputs.length)
      expect(new Set(outcomes.map((o) => o.taskId))).toEqual(new Set(tasks.map((t) => t.id)))
    }))

  it.scoped("without a journal the earlier tasks come out as SubmittedUnfollowable (not failures), still without duplicates", () =>
    Effect.gen(function*() {
      const h = yield* start({ plan: { concurrency: 50, credits: 100_000 } })
      const before = yield* killed(h)
      const outcomes = yield* runAll(h, inputs, options)
      expect(outcomes).toHaveLength(inputs.length)
      const unknown = outcomes.filter((o) => AsyncTasks.kindOf(o) === "Unfollowable")
      expect(unknown).toHaveLength(before)
      expect(unknown[0]).toMatchObject({ taskId: undefined, creditsCharged: null, creditsToCharge: 3 })
      expect(errorOf(unknown[0])).toMatchObject({ reason: "KeyAlreadyUsed", mayBeCharged: true, idempotencyKey: unknown[0]?.id })
      expect(AsyncTasks.summarize(outcomes).byKind).toEqual({
        Completed: inputs.length - before,
        Failed: 0,
        Refused: 0,
        TimedOut: 0,
        Unfollowable: before
      })
      expect(outcomes.filter((o) => Either.isRight(o.result))).toHaveLength(inputs.length - before)
      expect(yield* h.sim.tasks).toHaveLength(inputs.length)
    }))

  it.scoped("a full queue is waited out and the same batch sent again", () =>
    Effect.gen(function*() {
      const h = yield* start({
        plan: { concurrency: 10, credits: 100_000 },
        latency: { default: CloroSimulator.fixed(1_000) },
        queueLimit: 150
      })
      const work = inputs.slice(0, 300)
      const outcomes = yield* runAll(h, work, {
        batchSize: 100,
        inFlight: 300,
        queueFullSchedule: Schedule.spaced("4 seconds"),
        schedule: Schedule.spaced("2 seconds")
      })
      expect(outcomes).toHaveLength(300)
      expect(outcomes.every((o) => Either.isRight(o.result))).toBe(true)
      const counters = yield* h.sim.counters
      expect(counters.rejections["QUEUE_LIMIT_EXCEEDED"]).toBeGreaterThan(0)
      expect(counters.requests["/v1/async/task/batch"]?.["200"]).toBe(3)
      const tasks = yield* h.sim.tasks
      expect(tasks).toHaveLength(300)
      expect(new Set(tasks.map((t) => t.idempotencyKey)).size).toBe(300)
    }))

  it.scoped("when the queue stays full, the batch's tasks end with QueueLimitExceeded", () =>
    Effect.gen(function*() {
      // one slot busy for an hour, one task queued: the queue is full for good
      const h = yield* start({ plan: { concurrency: 1 }, latency: { default: CloroSimulator.fixed(3_600_000) }, queueLimit: 1 })
      const outcomes = yield* runAll(h, inputs.slice(0, 3), {
        batchSize: 1,
        queueFullSchedule: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(2))),
        timeout: "1 minute"
      })
      expect(outcomes.map((o) => errorOf(o)?._tag).sort()).toEqual(["QueueLimitExceeded", "TaskTimeout", "TaskTimeout"])
      expect(outcomes.find((o) => errorOf(o)?._tag === "QueueLimitExceeded")).toMatchObject({ creditsCharged: 0 })
    }))
})

describe("AsyncTasks.run polling", () => {
  it.scoped("a run of failing polls (5xx, resets, garbage) never ends a task; each is followed to its real outcome", () =>
    Effect.gen(function*() {
      const h = yield* start({ plan: { concurrency: 20 }, latency: { default: CloroSimulator.fixed(5_000) } })
      const path = "/v1/async/task/{taskId}"
      // every poll fails for a while: far more failures than any retry budget allows
      yield* h.sim.injectFaults([
        { path, fault: "503", times: 40 },
        { path, fault: "reset", times: 40 },
        { path, fault: "garbageBody", times: 40 }
      ])
      const outcomes = yield* runAll(h, Array.from({ length: 20 }, (_, i) => ({ id: `flaky-${i}`, task: google(`q ${i}`) })), {
        schedule: Schedule.spaced("1 second"),
        pollRetrySchedule: Schedule.spaced("2 seconds"),
        pollConcurrency: 5
      })
      expect(outcomes.map(AsyncTasks.kindOf)).toEqual(Array(20).fill("Completed"))
      const answered = (yield* h.sim.counters).requests[path] ?? {}
      expect((answered["503"] ?? 0) + (answered["0"] ?? 0)).toBe(80)
      expect(yield* h.ledger.snapshot).toMatchObject({ spent: 60, pendingTasks: 0 })
    }))

  it.scoped("a task whose polls keep failing ends at its timeout, with the last poll error", () =>
    Effect.gen(function*() {
      const h = yield* start({ latency: { default: CloroSimulator.fixed(1_000) } })
      yield* h.sim.injectFaults([{ path: "/v1/async/task/{taskId}", fault: "503", times: 10_000 }])
      const [outcome] = yield* runAll(h, [{ id: "down", task: google("down") }], { timeout: "1 minute" })
      expect(errorOf(outcome)).toMatchObject({ _tag: "TaskTimeout", lastPollError: expect.stringContaining("ServiceUnavailable") })
      expect(AsyncTasks.kindOf(outcome!)).toBe("TimedOut")
    }))

  it.scoped("a poll schedule that stops ends the task with a TaskTimeout carrying its last status", () =>
    Effect.gen(function*() {
      const h = yield* start({ latency: { default: CloroSimulator.fixed(3_600_000) } })
      const [outcome] = yield* runAll(h, [{ id: "slow", task: google("slow") }], {
        schedule: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(2)))
      })
      expect(errorOf(outcome)).toMatchObject({ _tag: "TaskTimeout", taskType: "GOOGLE", lastStatus: "PROCESSING" })
      expect(errorOf(outcome)?.message).toContain("schedule stopped")
      expect(outcome).toMatchObject({ creditsToCharge: 3, creditsCharged: null })
      expect(outcome?.taskId).toBeDefined()
      // the first delay waits out the submission, then two polls
      expect((yield* polls(h.sim)).map((p) => p.startedAt)).toEqual([1_000, 2_000])
    }))

  it.scoped("polls only unfinished tasks, on the schedule, coalescing tasks that are due together", () =>
    Effect.gen(function*() {
      const h = yield* start({
        plan: { concurrency: 100 },
        latency: { engines: { google: CloroSimulator.fixed(4_000), gemini: CloroSimulator.fixed(40_000) } }
      })
      const requests = [
        ...Array.from({ length: 50 }, (_, i) => ({ id: `fast-${i}`, task: google(`fast ${i}`) })),
        ...Array.from({ length: 5 }, (_, i) => ({
          id: `slow-${i}`,
          task: Task.make("gemini", { prompt: `slow ${i}`, country: "US" })
        }))
      ]
      const outcomes = yield* runAll(h, requests)
      expect(outcomes.every((o) => Either.isRight(o.result))).toBe(true)
      const log = yield* polls(h.sim)
      // the default schedule from submission: 2 s, 5 s (fast ones done), 9.5, 16.25, 26.375, 41.375 s (slow ones done)
      const times = [...new Set(log.map((p) => p.startedAt))]
      expect(times).toEqual([2_000, 5_000, 9_500, 16_250, 26_375, 41_375])
      expect(log.filter((p) => p.startedAt === 2_000)).toHaveLength(55)
      expect(log.filter((p) => p.startedAt === 5_000)).toHaveLength(55)
      expect(log.filter((p) => p.startedAt > 5_000)).toHaveLength(5 * 4)
    }))

  it.scoped("holds at most inFlight tasks plus a batch, reading the input lazily", () =>
    Effect.gen(function*() {
      const h = yield* start({ plan: { concurrency: 20, credits: 100_000 } })
      const pulled = yield* Ref.make(0)
      const worst = yield* Ref.make({ unread: 0, pending: 0 })
      const requests = Stream.range(1, 400, 10).pipe(
        Stream.tap(() => Ref.update(pulled, (n) => n + 1)),
        Stream.map((n) => ({ id: `lazy-${n}`, task: google(`lazy ${n}`) }))
      )
      const emitted = yield* drive(
        AsyncTasks.run(requests, { batchSize: 50, inFlight: 100, schedule: Schedule.spaced("1 second") }).pipe(
          Stream.zipWithIndex,
          Stream.tap(([, i]) =>
            Effect.gen(function*() {
              const read = yield* Ref.get(pulled)
              const ledger = yield* h.ledger.snapshot
              yield* Ref.update(worst, (w) => ({
                unread: Math.max(w.unread, read - i),
                pending: Math.max(w.pending, ledger.pendingTasks)
              }))
            })
          ),
          Stream.runCount,
          provide(h)
        )
      )
      expect(emitted).toBe(400)
      const { pending, unread } = yield* Ref.get(worst)
      // in flight (100) + the rest of the batch being handed out (50) + the batch being filled (50) + a chunk (10)
      expect(unread).toBeLessThanOrEqual(100 + 50 + 50 + 10)
      expect(pending).toBeLessThanOrEqual(100 + 50)
      // and the window is used: two batches are followed, and polled, together
      expect((yield* polls(h.sim)).filter((p) => p.startedAt === 1_000)).toHaveLength(100)
    }))

  it.scoped("a slow reader holds submission back: outcomes not yet read count against inFlight", () =>
    Effect.gen(function*() {
      const h = yield* start({ plan: { concurrency: 20, credits: 100_000 } })
      const pulled = yield* Ref.make(0)
      const worst = yield* Ref.make(0)
      const requests = Stream.range(1, 200, 10).pipe(
        Stream.tap(() => Ref.update(pulled, (n) => n + 1)),
        Stream.map((n) => ({ id: `slow-${n}`, task: google(`slow ${n}`) }))
      )
      const emitted = yield* drive(
        AsyncTasks.run(requests, { batchSize: 10, inFlight: 30, schedule: Schedule.spaced("1 second") }).pipe(
          Stream.zipWithIndex,
          // the reader takes 5 s per outcome, far slower than the tasks end
          Stream.tap(([, i]) =>
            Effect.zipRight(
              Effect.sleep("5 seconds"),
              Effect.flatMap(Ref.get(pulled), (read) => Ref.update(worst, (w) => Math.max(w, read - i)))
            )
          ),
          Stream.runCount,
          provide(h)
        )
      )
      expect(emitted).toBe(200)
      // inputs read ahead of the reader: the window (30) + a batch handed out (10) + a batch being filled (10) + a chunk (10)
      const ahead = yield* Ref.get(worst)
      expect(ahead).toBeLessThanOrEqual(30 + 10 + 10 + 10)
      expect(ahead).toBeGreaterThanOrEqual(30)
    }))
})

/** A task of an engine with its async estimate, and whether AI Mode expands products. */
function c<N extends Engine.EngineName>(engine: N, payload: Engine.Request<N>) {
  return {
    task: Task.make(engine, payload),
    estimate: Pricing.estimate(engine, payload, { mode: "async" }),
    expands: engine === "aimode" && JSON.stringify(payload).includes("expandProducts")
  }
}

describe("AsyncTasks.run batchWindow", () => {
  it.scoped("sends a partial batch of a trickling stream once the window passes", () =>
    Effect.gen(function*() {
      const h = yield* start({})
      const trickle = Stream.concat(
        Stream.fromIterable([0, 1, 2].map((i) => ({ id: `slow-${i}`, task: google(`slow ${i}`) }))),
        Stream.never
      )
      const without = yield* Effect.fork(AsyncTasks.run(trickle).pipe(Stream.take(3), Stream.runCollect, provide(h)))
      yield* TestClock.adjust("30 seconds")
      // without a window the three inputs wait for 497 more that never come
      expect((yield* h.sim.tasks).length).toBe(0)
      yield* Fiber.interrupt(without)
      const outcomes = yield* drive(
        AsyncTasks.run(trickle, { batchWindow: "2 seconds" }).pipe(Stream.take(3), Stream.runCollect, provide(h))
      )
      expect(Chunk.size(outcomes)).toBe(3)
      expect(Chunk.toReadonlyArray(outcomes).every((o) => Either.isRight(o.result))).toBe(true)
      expect((yield* h.sim.tasks).length).toBe(3)
    }))

  it.scoped("refuses a batchWindow that is not a positive duration", () =>
    Effect.gen(function*() {
      const h = yield* start({})
      const error = yield* Effect.flip(
        AsyncTasks.run([], { batchWindow: -5 }).pipe(Stream.runCollect, provide(h))
      )
      expect(error._tag).toBe("InvalidRequest")
    }))
})

describe("AsyncTasks.run with a failing input stream", () => {
  it.scoped("follows every task already submitted to its outcome, then fails with the input's error", () =>
    Effect.gen(function*() {
      const h = yield* start({})
      const inputs = Stream.concat(
        Stream.fromIterable([0, 1, 2].map((i) => ({ id: `before-failure-${i}`, task: google(`q ${i}`) }))),
        Stream.fail("the input broke" as const)
      )
      const emitted = yield* drive(
        AsyncTasks.run(inputs).pipe(Stream.either, Stream.runCollect, Effect.map(Chunk.toReadonlyArray), provide(h))
      )
      const outcomes = emitted.filter(Either.isRight).map((e) => e.right)
      expect(outcomes.map((o) => o.id).sort()).toEqual(["before-failure-0", "before-failure-1", "before-failure-2"])
      expect(outcomes.every((o) => Either.isRight(o.result))).toBe(true)
      expect(emitted.at(-1)).toEqual(Either.left("the input broke"))
      expect((yield* h.sim.tasks).length).toBe(3)
    }))
})

