import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as Task from "../src/Task.js"
import * as CloroSimulator from "../src/testing/CloroSimulator.js"

const KEY = "sk_test_async_submit"

/** A client whose first `lose` POSTs reach the simulator (which creates the task) and then lose their answer. */
const losingAnswers = (lose: number) =>
  Effect.gen(function*() {
    const sim = yield* CloroSimulator.make({ accounts: [{ apiKey: KEY, plan: {} }] })
    const inner = CloroSimulator.httpClient(sim.handle)
    const left = yield* Ref.make(lose)
    const http = HttpClient.make((request) =>
      Effect.gen(function*() {
        const response = yield* inner.execute(request)
        const drop = request.method === "POST" && (yield* Ref.getAndUpdate(left, (n) => n - 1)) > 0
        if (drop) {
          return yield* new HttpClientError.RequestError({ request, reason: "Transport", description: "connection reset after the answer" })
        }
        return response
      })
    )
    const client = yield* CloroClient.make.pipe(
      Effect.provide(Layer.merge(CloroConfig.layer({ apiKey: KEY, baseUrl: sim.url }), Layer.succeed(HttpClient.HttpClient, http))),
      // the client's own policy would resend at once; `submit` must not depend on it
      Effect.provideService(RetryPolicy.RetryPolicy, RetryPolicy.none),
      Effect.provide(Cloro.layerBare)
    )
    return { sim, client }
  }).pipe(Effect.orDie)

const task = (key?: string) => Task.make("google", { query: "crm", country: "US" }, key === undefined ? {} : { idempotencyKey: key })
const quick = { retrySchedule: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(3))) }

describe("AsyncTasks.submit", () => {
  it.scopedLive("a submit whose answer is lost is SubmittedUnfollowable, not a failure; with a journal it is followed", () =>
    Effect.gen(function*() {
      const { client, sim } = yield* losingAnswers(1)
      const error = yield* Effect.flip(AsyncTasks.submit(task("one"), quick).pipe(Effect.provideService(CloroClient.CloroClient, client)))
      expect(error).toMatchObject({ _tag: "SubmittedUnfollowable", reason: "AmbiguousSubmit", idempotencyKey: "one", mayBeCharged: true, creditsToCharge: 3 })
      expect(yield* sim.tasks).toHaveLength(1)

      // plain client: the same situation is a Conflict, which is why `submit` exists
      const plain = yield* losingAnswers(1)
      const conflict = yield* Effect.flip(
        plain.client.tasks.submit(task("two"), { retry: yield* RetryPolicy.make({ base: "1 millis", jitter: false }) })
      )
      expect(conflict._tag).toBe("Conflict")

      // the journal was written before sending and holds no id: still unfollowable, never created twice
      const journal = yield* AsyncTasks.memoryJournal
      const again = yield* losingAnswers(1)
      const third = yield* Effect.flip(
        AsyncTasks.submit(task("three"), { ...quick, journal }).pipe(Effect.provideService(CloroClient.CloroClient, again.client))
      )
      expect(third._tag).toBe("SubmittedUnfollowable")
      // a later submit of the same key, recorded this time, is followed by id
      const fine = yield* AsyncTasks.submit(task("four"), { ...quick, journal }).pipe(Effect.provideService(CloroClient.CloroClient, again.client))
      const repeat = yield* AsyncTasks.submit(task("four"), { ...quick, journal }).pipe(Effect.provideService(CloroClient.CloroClient, again.client))
      expect(repeat.task.id).toBe(fine.task.id)
      expect(yield* again.sim.tasks).toHaveLength(2)
    }))

  it.scoped("a key used before is KeyAlreadyUsed; bad input is a typed error", () =>
    Effect.gen(function*() {
      const { client } = yield* losingAnswers(0)
      const provide = Effect.provideService(CloroClient.CloroClient, client)
      yield* AsyncTasks.submit(task("used")).pipe(provide)
      expect(yield* Effect.flip(AsyncTasks.submit(task("used")).pipe(provide))).toMatchObject({ reason: "KeyAlreadyUsed" })
      const notATask: Task.SubmitTask = JSON.parse("null")
      expect(yield* Effect.flip(AsyncTasks.submit(notATask).pipe(provide))).toMatchObject({ _tag: "InvalidRequest" })
      const badOptions: AsyncTasks.SubmitOptions = JSON.parse("{\"retrySchedule\": 5}")
      expect(yield* Effect.flip(AsyncTasks.submit(task(), badOptions).pipe(provide))).toMatchObject({ _tag: "InvalidRequest" })
    }))
})

describe("AsyncTasks entry points never throw", () => {
  it.scoped("wait and run turn any JS value into a typed failure", () =>
    Effect.gen(function*() {
      const { client } = yield* losingAnswers(0)
      const provide = Effect.provideService(CloroClient.CloroClient, client)
      const notAnId: string = JSON.parse("null")
      expect(yield* Effect.flip(AsyncTasks.wait(notAnId).pipe(provide))).toMatchObject({ _tag: "InvalidRequest" })
      const notOptions: AsyncTasks.RunOptions = JSON.parse("7")
      const notInputs: ReadonlyArray<AsyncTasks.RunRequest> = JSON.parse("{\"a\":1}")
      const { Stream } = yield* Effect.promise(() => import("effect"))
      expect(yield* Effect.flip(Stream.runCollect(AsyncTasks.run([], notOptions)).pipe(provide))).toMatchObject({ _tag: "InvalidRequest" })
      expect(yield* Effect.flip(Stream.runCollect(AsyncTasks.run(notInputs)).pipe(provide))).toMatchObject({ _tag: "InvalidRequest" })
      const badSchedule: AsyncTasks.RunOptions = JSON.parse("{\"schedule\": \"often\", \"journal\": {}}")
      const error = yield* Effect.flip(Stream.runCollect(AsyncTasks.run([], badSchedule)).pipe(provide))
      expect(error._tag === "InvalidRequest" && error.issues.map((i) => i.field)).toEqual(["schedule", "journal"])
      // an iterable that throws ends the run with a typed error after what was read
      const throwing: Iterable<AsyncTasks.RunRequest> = {
        *[Symbol.iterator]() {
          yield { id: "ok", task: task() }
          throw new Error("the source broke")
        }
      }
      const emitted = yield* Stream.runCollect(Stream.either(AsyncTasks.run(throwing, { schedule: Schedule.spaced("10 millis") }))).pipe(provide)
      const last = [...emitted].at(-1)
      expect(last?._tag === "Left" && last.left._tag).toBe("InvalidRequest")
      // a bad item inside the input is a failed outcome, not a throw
      const items: ReadonlyArray<AsyncTasks.RunRequest> = JSON.parse("[null, 3, {\"task\": 5}, {\"id\": 4, \"task\": {}}]")
      const outcomes = [...(yield* Stream.runCollect(AsyncTasks.run(items)).pipe(provide))]
      expect(outcomes.map(AsyncTasks.kindOf)).toEqual(["Refused", "Refused", "Refused", "Refused"])
    }))
})
