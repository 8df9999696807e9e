/**
 * Profiling only: the bench stand-in (../server.ts) with two more figures, so a
 * saturation run says where a slot's cycle goes. `busy` is the time-weighted
 * mean of requests in flight at the server (cap × busy share = the share of
 * the bound); `gap` is, per answer sent, the time until the server next
 * receives a request (slot free at the server → next request in), its mean
 * and p50/p90.
 */
import { createServer } from "node:http"
import { chatgptAnswer } from "../answer.js"

const settings = { latencyMillis: 50, cap: 20 }
const answer = Buffer.from(chatgptAnswer)
let inFlight = 0
let area = 0
let last = performance.now()
let first = 0
let freed: Array<number> = []
let gaps: Array<number> = []
let c429 = 0
let ok = 0
const tick = () => {
  const now = performance.now()
  area += inFlight * (now - last)
  last = now
  return now
}

const epoch = () => performance.timeOrigin + performance.now()
let timeline: Record<string, [number, number]> = {}
const server = createServer((req, res) => {
  let body = ""
  req.on("data", (c: Buffer) => { body += c.toString() })
  req.on("end", () => {
    const now = tick()
    const header = req.headers["x-key"]
    const id = /question (\d+)|q (\d+)/.exec(body)
    const key = typeof header === "string" ? header : id?.[1] ?? id?.[2] ?? "?"
    const entry: [number, number] = [epoch(), 0]
    timeline[key] = entry
    if (first === 0) first = now
    if (inFlight === 0 && now - last > 100) { freed = []; gaps = [] }
    const f = freed.shift()
    if (f !== undefined) gaps.push(now - f)
    if (inFlight >= settings.cap) {
      c429++
      res.writeHead(429, { "content-type": "application/json", "x-concurrency-limit": String(settings.cap) })
      res.end(JSON.stringify({ success: false, error: { code: "CONCURRENCY_LIMIT_EXCEEDED", message: "cap", details: { limit: settings.cap } } }))
      return
    }
    inFlight++
    setTimeout(() => {
      const t = tick()
      inFlight--
      ok++
      res.writeHead(200, {
        "content-type": "application/json",
        "x-ratelimit-limit": "1000000",
        "x-ratelimit-remaining": "999999",
        "x-concurrency-limit": String(settings.cap),
        "x-concurrency-current": String(inFlight),
        "x-concurrency-remaining": String(settings.cap - inFlight),
        "x-credits-charged": "7",
        "x-credits-remaining": "1000000000",
        "x-request-id": key
      })
      entry[1] = epoch()
      res.end(answer)
      freed.push(t)
    }, settings.latencyMillis)
  })
})
server.keepAliveTimeout = 60_000
let connections = 0
server.on("connection", () => { connections++ })

const pct = (xs: Array<number>, p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN
}

process.on("message", (m: { readonly type: string; readonly settings?: Partial<typeof settings> }) => {
  if (m.type === "configure") {
    Object.assign(settings, m.settings ?? {})
    process.send?.({ type: "configured" })
  } else if (m.type === "stats") {
    const now = tick()
    const span = now - first
    const stats = {
      ok, c429,
      connections,
      timeline,
      busy: area / span / settings.cap,
      gapMean: gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length),
      gapP50: pct(gaps, 0.5),
      gapP90: pct(gaps, 0.9)
    }
    process.send?.({ type: "stats", stats })
    area = 0; first = 0; freed = []; gaps = []; c429 = 0; ok = 0; last = now; connections = 0; timeline = {}
  }
})
process.on("disconnect", () => process.exit(0))
server.listen(0, "127.0.0.1", () => {
  const a = server.address()
  process.send?.({ type: "listening", url: `http://127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}` })
})
