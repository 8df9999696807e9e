/**
 * Webhook receivers shared through a real redis-server: one replay memory for
 * every worker, and a delivery that reaches one worker completes the task
 * another is waiting for.
 */
import { createServer } from "node:http"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Either, Layer, Stream } from "effect"
import { Redis } from "ioredis"
import { AsyncTasks, Cloro, CloroClient, CloroConfig, Credits, Task, Webhooks } from "../../src/index.js"
import { RedisStore, RedisWebhooks } from "../../src/redis/index.js"
import { CloroSimulator } from "../../src/testing/index.js"
import { freePort, freshPrefix, redisUrl } from "./harness.js"

const secret = "whsec_redis_webhooks"
const KEY = "sk_test_redis_webhooks"

/** One worker's connections to the shared Redis. */
const storeOf = (prefix: string, url = redisUrl ?? "") =>
  Layer.build(RedisStore.layer({ url, prefix })).pipe(Effect.map((context) => Context.get(context, RedisStore.RedisStore)))

/** cloro signs each attempt of a task anew, seconds apart: attempt n at 10 - n seconds before now. */
const delivery = (taskId: string, attempt: number) => {
  const body = JSON.stringify({
    task: {
      id: taskId,
      taskType: "CHATGPT",
      status: "COMPLETED",
      priority: 1,
      createdAt: "2026-11-29T21:00:00.000Z",
      latencyMs: 41250,
      idempotencyKey: null
    },
    credits: { creditsToCharge: 5, creditsCharged: 5 },
    response: { text: `answer for ${taskId}`, sources: [{ position: 1, url: "https://acme.example" }] }
  })
  const headers = Webhooks.signedHeaders({
    secret,
    timestampSeconds: Math.floor(Date.now() / 1000) - 10 + attempt,
    rawBody: body,
    webhookId: `${taskId}-${attempt}`
  })
  return () => new Request("http://worker/hooks/cloro", { method: "POST", headers, body })
}

