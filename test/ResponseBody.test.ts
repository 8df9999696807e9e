/**
 * Reading an answer's body (`internal/request/body.ts`) over the three real
 * transports a user may provide (undici, `node:http`, `fetch`), against a
 * real `node:http` server on loopback, with the platform's own readers as the
 * reference: the direct read of the transport's source gives the bytes the
 * platform's `response.text` and `response.stream` give, framed or chunked;
 * a body past `maxResponseBytes` fails and stops the transfer (the server sees
 * its connection close); a body cut off fails with the platform's
 * `ResponseError`, as the platform's own reader does; an interrupted read
 * stops the transfer. A response this module does not know is read through
 * the stream, with the same results.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Inspectable from "effect/Inspectable"
import * as Predicate from "effect/Predicate"
import type * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { PassThrough } from "node:stream"
import * as Body from "../src/internal/request/body.js"

/** A body of `size` bytes that is not one repeated byte, so a piece out of place shows. */
const bodyOf = (size: number): string => Array.from({ length: size }, (_, i) => String.fromCharCode(97 + (i * 7) % 26)).join("")
const text = bodyOf(50_000)

interface Served {
  readonly url: string
  /** Resolved when the server sees the connection of the named route close before its answer ended. */
  readonly closedEarly: (route: string) => Promise<void>
}

/** Writes `body` in pieces of `piece` bytes, one per turn of the event loop. */
const writeInPieces = (res: ServerResponse, body: string, piece: number, then: () => void) => {
  let offset = 0
  const next = () => {
    if (res.destroyed) return
    if (offset >= body.length) return then()
    res.write(body.slice(offset, offset + piece))
    offset += piece
    setImmediate(next)
  }
  next()
}

const serve: Effect.Effect<Served, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<{ readonly served: Served; readonly close: () => void }>((resume) => {
    const early = new Map<string, { promise: Promise<void>; resolve: () => void }>()
    const closing = (route: string) => {
      const known = early.get(route)
      if (known !== undefined) return known
      let resolve = () => {}
      const promise = new Promise<void>((r) => {
        resolve = r
      })
      const entry = { promise, resolve }
      early.set(route, entry)
      return entry
    }
    const server = createServer((req, res) => {
      const route = req.url ?? "/"
      res.on("close", () => {
        if (!res.writableFinished) closing(route).resolve()
      })
      switch (route) {
        case "/framed":
          res.writeHead(200, { "content-type": "application/json", "content-length": String(text.length) })
          return res.end(text)
        case "/chunked":
          res.writeHead(200, { "content-type": "application/json" })
          return writeInPieces(res, text, 4096, () => res.end())
        case "/empty":
          res.writeHead(200, { "content-type": "application/json" })
          return res.end()
        case "/endless": {
          res.writeHead(200, { "content-type": "application/json" })
          const forever = () => {
            if (res.destroyed) return
            res.write(text)
            setImmediate(forever)
          }
          return forever()
        }
        case "/cut-framed":
          res.writeHead(200, { "content-type": "application/json", "content-length": String(text.length) })
          return res.write(text.slice(0, 10_000), () => res.socket?.destroy())
        case "/cut-chunked":
          res.writeHead(200, { "content-type": "application/json" })
          return writeInPieces(res, text.slice(0, 20_000), 4096, () => res.socket?.destroy())
        case "/stall":
          res.writeHead(200, { "content-type": "application/json" })
          return res.write(text.slice(0, 1000))
        default:
          res.writeHead(404)
          return res.end()
      }
    })
    server.keepAliveTimeout = 1000
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({
        served: { url: `http://127.0.0.1:${port}`, closedEarly: (route) => closing(route).promise },
        close: () => {
          server.closeAllConnections()
          server.close()
        }
      }))
    })
  }),
  ({ close }) => Effect.sync(close)
).pipe(Effect.map(({ served }) => served))

const transports: ReadonlyArray<{
  readonly name: string
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  readonly source: "Node" | "Web"
}> = [
  { name: "undici", layer: NodeHttpClient.layerUndici, source: "Node" },
  { name: "node:http", layer: NodeHttpClient.layer, source: "Node" },
  { name: "fetch", layer: FetchHttpClient.layer, source: "Web" }
]

const tooLarge = () => "too large" as const
const utf8 = new TextDecoder()

