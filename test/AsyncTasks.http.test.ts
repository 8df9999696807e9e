import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Cloro from "../src/Cloro.js"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as Credits from "../src/Credits.js"
import * as Task from "../src/Task.js"
import * as CloroSimulator from "../src/testing/CloroSimulator.js"
import * as ServedReceiver from "./support/servedReceiver.js"

const KEY = "sk_test_async_http"
const secret = "whsec_async_http"

const servedReceiver = ServedReceiver.servedReceiver(secret)

describe("AsyncTasks over HTTP", () => {
  it.scopedLive("runs tasks against the loopback simulator by polling, and by webhooks posted to a served receiver", () =>
    Effect.gen(function*() {
      const http = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
      const { receiver, url } = yield* servedReceiver
      const simContext = yield* Layer.build(
        CloroSimulator.layerServer(
          {
            accounts: [{ apiKey: KEY, plan: { concurrency: 10, credits: 10_000 } }],
            latency: { default: CloroSimulator.uniform(5, 40) },
            webhookSecret: secret
          },
          { webhookClient: http }
        )
      )
      const sim = Context.get(simContext, CloroSimulator.CloroSimulator)
      const ledger = yield* Credits.make()
      const client = yield* CloroClient.make.pipe(
        Effect.provideService(Credits.Credits, ledger),
        Effect.provideService(HttpClient.HttpClient, http),
        Effect.provide(CloroConfig.layer({ apiKey: KEY, baseUrl: sim.url })), Effect.provide(Cloro.layerBare))
      const requests = (prefix: string, n: number) =>
        Array.from({ length: n }, (_, i) => ({
          id: `${prefix}-${i}`,
          task: Task.make("google", { query: `${prefix} ${i}`, country: "US" })
        }))
      const runAll = (requests: ReadonlyArray<AsyncTasks.RunRequest>, options: AsyncTasks.RunOptions) =>
        AsyncTasks.run(requests, options).pipe(
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray),
          Effect.provideService(CloroClient.CloroClient, client),
          Effect.provideService(Credits.Credits, ledger)
        )

      const polled = yield* runAll(requests("poll", 40), { batchSize: 15, schedule: Schedule.spaced("25 millis") })
      expect(polled).toHaveLength(40)
      expect(polled.every((o) => Either.isRight(o.result))).toBe(true)
      expect((yield* sim.counters).requests["/v1/async/task/batch"]).toEqual({ "200": 3 })

      const hooked = yield* runAll(requests("hook", 20), {
        webhooks: { events: receiver.events, url, fallbackAfter: "10 seconds" }
      })
      expect(hooked.every((o) => Either.isRight(o.result))).toBe(true)
      // the simulator records an attempt once our 200 reached it, just after the run saw the event
      const deliveries = yield* Effect.map(sim.webhooks, (all) => all.filter((d) => d.url === url)).pipe(
        Effect.filterOrFail((all) => all.length >= 20),
        Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 200 })
      )
      expect(deliveries).toHaveLength(20)
      expect(deliveries.every((d) => d.status === 200)).toBe(true)

      const one = (yield* client.tasks.submit(Task.make("chatgpt", { prompt: "one more", country: "US" }))).result
      const done = yield* AsyncTasks.wait(one.task.id, { schedule: Schedule.spaced("20 millis"), timeout: "10 seconds" }).pipe(
        Effect.provideService(CloroClient.CloroClient, client)
      )
      expect(done.taskType).toBe("CHATGPT")

      const tasks = yield* sim.tasks
      expect(tasks).toHaveLength(61)
      expect(yield* ledger.snapshot).toMatchObject({ spent: (yield* sim.counters).creditsCharged.total, pendingTasks: 0 })
    }))
})
