/**
 * Reading an answer's body, at most `max` bytes of it.
 *
 * A body with a framed length (`Content-Length`, not content-encoded) can be
 * read in one piece. Any other (a chunked answer, a compressed one a
 * `fetch`-based client inflates) must be read chunk by chunk, stopping as
 * soon as it passes `max`, so that a body that never ends cannot fill the
 * memory.
 *
 * The platform offers the second only as `response.stream`, an Effect
 * `Stream`: running one costs about 680 Effect operations and a fiber for a
 * 1 KB answer, more than the rest of a call (`response.arrayBuffer`, for the
 * first, about 60). So when the response is one of the platform's own
 * (undici, `node:http`, or a web `Response` behind `fetch` or `fromWeb`), its
 * source is read directly, in one `Effect.async` that counts the bytes as
 * they arrive, framed or not. Any other response, or a source in a state
 * this does not know, is read as before: `arrayBuffer` within a framed
 * length, the stream otherwise. All give the same bytes and the same errors:
 * a body past `max` fails with `tooLarge` and stops the transfer, a broken
 * one fails with the platform's `ResponseError`, and an interrupt stops the
 * transfer.
 */
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as Headers from "@effect/platform/Headers"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"

/**
 * The length of a body that the transport delivers exactly as declared: a
 * `Content-Length` of plain digits on an answer that is not content-encoded.
 * HTTP/1.1 framing stops the body there, so it can be read in one piece; an
 * encoded body (a `fetch`-based client inflates gzip) can be far longer than
 * its declared length, so it is read chunk by chunk instead.
 */
const framedLength = (headers: Headers.Headers): number | undefined => {
  const declared = headers["content-length"]
  if (declared === undefined || !/^\d{1,15}$/.test(declared)) return undefined
  const encoding = headers["content-encoding"]
  return encoding === undefined || encoding.trim().toLowerCase() === "identity" ? Number(declared) : undefined
}

/** The pieces read so far, joined once at the end. */
const joined = (chunks: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0]
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}

/** Through the platform's `Stream`: any response, the way every body was read before. */
export const readStream = <E2>(
  response: HttpClientResponse.HttpClientResponse,
  max: number,
  tooLarge: () => E2
): Effect.Effect<Uint8Array, HttpClientError.ResponseError | E2> =>
  Stream.runFoldEffect(
    response.stream,
    { chunks: Chunk.empty<Uint8Array>(), size: 0 },
    (acc, chunk): Effect.Effect<{ chunks: Chunk.Chunk<Uint8Array>; size: number }, E2> =>
      acc.size + chunk.length > max
        ? Effect.fail(tooLarge())
        : Effect.succeed({ chunks: Chunk.append(acc.chunks, chunk), size: acc.size + chunk.length })
  ).pipe(Effect.map(({ chunks, size }) => joined(Chunk.toReadonlyArray(chunks), size)))

/** The part of a Node `Readable` (undici's body, `node:http`'s `IncomingMessage`) read here. */
interface NodeBody {
  readonly readableEnded: boolean
  readonly destroyed: boolean
  readonly on: (event: string, listener: (value: unknown) => void) => unknown
  readonly removeListener: (event: string, listener: (value: unknown) => void) => unknown
  readonly destroy: () => unknown
}

const isNodeBody = (value: unknown): value is NodeBody =>
  Predicate.hasProperty(value, "readableEnded") && typeof value.readableEnded === "boolean" &&
  Predicate.hasProperty(value, "destroyed") && typeof value.destroyed === "boolean" &&
  Predicate.hasProperty(value, "on") && typeof value.on === "function" &&
  Predicate.hasProperty(value, "removeListener") && typeof value.removeListener === "function" &&
  Predicate.hasProperty(value, "destroy") && typeof value.destroy === "function"

/** Where the bytes of a platform response come from, when this module knows how to read them. */
export type Source =
  | { readonly _tag: "Node"; readonly body: NodeBody }
  | { readonly _tag: "Web"; readonly body: ReadableStream<Uint8Array> }

/** How the platform's wrapper runs a read of its body: interruptible (it aborts the request), and known to be read. */
type ApplyInterrupt = <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>