/** One GET of `route`, its response handed to `use` while the exchange's scope is open. */
const get = <A, E>(
  served: Served,
  route: string,
  use: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, E>
) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => Effect.flatMap(client.get(served.url + route), use))

for (const transport of transports) {
  describe(`reading a body over ${transport.name}`, () => {
    const run = <A, E>(body: (served: Served) => Effect.Effect<A, E, HttpClient.HttpClient>) =>
      Effect.scoped(Effect.flatMap(serve, (served) => Effect.provide(body(served), transport.layer)))

    it.live("framed and chunked: the same bytes as the platform's text and stream, read from the source", () =>
      run((served) =>
        Effect.gen(function*() {
          for (const route of ["/framed", "/chunked", "/empty"]) {
            const expected = route === "/empty" ? "" : text
            const direct = yield* get(served, route, (response) => {
              expect(Body.sourceOf(response)?._tag).toBe(transport.source)
              return Body.readText(response, response.headers, 1_000_000, tooLarge)
            })
            const platformText = yield* get(served, route, (response) => response.text)
            const viaStream = yield* get(
              served,
              route,
              (response) => Effect.map(Body.readStream(response, 1_000_000, tooLarge), (bytes) => utf8.decode(bytes))
            )
            expect(direct).toBe(expected)
            expect(platformText).toBe(expected)
            expect(viaStream).toBe(expected)
          }
        })
      ))

    it.live("a body that never ends fails once past max, and the transfer stops", () =>
      run((served) =>
        Effect.gen(function*() {
          // The response is held until the server sees the close, so that no collection of it closes the connection instead.
          const error = yield* get(served, "/endless", (response) =>
            Effect.flip(Body.readText(response, response.headers, 1_000_000, tooLarge)).pipe(
              Effect.zipLeft(Effect.promise(() => served.closedEarly("/endless"))),
              Effect.zipLeft(Effect.sync(() => response.status))
            ))
          expect(error).toBe("too large")
        })
      ), 20_000)

    it.live("a body cut off fails with the platform's ResponseError, as the platform's own reader does", () =>
      run((served) =>
        Effect.gen(function*() {
          for (const route of ["/cut-framed", "/cut-chunked"]) {
            const error = yield* Effect.flip(
              get(served, route, (response) => Body.readText(response, response.headers, 1_000_000, tooLarge))
            )
            expect(error).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
            const reference = yield* Effect.exit(get(served, route, (response) => response.text))
            expect(Exit.isFailure(reference)).toBe(true)
          }
        })
      ), 20_000)

    it.live("an interrupted read stops the transfer, and aborts the request as the platform's own reads do", () =>
      run((served) =>
        Effect.gen(function*() {
          const started = yield* Deferred.make<HttpClientResponse.HttpClientResponse>()
          const fiber = yield* Effect.fork(get(served, "/stall", (response) =>
            Effect.zipRight(
              Deferred.succeed(started, response),
              Body.readText(response, response.headers, 1_000_000, tooLarge)
            )))
          const response = yield* Deferred.await(started)
          yield* Fiber.interrupt(fiber)
          yield* Effect.promise(() => served.closedEarly("/stall"))
          // The read ran through the platform's `applyInterrupt`, which aborts the request's controller.
          const controller = Predicate.hasProperty(response, "controller") ? response.controller : undefined
          expect(controller instanceof AbortController && controller.signal.aborted).toBe(true)
        })
      ), 20_000)
  })
}

/**
 * A response that is none of the platform's: it hides the one it wraps, so
 * its body can only be read through the public interface.
 */
class Opaque implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly #inner: HttpClientResponse.HttpClientResponse
  constructor(inner: HttpClientResponse.HttpClientResponse) {
    this.#inner = inner
  }
  get request() {
    return this.#inner.request
  }
  get status() {
    return this.#inner.status
  }
  get headers() {
    return this.#inner.headers
  }
  get cookies() {
    return this.#inner.cookies
  }
  get remoteAddress() {
    return this.#inner.remoteAddress
  }
  get json() {
    return this.#inner.json
  }
  get text() {
    return this.#inner.text
  }
  get urlParamsBody() {
    return this.#inner.urlParamsBody
  }
  get arrayBuffer() {
    return this.#inner.arrayBuffer
  }
  get stream() {
    return this.#inner.stream
  }
  get formData() {
    return this.#inner.formData
  }
  toJSON() {
    return this.#inner.toJSON()
  }
  toString() {
    return this.#inner.toString()
  }
  [Inspectable.NodeInspectSymbol]() {
    return this.toJSON()
  }
}

