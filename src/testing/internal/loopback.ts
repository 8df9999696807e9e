/**
 * The loopback transport: the simulator's core served by a real Node HTTP
 * server on 127.0.0.1, with `@effect/platform-node` (an optional peer
 * dependency) loaded only when this layer is built. An injected `reset`
 * destroys the socket; closing the scope drops open connections first, so
 * requests sleeping out their latency or a stall do not hold the close open.
 *
 * @internal
 */
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { createServer } from "node:http"
import type * as Api from "../CloroSimulator.js"
import type * as Core from "./core.js"
import { fromCore } from "./service.js"
import { simRequest } from "./wire.js"

/**
 * The platform runs a served app uninterruptibly (so a response is never cut
 * half-written); the simulator's work is made interruptible again so that a
 * caller hanging up, or the server closing, stops a request sleeping out its
 * latency or a stall.
 */
const serverApp = (handle: Core.Core["handle"], nodeRequest: typeof NodeHttpServerRequest) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://127.0.0.1")
    const body = yield* Effect.orElseSucceed(request.text, () => "")
    const result = yield* Effect.either(handle(simRequest(request.method, url, request.headers, body)))
    if (Either.isLeft(result)) {
      yield* Effect.sync(() => nodeRequest.toIncomingMessage(request).socket.destroy())
      return HttpServerResponse.empty({ status: 500 })
    }
    const { status, headers, body: text } = result.right
    const contentType = Object.entries(headers).find(([k]) => k.toLowerCase() === "content-type")?.[1]
    return HttpServerResponse.text(text, {
      status,
      headers: Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== "content-type")),
      ...(contentType === undefined ? {} : { contentType })
    })
  }).pipe(Effect.interruptible)

/**
 * `@effect/platform-node` is an optional peer dependency, needed only by the
 * loopback server: it is loaded when `layerServer` is built, so importing
 * `cloro-effect/testing` (and the in-memory simulator) works without it.
 */
const loadNodeServer: Effect.Effect<{
  readonly server: typeof NodeHttpServer
  readonly request: typeof NodeHttpServerRequest
}> = Effect.tryPromise(() =>
  Promise.all([
    import("@effect/platform-node/NodeHttpServer"),
    import("@effect/platform-node/NodeHttpServerRequest")
  ])
).pipe(
  Effect.map(([server, request]) => ({ server, request })),
  Effect.orDieWith((error) =>
    new Error(
      "CloroSimulator.layerServer needs the optional peer dependency @effect/platform-node " +
        "(npm install @effect/platform-node)",
      { cause: error.error }
    )
  )
)

/**
 * The service `tag` answered by a core that `start` builds once the server
 * listens on 127.0.0.1:`port` (0 = a free port).
 *
 * @internal
 */
export const layer = <I, E>(
  tag: Context.Tag<I, Api.Service>,
  start: Effect.Effect<Core.Core, E, Scope.Scope>,
  port: number
): Layer.Layer<I, E | HttpServerError.ServeError> =>
  Layer.unwrapEffect(Effect.map(loadNodeServer, (node) => {
    const nodeServer = createServer()
    const simulator = Layer.scoped(
      tag,
      Effect.gen(function*() {
        const core = yield* start
        const server = yield* HttpServer.HttpServer
        // The app takes every request itself (no router): unknown routes and malformed
        // paths get cloro's error envelope, exactly as in memory.
        yield* server.serve(serverApp(core.handle, node.request))
        // Runs before the server's own close (registered later, released earlier):
        // dropping open connections interrupts requests still sleeping out their
        // latency or a stall, which would otherwise hold the close open.
        yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
        const address = server.address
        const url = address._tag === "TcpAddress"
          ? `http://${address.hostname === "0.0.0.0" ? "127.0.0.1" : address.hostname}:${address.port}`
          : `http://unix:${address.path}`
        return fromCore(core, url)
      })
    )
    return simulator.pipe(
      Layer.provide(node.server.layer(() => nodeServer, { port, host: "127.0.0.1" }))
    )
  }))
