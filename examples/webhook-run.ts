/**
 * A webhook-driven async run in production shape: a receiver mounted on a
 * Node HTTP server verifies cloro's signed deliveries, and `AsyncTasks.run`
 * waits for them instead of polling (with a slow poll as a fallback for
 * deliveries that never arrive).
 *
 * Needs CLORO_API_KEY, CLORO_WEBHOOK_SECRET (the `whsec_...` from cloro's
 * dashboard) and PUBLIC_WEBHOOK_URL (where cloro can reach this server, e.g.
 * through a tunnel to port 8787). Type-checked in CI; not run there.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as Cloro from "../src/Cloro.js"
import * as Task from "../src/Task.js"
import * as Webhooks from "../src/Webhooks.js"

const program = Effect.gen(function*() {
  const secret = yield* Config.redacted("CLORO_WEBHOOK_SECRET")
  const publicUrl = yield* Config.string("PUBLIC_WEBHOOK_URL")

  // The receiver lives as long as this scope: it verifies, refuses replays, deduplicates on task id and
  // buffers events. It refuses to start without the secret.
  const receiver = yield* Webhooks.makeReceiver({ secret })
  const router = HttpRouter.empty.pipe(HttpRouter.post("/hooks/cloro", receiver.app))
  yield* Layer.launch(
    HttpServer.serve(router).pipe(Layer.provide(NodeHttpServer.layer(() => createServer(), { port: 8787 })))
  ).pipe(Effect.forkScoped)

  const requests = ["CRM for startups", "running shoes", "EV makers"].map((topic, i) => ({
    id: `webhook-example-${i}`,
    task: Task.make("perplexity", { prompt: `Best ${topic}?`, country: "US" })
  }))

  yield* AsyncTasks.run(requests, { webhooks: { events: receiver.events, url: publicUrl } }).pipe(
    Stream.runForEach((outcome) =>
      Either.match(outcome.result, {
        onRight: (done) => Effect.log(`${outcome.id}: ${done.taskType} done, ${outcome.creditsCharged} credits`),
        // SubmittedUnfollowable: cloro may have created and billed it; no delivery carrying its key arrived
        onLeft: (error) => Effect.logWarning(`${outcome.id}: ${AsyncTasks.kindOf(outcome)} ${error._tag}: ${error.message}`)
      })
    )
  )
}).pipe(Effect.scoped)

const CloroLive = Cloro.layerConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))

NodeRuntime.runMain(program.pipe(Effect.provide(CloroLive)))