/**
 * The platform client's own wrapper (`InterruptibleResponse`): the
 * transport's response as `original`, an abort controller, and
 * `applyInterrupt`, through which the platform runs every read of the body
 * (it aborts the request when the read is interrupted, and tells the
 * platform the body is being read, so it does not abort the request again
 * when the response is collected). Only that wrapper is looked through: a
 * response a user's client wraps in a class of its own (one that inflates the
 * body, say) is read through that class's public interface.
 */
interface PlatformWrapped {
  readonly original: unknown
  readonly applyInterrupt: ApplyInterrupt
}

const isPlatformWrapped = (response: unknown): response is PlatformWrapped =>
  Predicate.hasProperty(response, "original") &&
  Predicate.hasProperty(response, "controller") && response.controller instanceof AbortController &&
  Predicate.hasProperty(response, "applyInterrupt") && typeof response.applyInterrupt === "function"

/** Where the bytes of a platform response come from, and how the platform wants a read of them run. */
interface Found {
  readonly source: Source
  readonly run: ApplyInterrupt
}

const asIs: ApplyInterrupt = (effect) => effect

const found = (response: HttpClientResponse.HttpClientResponse): Found | undefined => {
  const wrapped = isPlatformWrapped(response) ? response : undefined
  const inner: unknown = wrapped === undefined ? response : wrapped.original
  if (!Predicate.hasProperty(inner, "source")) return undefined
  const source = inner.source
  const run: ApplyInterrupt = wrapped === undefined ? asIs : (effect) => wrapped.applyInterrupt(effect)
  if (typeof Response !== "undefined" && source instanceof Response) {
    const body = source.body
    return body !== null && !source.bodyUsed && !body.locked ? { source: { _tag: "Web", body }, run } : undefined
  }
  const body = Predicate.hasProperty(source, "body") && isNodeBody(source.body)
    ? source.body
    : isNodeBody(source)
    ? source
    : undefined
  return body !== undefined && !body.readableEnded && !body.destroyed ? { source: { _tag: "Node", body }, run } : undefined
}

/**
 * The source of one of the platform's responses, unwrapped from the
 * client's `InterruptibleResponse`: undici's `ResponseData` (its `body` a
 * Node `Readable`), `node:http`'s `IncomingMessage`, or a web `Response`.
 * Anything else, or a body already read or broken, is `undefined`: the
 * caller uses the public interface.
 */
export const sourceOf = (response: HttpClientResponse.HttpClientResponse): Source | undefined => found(response)?.source

/**
 * One body's pieces as they arrive, and its one outcome. Mutable on purpose:
 * it lives inside one `Effect.async` registration, changed only by the
 * source's callbacks and the canceler, which the one JS thread runs one at a
 * time.
 */
class Reading<E2> {
  private readonly pieces: Array<Uint8Array> = []
  private size = 0
  private settled = false

  constructor(
    private readonly max: number,
    private readonly tooLarge: () => E2,
    private readonly resume: (outcome: Effect.Effect<Uint8Array, HttpClientError.ResponseError | E2>) => void,
    /** Lets go of the source (listeners, reader) once the outcome is known. */
    private readonly release: () => void
  ) {}

  /** Takes a piece; false when it passes `max`, and the reading has then failed with `tooLarge`. */
  add(piece: Uint8Array): boolean {
    this.size += piece.length
    if (this.size > this.max) {
      this.settle(Effect.fail(this.tooLarge()))
      return false
    }
    this.pieces.push(piece)
    return true
  }

  ended(): void {
    this.settle(Effect.succeed(joined(this.pieces, this.size)))
  }

  failed(error: HttpClientError.ResponseError): void {
    this.settle(Effect.fail(error))
  }

  /** Whether the outcome is known (an interrupt counts): nothing more is read. */
  get done(): boolean {
    return this.settled
  }

  /** The reader was interrupted: no outcome is given; true when it was still reading. */
  interrupted(): boolean {
    if (this.settled) return false
    this.settled = true
    this.release()
    return true
  }

