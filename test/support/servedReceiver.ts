/**
 * A webhook receiver served on loopback, as a user would deploy it: its
 * deliveries arrive over real HTTP at `url`.
 */
import { createServer } from "node:http"
import * as HttpServer from "@effect/platform/HttpServer"
import { NodeHttpServer } from "@effect/platform-node"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Webhooks from "../../src/Webhooks.js"

export const servedReceiver = (secret: string) =>
  Effect.gen(function*() {
    const receiver = yield* Webhooks.makeReceiver({ secret, path: "/hooks/cloro" })
    const context = yield* Layer.build(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
    const server = Context.get(context, HttpServer.HttpServer)
    yield* server.serve(receiver.app)
    const address = server.address
    const url = address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}/hooks/cloro` : ""
    return { receiver, url }
  })
