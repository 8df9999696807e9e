/**
 * A billed sync call whose connection fails, over real loopback sockets: cut
 * after the server read the request (cloro may bill it: `mayBeCharged`, its
 * estimate counted apart in the ledger) or refused before anything was
 * written (free). And the exchange finished in the background after an
 * interrupt is tied to the client layer's scope: closing it waits for the
 * exchange within its timeout and settles it.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import * as Net from "node:net"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"
import * as Credits from "../src/Credits.js"
import * as Pricing from "../src/Pricing.js"

const KEY = "sk_test_transport"
const request = { prompt: "cut", country: "US" } as const
const estimate = Pricing.estimate("chatgpt", request, { mode: "sync" })

/** A TCP server on loopback; `onRequest` gets each socket once a whole request head and body arrived. */
const tcpServer = (onRequest: (socket: Net.Socket) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Net.Server; readonly port: number; readonly requests: () => number }>((resume) => {
      let requests = 0
      const server = Net.createServer((socket) => {
        let seen = ""
        socket.on("data", (chunk) => {
          seen += chunk.toString("latin1")
          const head = seen.indexOf("\r\n\r\n")
          if (head < 0) return
          const length = Number(/content-length: *(\d+)/i.exec(seen.slice(0, head))?.[1] ?? "0")
          if (seen.length - head - 4 < length) return
          seen = ""
          requests++
          onRequest(socket)
        })
        socket.on("error", () => undefined)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed({ server, port: typeof address === "object" && address ? address.port : 0, requests: () => requests }))
      })
    }),
    ({ server }) => Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
  )

/** A port that nothing listens on: bound, then closed. */
const closedPort = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const clientLayer = (port: number, timeout: Duration.DurationInput = "5 seconds") =>
  Cloro.layer(
    { apiKey: KEY, baseUrl: `http://127.0.0.1:${port}`, monitorTimeout: timeout },
    { monitor: "silent", concurrency: { limit: 2 } }
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))

describe("a connection that fails under a billed sync call", () => {
  it.live("cut after the server read the request: TransportError { mayBeCharged: true }, its estimate counted apart", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* tcpServer((socket) => socket.destroy())
      const context = yield* Layer.build(clientLayer(server.port))
      const client = Context.get(context, CloroClient.CloroClient)
      const result = yield* Effect.either(client.monitor.chatgpt(request))
      const snapshot = yield* Context.get(context, Credits.Credits).snapshot
      console.log(
        `cut after read: ${result._tag === "Left" ? JSON.stringify(result.left) : "answered"}; ledger ${JSON.stringify(snapshot)}`
      )
      expect(server.requests()).toBe(1)
      expect(result._tag === "Left" && result.left._tag).toBe("TransportError")
      expect(result._tag === "Left" && result.left._tag === "TransportError" && result.left.mayBeCharged).toBe(true)
      expect(snapshot.mayBeCharged).toBe(estimate)
      expect(snapshot.spent).toBe(0)
      expect(snapshot.reserved).toBe(0)
    })))

  it.live("refused before anything was written: TransportError { mayBeCharged: false }, free", () =>
    Effect.scoped(Effect.gen(function*() {
      const port = yield* closedPort
      const context = yield* Layer.build(clientLayer(port))
      const client = Context.get(context, CloroClient.CloroClient)
      const result = yield* Effect.either(client.monitor.chatgpt(request))
      const snapshot = yield* Context.get(context, Credits.Credits).snapshot
      console.log(`refused: ${result._tag === "Left" ? result.left.message : "answered"}; ledger ${JSON.stringify(snapshot)}`)
      expect(result._tag === "Left" && result.left._tag).toBe("TransportError")
      expect(result._tag === "Left" && result.left._tag === "TransportError" && result.left.mayBeCharged).toBe(false)
      expect(snapshot.mayBeCharged).toBe(0)
      expect(snapshot.spent).toBe(0)
      expect(snapshot.reserved).toBe(0)
    })))
})

describe("an exchange finished in the background is tied to the client's layer", () => {
  it.live("closing the layer while an interrupted call's exchange is on the wire waits for it and settles it", () =>
    Effect.gen(function*() {
      const answer = JSON.stringify({ success: true, result: { text: "late", sources: [] } })
      const received = yield* Deferred.make<void>()
      // Answers 300 ms after reading the request, charging 7.
      const outer = yield* Scope.make()
      const tcp = yield* Scope.extend(
        tcpServer((socket) => {
          Deferred.unsafeDone(received, Exit.void)
          setTimeout(() => {
            socket.end(
              `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-credits-charged: 7\r\n` +
                `content-length: ${Buffer.byteLength(answer)}\r\nconnection: close\r\n\r\n${answer}`
            )
          }, 300)
        }),
        outer
      )
      const layerScope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(clientLayer(tcp.port), layerScope)
      const client = Context.get(context, CloroClient.CloroClient)
      const supervisor = yield* Supervisor.track
      const caller = yield* Effect.fork(Effect.supervised(client.monitor.chatgpt(request), supervisor))
      yield* Deferred.await(received)
      // The caller returns at once; its exchange runs on in the background.
      yield* Fiber.interrupt(caller)
      const whileRunning = yield* Context.get(context, Credits.Credits).snapshot
      const running = (yield* supervisor.value).filter((fiber) => fiber.unsafePoll() === null).length
      yield* Scope.close(layerScope, Exit.void)
      const after = yield* Context.get(context, Credits.Credits).snapshot
      const stats = yield* Context.get(context, ConcurrencyLimiter.ConcurrencyLimiter).stats
      const left = (yield* supervisor.value).filter((fiber) => fiber.unsafePoll() === null).length
      console.log(
        `layer closed mid-exchange: running before close ${running}, after ${left}; ` +
          `ledger before ${JSON.stringify(whileRunning)}, after ${JSON.stringify(after)}`
      )
      expect(whileRunning.reserved).toBeGreaterThan(0)
      expect(running).toBeGreaterThan(0)
      expect(left).toBe(0)
      expect(after.reserved).toBe(0)
      expect(after.spent).toBe(7)
      expect(after.mayBeCharged).toBe(0)
      expect(stats.inUse).toBe(0)
      yield* Scope.close(outer, Exit.void)
    }))
})