describe("a response this module does not know", () => {
  const opaque = (body: () => ConstructorParameters<typeof Response>[0], headers: Record<string, string> = {}) =>
    HttpClient.make((request) =>
      Effect.sync(() => new Opaque(HttpClientResponse.fromWeb(request, new Response(body(), { status: 200, headers }))))
    )

  it.effect("is read through the platform's stream (or arrayBuffer when framed), with the same bytes", () =>
    Effect.gen(function*() {
      for (const headers of [{}, { "content-length": String(text.length) }]) {
        const response = yield* opaque(() => text, headers).get("http://127.0.0.1:1/x")
        expect(Body.sourceOf(response)).toBeUndefined()
        expect(yield* Body.readText(response, response.headers, 1_000_000, tooLarge)).toBe(text)
      }
    }))

  it.live("and a body that never ends still fails once past max", () =>
    Effect.gen(function*() {
      const piece = new Uint8Array(64 * 1024).fill(32)
      const endless = () => new ReadableStream({ pull: (controller) => controller.enqueue(piece) })
      const response = yield* opaque(endless).get("http://127.0.0.1:1/x")
      expect(Body.sourceOf(response)).toBeUndefined()
      expect(yield* Effect.flip(Body.readText(response, response.headers, 1_000_000, tooLarge))).toBe("too large")
    }), 20_000)

  it.effect("a user's wrapper that keeps the platform response as `original` is read through its own interface", () =>
    Effect.gen(function*() {
      const upper = (bytes: Uint8Array) => new TextEncoder().encode(utf8.decode(bytes).toUpperCase())
      /** A wrapper of a user's client that changes the body (as one that inflates it would). */
      class Shouting extends Opaque {
        readonly original: HttpClientResponse.HttpClientResponse
        constructor(inner: HttpClientResponse.HttpClientResponse) {
          super(inner)
          this.original = inner
        }
        override get stream() {
          return Stream.map(this.original.stream, upper)
        }
        override get arrayBuffer() {
          return Effect.map(this.original.arrayBuffer, (buffer) => upper(new Uint8Array(buffer)).buffer)
        }
      }
      for (const headers of [{}, { "content-length": String(text.length) }]) {
        // As the outermost response, the way `HttpClient.transformResponse` would hand it over.
        const response = new Shouting(
          HttpClientResponse.fromWeb(HttpClientRequest.get("http://127.0.0.1:1/x"), new Response(text, { status: 200, headers }))
        )
        expect(Body.sourceOf(response)).toBeUndefined()
        expect(yield* Body.readText(response, response.headers, 1_000_000, tooLarge)).toBe(text.toUpperCase())
      }
    }))

  it.effect("a Node body destroyed without an error before its end fails instead of waiting forever", () =>
    Effect.gen(function*() {
      const body = new PassThrough()
      /** Shaped as the platform's `node:http` response: its source is the body. */
      class NodeShaped extends Opaque {
        readonly source = body
      }
      const response = yield* HttpClient.make((request) =>
        Effect.sync(() => new NodeShaped(HttpClientResponse.fromWeb(request, new Response("")))
      )).get("http://127.0.0.1:1/x")
      expect(Body.sourceOf(response)?._tag).toBe("Node")
      const reading = yield* Effect.fork(Body.readText(response, response.headers, 1_000_000, tooLarge))
      body.write("half of it")
      yield* Effect.yieldNow()
      body.destroy()
      expect(yield* Effect.flip(Fiber.join(reading))).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
    }))

  it.effect("a web body already read is not read from its source", () =>
    Effect.gen(function*() {
      const response = HttpClientResponse.fromWeb(
        HttpClientRequest.get("http://127.0.0.1:1/x"),
        new Response(text, { status: 200 })
      )
      expect(Body.sourceOf(response)?._tag).toBe("Web")
      expect(yield* response.text).toBe(text)
      expect(Body.sourceOf(response)).toBeUndefined()
    }))
})
