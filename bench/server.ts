/**
 * The cloro stand-in for the benchmarks: a tiny `node:http` server, run in its
 * own process (`startServer` in ./lib.ts forks it), answering every POST with
 * a cloro-shaped chatgpt answer and the usage headers.
 *
 * It is deliberately not `CloroSimulator.layerServer`: the simulator validates,
 * prices, generates and logs every answer through its own Effect runtime, which
 * costs far more CPU per request than the clients being compared, and on a
 * 2-core machine that would measure the server. This one does a counter, a
 * timer and a pre-built body, so the client is what the numbers move with.
 * (The rate and bulk scenarios need the simulator's window modes and async
 * queue, and use the simulator, also in its own process: ./simulator.ts.)
 *
 * Configured over IPC (`configure`): latency, a concurrency cap past which it
 * answers 429 `CONCURRENCY_LIMIT_EXCEEDED` with `details.limit`, and a
 * per-second rate limit (fixed one-second windows) past which it answers 429
 * `RATE_LIMIT_EXCEEDED`. `stats` returns and resets its counters.
 */
import { createServer } from "node:http"
import { chatgptAnswer } from "./answer.js"

interface Settings {
  latencyMillis: number
  cap: number
  ratePerSecond: number
  /** Send `Content-Length` with the answer (as the simulator and most JSON APIs do) instead of a chunked body. */
  contentLength: boolean
}

const settings: Settings = { latencyMillis: 0, cap: 1_000_000, ratePerSecond: 1_000_000, contentLength: false }
const counters = { requests: 0, ok: 0, concurrency429: 0, rate429: 0, peak: 0 }
let inFlight = 0
let windowStart = 0
let windowCount = 0

const answer = Buffer.from(chatgptAnswer)

const envelope = (code: string, message: string, details?: unknown) =>
  Buffer.from(JSON.stringify({
    success: false,
    error: { code, message, ...(details === undefined ? {} : { details }), timestamp: new Date().toISOString() }
  }))

const rateHeaders = (remaining: number) => ({
  "x-ratelimit-limit": String(settings.ratePerSecond),
  "x-ratelimit-remaining": String(Math.max(0, remaining))
})

const slotHeaders = () => ({
  "x-concurrency-limit": String(settings.cap),
  "x-concurrency-current": String(inFlight),
  "x-concurrency-remaining": String(Math.max(0, settings.cap - inFlight))
})

const server = createServer((req, res) => {
  // drain the body; its content is not checked (the clients under test validate their own)
  req.on("data", () => {})
  req.on("end", () => {
    counters.requests++
    const now = Date.now()
    if (now - windowStart >= 1000) {
      windowStart = now
      windowCount = 0
    }
    if (windowCount >= settings.ratePerSecond) {
      counters.rate429++
      res.writeHead(429, { "content-type": "application/json", ...rateHeaders(0), "retry-after": "1" })
      res.end(envelope("RATE_LIMIT_EXCEEDED", `at most ${settings.ratePerSecond} requests per second`))
      return
    }
    windowCount++
    const remaining = settings.ratePerSecond - windowCount
    if (inFlight >= settings.cap) {
      counters.concurrency429++
      res.writeHead(429, { "content-type": "application/json", ...rateHeaders(remaining), ...slotHeaders() })
      res.end(envelope("CONCURRENCY_LIMIT_EXCEEDED", `your plan allows ${settings.cap} at once`, { limit: settings.cap }))
      return
    }
    inFlight++
    counters.peak = Math.max(counters.peak, inFlight)
    const headers = {
      "content-type": "application/json",
      ...rateHeaders(remaining),
      ...slotHeaders(),
      "x-credits-charged": "7",
      "x-credits-remaining": "1000000000",
      "x-request-id": `req_${counters.requests}`
    }
    const reply = () => {
      inFlight--
      counters.ok++
      res.writeHead(200, settings.contentLength ? { ...headers, "content-length": String(answer.length) } : headers)
      res.end(answer)
    }
    if (settings.latencyMillis > 0) {
      setTimeout(reply, settings.latencyMillis)
    } else {
      reply()
    }
  })
})
server.keepAliveTimeout = 60_000

type Message =
  | { readonly type: "configure"; readonly settings: Partial<Settings> }
  | { readonly type: "stats" }

const isMessage = (value: unknown): value is Message =>
  typeof value === "object" && value !== null && "type" in value &&
  (value.type === "stats" || (value.type === "configure" && "settings" in value))

process.on("message", (message: unknown) => {
  if (!isMessage(message)) return
  if (message.type === "configure") {
    Object.assign(settings, message.settings)
    process.send?.({ type: "configured" })
  } else {
    process.send?.({ type: "stats", stats: { ...counters, inFlight } })
    Object.assign(counters, { requests: 0, ok: 0, concurrency429: 0, rate429: 0, peak: 0 })
  }
})
process.on("disconnect", () => process.exit(0))

server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  process.send?.({ type: "listening", url: `http://127.0.0.1:${port}` })
})
