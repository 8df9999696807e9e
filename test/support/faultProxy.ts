/**
 * A fault-injecting HTTP proxy on 127.0.0.1 (port 0) between a client and a
 * server such as `CloroSimulator.layerServer`, for tests where the fault
 * lives in the transport: the server did the work (created and billed the
 * tasks) and the client never reads the answer.
 *
 * Rules are matched in order against each request's method and path; the
 * first match whose seeded draw hits (`rate`, default 1; `times` caps how
 * many requests it hits) applies its fault:
 *
 * - `dropAfterAnswer`: forwards, reads the whole answer, then destroys the
 *   client's socket without writing a byte (the server answered; the client
 *   sees a reset);
 * - `truncate`: forwards, sends the answer's headers and half its body, then
 *   closes (an unreadable answer);
 * - `garble`: forwards, sends the answer with its body replaced by bytes that
 *   are not JSON;
 * - `stall`: holds the request for `stallMillis` without forwarding, then
 *   destroys the socket (a timeout for any client that waits less);
 * - `fail`: answers `status` (default 503) without forwarding;
 * - `reset`: destroys the socket without forwarding.
 *
 * `cutUpstream(millis)` resets every request (without forwarding) for that
 * long, as an outage would. Draws come from a PRNG seeded per proxy, so a run
 * is reproducible for a given order of requests.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type * as Net from "node:net"

export type Fault =
  | { readonly _tag: "dropAfterAnswer" }
  | { readonly _tag: "truncate" }
  | { readonly _tag: "garble" }
  | { readonly _tag: "stall"; readonly stallMillis: number }
  | { readonly _tag: "fail"; readonly status?: number }
  | { readonly _tag: "reset" }

export interface Rule {
  readonly method?: string
  /** Matched against the path (without the query). */
  readonly path: RegExp
  readonly fault: Fault
  /** Share of matching requests hit, 0..1; default 1. */
  readonly rate?: number
  /** The most requests this rule hits; default unlimited. */
  readonly times?: number
  /** Hit only these matching requests, counted from 1 (e.g. [2, 4] = the second and fourth). */
  readonly nth?: ReadonlyArray<number>
}

export interface Stats {
  readonly forwarded: number
  readonly byFault: Readonly<Record<string, number>>
  readonly cutOff: number
}

export interface FaultProxy {
  readonly url: string
  /** Replaces the rules (counts of `times` start again). */
  readonly setRules: (rules: ReadonlyArray<Rule>) => Effect.Effect<void>
  /** Resets every request for `millis` from now. */
  readonly cutUpstream: (millis: number) => Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
}

/** mulberry32: small, fast and good enough to spread faults. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Starts a proxy to `target` (e.g. `sim.url`) in the current scope. */
export const make = (
  target: string,
  options: { readonly seed?: number; readonly rules?: ReadonlyArray<Rule> } = {}
): Effect.Effect<FaultProxy, never, Scope.Scope> =>
  Effect.gen(function*() {
    const upstream = new URL(target)
    const random = prng(options.seed ?? 1)
    // Plain mutable state is fine here: this is test support, touched only from node's event loop.
    let rules: ReadonlyArray<Rule> = options.rules ?? []
    let hits = new Map<Rule, number>()
    let seen = new Map<Rule, number>()
    let cutUntil = 0
    let forwarded = 0
    let cutOff = 0
    const byFault: Record<string, number> = {}
    const sockets = new Set<Net.Socket>()

    const pick = (method: string, path: string): Fault | undefined => {
      for (const rule of rules) {
        if (rule.method !== undefined && rule.method !== method) continue
        if (!rule.path.test(path)) continue
        const count = (seen.get(rule) ?? 0) + 1
        seen.set(rule, count)
        if (rule.nth !== undefined && !rule.nth.includes(count)) continue
        const used = hits.get(rule) ?? 0
        if (rule.times !== undefined && used >= rule.times) continue
        if (random() >= (rule.rate ?? 1)) continue
        hits.set(rule, used + 1)
        return rule.fault
      }
      return undefined
    }

    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const path = (req.url ?? "/").split("?")[0] ?? "/"
        if (Date.now() < cutUntil) {
          cutOff++
          req.socket.destroy()
          return
        }
        const fault = pick(req.method ?? "GET", path)
        if (fault !== undefined) byFault[fault._tag] = (byFault[fault._tag] ?? 0) + 1
        if (fault?._tag === "reset") return void req.socket.destroy()
        if (fault?._tag === "stall") return void setTimeout(() => req.socket.destroy(), fault.stallMillis)
        if (fault?._tag === "fail") {
          const body = JSON.stringify({
            success: false,
            error: { code: "SERVICE_UNAVAILABLE", message: "injected by the fault proxy", timestamp: new Date().toISOString() }
          })
          res.writeHead(fault.status ?? 503, { "content-type": "application/json", "retry-after": "1" })
          return void res.end(body)
        }
        const headers = { ...req.headers, host: upstream.host }
        const out = Http.request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
          (answer) => {
            const body: Array<Buffer> = []
            answer.on("data", (chunk: Buffer) => body.push(chunk))
            answer.on("end", () => {
              forwarded++
              const bytes = Buffer.concat(body)
              const answerHeaders = { ...answer.headers }
              delete answerHeaders["content-length"]
              delete answerHeaders["transfer-encoding"]
              if (fault?._tag === "dropAfterAnswer") return void req.socket.destroy()
              if (fault?._tag === "truncate") {
                res.writeHead(answer.statusCode ?? 502, { ...answerHeaders, "content-length": String(bytes.length) })
                res.write(bytes.subarray(0, Math.floor(bytes.length / 2)))
                return void req.socket.destroy()
              }
              const sent = fault?._tag === "garble" ? Buffer.from("<html>502 bad gateway</html>{\"task") : bytes
              res.writeHead(answer.statusCode ?? 502, { ...answerHeaders, "content-length": String(sent.length) })
              res.end(sent)
            })
            answer.on("error", () => req.socket.destroy())
          }
        )
        out.on("error", () => req.socket.destroy())
        out.end(Buffer.concat(chunks))
      })
    })
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    return {
      url: `http://127.0.0.1:${port}`,
      setRules: (next) =>
        Effect.sync(() => {
          rules = next
          hits = new Map()
          seen = new Map()
        }),
      cutUpstream: (millis) => Effect.sync(() => void (cutUntil = Date.now() + millis)),
      stats: Effect.sync(() => ({ forwarded, byFault: { ...byFault }, cutOff }))
    }
  })