describe.skipIf(redisUrl === undefined)("RedisWebhooks", () => {
  it.scopedLive("a delivery replayed to another worker is refused there: the replay memory is shared", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const [a, b] = [yield* storeOf(prefix), yield* storeOf(prefix)]
      const handled: Array<string> = []
      const handler = (store: RedisStore.RedisStoreShape, worker: string) =>
        Effect.flatMap(Effect.provideService(RedisWebhooks.replayStore, RedisStore.RedisStore, store), (replayStore) =>
          Webhooks.makeHandler({
            secret,
            replayStore,
            onEvent: (event) => Effect.sync(() => handled.push(`${worker}:${event.state.task.id}`))
          }))
      const workerA = HttpApp.toWebHandler(yield* handler(a, "A"))
      const workerB = HttpApp.toWebHandler(yield* handler(b, "B"))
      const first = delivery("task-1", 1)
      const accepted = yield* Effect.promise(() => workerA(first()).then((r) => r.json()))
      const replayed = yield* Effect.promise(() => workerB(first()).then((r) => r.json()))
      expect(accepted).toEqual({ received: true, duplicate: false })
      expect(replayed).toEqual({ received: true, duplicate: true })
      // a new delivery (another task) still passes at B
      const other = yield* Effect.promise(() => workerB(delivery("task-2", 1)()).then((r) => r.json()))
      expect(other).toEqual({ received: true, duplicate: false })
      expect(handled).toEqual(["A:task-1", "B:task-2"])

      // Control: receivers with their own memory both accept the same replay.
      const local = [
        HttpApp.toWebHandler(yield* Webhooks.makeHandler({ secret, onEvent: () => Effect.void })),
        HttpApp.toWebHandler(yield* Webhooks.makeHandler({ secret, onEvent: () => Effect.void }))
      ]
      const third = delivery("task-3", 1)
      const answers = yield* Effect.promise(() => Promise.all(local.map((app) => app(third()).then((r) => r.json()))))
      expect(answers).toEqual([{ received: true, duplicate: false }, { received: true, duplicate: false }])
    }))

  it.scopedLive("attempts of one task reaching different workers are recorded once, even at the same instant", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const job = "job-redeliveries"
      const [a, b] = [yield* storeOf(prefix), yield* storeOf(prefix)]
      const handler = (store: RedisStore.RedisStoreShape) =>
        Effect.map(
          RedisWebhooks.makeHandler(job, { secret }).pipe(Effect.provideService(RedisStore.RedisStore, store)),
          HttpApp.toWebHandler
        )
      const [workerA, workerB] = [yield* handler(a), yield* handler(b)]
      // cloro's second attempt of task-1 reaches B after A accepted the first
      const answers = [
        yield* Effect.promise(() => workerA(delivery("task-1", 1)()).then((r) => r.status)),
        yield* Effect.promise(() => workerB(delivery("task-1", 2)()).then((r) => r.status))
      ]
      // two attempts of task-2 reach A and B at once, ten times over (tasks 2..11)
      const racing = yield* Effect.promise(() =>
        Promise.all(Array.from({ length: 10 }, (_, i) => [
          workerA(delivery(`task-${i + 2}`, 1)()).then((r) => r.status),
          workerB(delivery(`task-${i + 2}`, 2)()).then((r) => r.status)
        ]).flat())
      )
      const redis = new Redis(redisUrl ?? "")
      const entries = yield* Effect.promise(() => redis.xrange(`${prefix}job:${job}:deliveries`, "-", "+"))
      yield* Effect.promise(() => redis.quit())
      const tasks = entries.map(([, fields]) => (JSON.parse(fields[1] ?? "{}") as { task: { id: string } }).task.id)
      console.log("redeliveries across workers:", { answers: [...answers, ...racing].length, recorded: entries.length })
      // every attempt is acknowledged (cloro stops retrying), each task recorded once
      expect([...answers, ...racing].every((status) => status === 200)).toBe(true)
      expect([...tasks].sort()).toEqual(Array.from({ length: 11 }, (_, i) => `task-${i + 1}`).sort())
      // and every worker's deliveries stream sees each task once
      const events = yield* Effect.provideService(RedisWebhooks.deliveries(job), RedisStore.RedisStore, b)
      const seen = yield* events.pipe(Stream.take(11), Stream.runCollect, Effect.timeout("5 seconds"))
      expect(new Set(Chunk.toReadonlyArray(seen).map((e) => e.state.task.id)).size).toBe(11)
    }))

  it.scopedLive("with the replay store unreachable a delivery gets 503 (cloro retries), never accepted unchecked", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const down = yield* storeOf(freshPrefix(), `redis://127.0.0.1:${port}`)
      const called: Array<string> = []
      const replayStore = yield* Effect.provideService(RedisWebhooks.replayStore, RedisStore.RedisStore, down)
      const app = HttpApp.toWebHandler(
        yield* Webhooks.makeHandler({ secret, replayStore, onEvent: (e) => Effect.sync(() => called.push(e.state.task.id)) })
      )
      const response = yield* Effect.promise(() => app(delivery("task-9", 1)()))
      expect(response.status).toBe(503)
      expect(called).toEqual([])
    }))

  it.scopedLive("two workers over HTTP: each one's tasks are delivered to the other's receiver, and every run completes without a poll", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const job = "job-webhooks"
      const http = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
      const sim = Context.get(
        yield* Layer.build(CloroSimulator.layerServer(
          {
            accounts: [{ apiKey: KEY, plan: { concurrency: 20, credits: 100_000 } }],
            latency: { default: CloroSimulator.uniform(5, 60) },
            webhookSecret: secret
          },
          { webhookClient: http }
        )),
        CloroSimulator.CloroSimulator
      )
      const worker = (name: string) =>
        Effect.gen(function*() {
          const store = yield* storeOf(prefix)
          const app = yield* RedisWebhooks.makeHandler(job, { secret, path: "/hooks/cloro" }).pipe(
            Effect.provideService(RedisStore.RedisStore, store)
          )
          const server = Context.get(
            yield* Layer.build(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
            HttpServer.HttpServer
          )
          yield* server.serve(app)
          const address = server.address
          const url = address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}/hooks/cloro` : ""
          const ledger = yield* Credits.make()
          const client = yield* CloroClient.make.pipe(
            Effect.provideService(Credits.Credits, ledger),
            Effect.provideService(HttpClient.HttpClient, http),
            Effect.provide(CloroConfig.layer({ apiKey: KEY, baseUrl: sim.url })),
            Effect.provide(Cloro.layerBare)
          )
          const events = yield* Effect.provideService(RedisWebhooks.deliveries(job), RedisStore.RedisStore, store)
          const run = (hookUrl: string, n: number) =>
            AsyncTasks.run(
              Array.from({ length: n }, (_, i) => ({
                id: `${name}-${i}`,
                task: Task.make("google", { query: `${name} ${i}`, country: "US" })
              })),
              {
                batchSize: 10,
                // far beyond the test: a task completes by a delivery or not at all
                webhooks: { events, url: hookUrl, fallbackAfter: "5 minutes" }
              }
            ).pipe(
              Stream.runCollect,
              Effect.map(Chunk.toReadonlyArray),
              Effect.provideService(CloroClient.CloroClient, client),
              Effect.provideService(Credits.Credits, ledger)
            )
          return { url, run, ledger }
        })
      const [a, b] = [yield* worker("a"), yield* worker("b")]
      // A's tasks are delivered to B's receiver, and B's to A's.
      const [fromA, fromB] = yield* Effect.all([a.run(b.url, 30), b.run(a.url, 30)], { concurrency: 2 }).pipe(
        Effect.timeout("60 seconds")
      )
      expect(fromA.filter((o) => Either.isRight(o.result))).toHaveLength(30)
      expect(fromB.filter((o) => Either.isRight(o.result))).toHaveLength(30)
      const deliveries = yield* sim.webhooks
      expect(deliveries.filter((d) => d.url === b.url && d.status === 200)).toHaveLength(30)
      expect(deliveries.filter((d) => d.url === a.url && d.status === 200)).toHaveLength(30)
      const counters = yield* sim.counters
      expect(counters.requestLog.filter((entry) => entry.endpoint === "/v1/async/task/{taskId}")).toHaveLength(0)
      // each worker's ledger settled its own tasks, from deliveries the other worker received
      expect((yield* a.ledger.snapshot).pendingTasks).toBe(0)
      expect((yield* b.ledger.snapshot).pendingTasks).toBe(0)
      const redis = new Redis(redisUrl ?? "")
      const recorded = yield* Effect.promise(() => redis.xlen(`${prefix}job:${job}:deliveries`))
      yield* Effect.promise(() => redis.quit())
      console.log("two workers, crossed deliveries:", { recorded, deliveries: deliveries.length })
      expect(recorded).toBe(60)
    }))
})