  private settle(outcome: Effect.Effect<Uint8Array, HttpClientError.ResponseError | E2>): void {
    if (this.interrupted()) this.resume(outcome)
  }
}

/** A Node `Readable` read to its end, or until it passes `max` (then destroyed, which aborts the transfer). */
const readNode = <E2>(
  body: NodeBody,
  max: number,
  tooLarge: () => E2,
  broken: (cause: unknown) => HttpClientError.ResponseError
): Effect.Effect<Uint8Array, HttpClientError.ResponseError | E2> =>
  Effect.async((resume) => {
    const onData = (piece: unknown): void => {
      if (!(piece instanceof Uint8Array)) {
        body.destroy()
        return reading.failed(broken(new TypeError("the body gave a piece that is not bytes")))
      }
      if (!reading.add(piece)) body.destroy()
    }
    const onEnd = () => reading.ended()
    const onError = (cause: unknown) => reading.failed(broken(cause))
    // A body destroyed without an error (its socket closed) before it ended.
    const onClose = () => reading.failed(broken(new Error("the connection closed before the body ended")))
    const reading = new Reading(max, tooLarge, resume, () => {
      body.removeListener("data", onData)
      body.removeListener("end", onEnd)
      body.removeListener("error", onError)
      body.removeListener("close", onClose)
    })
    body.on("data", onData)
    body.on("end", onEnd)
    body.on("error", onError)
    body.on("close", onClose)
    return Effect.sync(() => {
      if (reading.interrupted()) body.destroy()
    })
  })

/** A web `ReadableStream` read to its end, or until it passes `max` (then cancelled). */
const readWeb = <E2>(
  body: ReadableStream<Uint8Array>,
  max: number,
  tooLarge: () => E2,
  broken: (cause: unknown) => HttpClientError.ResponseError
): Effect.Effect<Uint8Array, HttpClientError.ResponseError | E2> =>
  Effect.async((resume) => {
    const reader = body.getReader()
    const cancel = () => {
      reader.cancel().catch(() => {})
    }
    const reading = new Reading(max, tooLarge, resume, () => {})
    const pump = (): void => {
      reader.read().then(
        (step) => {
          if (reading.done) return
          if (step.done) return reading.ended()
          if (reading.add(step.value)) pump()
          else cancel()
        },
        (cause: unknown) => reading.failed(broken(cause))
      )
    }
    pump()
    return Effect.sync(() => {
      if (reading.interrupted()) cancel()
    })
  })

/**
 * The bytes of a body of at most `max` bytes: from the platform response's
 * source when it is known, otherwise in one piece within a framed length and
 * chunk by chunk without one. A body past `max` fails with `tooLarge` as
 * soon as it passes it, and a declared length past it fails before reading.
 */
export const readBytes = <E2>(
  response: HttpClientResponse.HttpClientResponse,
  headers: Headers.Headers,
  max: number,
  tooLarge: () => E2
): Effect.Effect<ArrayBuffer | Uint8Array, HttpClientError.ResponseError | E2> => {
  const framed = framedLength(headers)
  if (framed !== undefined && framed > max) return Effect.fail(tooLarge())
  const platform = found(response)
  if (platform === undefined) {
    if (framed === undefined) return readStream(response, max, tooLarge)
    // The one reader that does not count as it reads: a transport that ignores the framing is refused after.
    return Effect.filterOrFail(response.arrayBuffer, (body) => body.byteLength <= max, tooLarge)
  }
  const broken = (cause: unknown) =>
    new HttpClientError.ResponseError({ request: response.request, response, reason: "Decode", cause })
  const { run, source } = platform
  return run(
    source._tag === "Node"
      ? readNode(source.body, max, tooLarge, broken)
      : readWeb(source.body, max, tooLarge, broken)
  )
}

const utf8 = new TextDecoder()

/** `readBytes` as text: what the answer's JSON is parsed from. */
export const readText = <E2>(
  response: HttpClientResponse.HttpClientResponse,
  headers: Headers.Headers,
  max: number,
  tooLarge: () => E2
): Effect.Effect<string, HttpClientError.ResponseError | E2> =>
  Effect.map(readBytes(response, headers, max, tooLarge), (body) => utf8.decode(body))
