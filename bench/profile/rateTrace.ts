/**
 * Where the rate scenario's time goes: the limiter alone (as `bench/rate.ts`'s
 * `pacer`) in front of undici against the simulator in its own process, with
 * every call's admission, answer and the server's `X-RateLimit-Remaining`
 * recorded, and the simulator's own CPU. Prints a summary per window mode.
 *
 *   npx tsx bench/profile/rateTrace.ts [fixed|sliding|capacity] [calls]
 */
import { execSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Cloro from "../../src/Cloro.js"
import * as CloroClient from "../../src/CloroClient.js"
import { Agent, request } from "undici"
import * as RateLimiter from "../../src/RateLimiter.js"
import { startSimulator } from "../lib.js"

const LIMIT = 500
const KEY = "sk_bench_rate"
const mode = process.argv[2] ?? "fixed"
const CALLS = Number(process.argv[3] ?? 5000)
/** `full`: the whole client (`Cloro.layer`'s services), its limiter wrapped to time each start */
const subject = process.argv[4] ?? "pacer"
const pace = process.argv[5] === "even" ? "even" : "burst"

const childCpu = (): number => {
  const pids = execSync(`pgrep -P ${process.pid} || true`).toString().trim().split("\n").filter((s) => s.length > 0)
  let ticks = 0
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // gone
    }
  }
  return ticks * 10 // ms at 100 Hz
}

const pct = (xs: ReadonlyArray<number>, p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN
}

interface Call {
  admitted: number
  headers: number
  done: number
  remaining: number
}

const main = async () => {
  const sim = await startSimulator({
    accounts: [{ apiKey: KEY, plan: { concurrency: 10_000, credits: 1_000_000_000 } }],
    rateLimit: { mode: "shared", limit: mode === "capacity" ? 1_000_000 : LIMIT, window: mode === "sliding" ? "sliding" : "fixed" },
    requestLogLimit: 0
  })
  const dispatcher = new Agent({ keepAliveTimeout: 60_000 })
  const calls: Array<Call> = []
  const t0 = performance.now()
  const send = (call: Call) =>
    Effect.tryPromise(async () => {
      call.admitted = performance.now() - t0
      const response = await request(`${sim.url}/v1/credits`, { headers: { authorization: `Bearer ${KEY}` }, dispatcher })
      call.headers = performance.now() - t0
      call.remaining = Number(response.headers["x-ratelimit-remaining"])
      await response.body.json()
      if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`)
      return { limit: Number(response.headers["x-ratelimit-limit"]), remaining: call.remaining }
    })
  let failed = 0
  const cpuBefore = childCpu()
  const cpu = process.cpuUsage()
  const started = performance.now()
  if (subject === "full") {
    const queue: Array<Call> = []
    const traced = Layer.effect(
      RateLimiter.RateLimiter,
      Effect.map(RateLimiter.make({ limit: LIMIT, pace }), (limiter) =>
        RateLimiter.RateLimiter.of({
          ...limiter,
          withPermit: (path, effect) =>
            limiter.withPermit!(
              path,
              Effect.suspend(() => {
                const call: Call = { admitted: performance.now() - t0, headers: 0, done: 0, remaining: -1 }
                queue.push(call)
                calls.push(call)
                return Effect.ensuring(effect, Effect.sync(() => {
                  call.done = performance.now() - t0
                  call.headers = call.done
                }))
              })
            ),
          learn: (path, rate) => {
            const last = queue.shift()
            if (last !== undefined && rate.remaining !== undefined) last.remaining = rate.remaining
            return limiter.learn(path, rate)
          }
        }))
    ).pipe(Layer.provide(Layer.scope))
    const layer = CloroClient.layerWith({ apiKey: KEY, baseUrl: sim.url }).pipe(
      Layer.provide(Layer.merge(Cloro.layerServices({ monitor: "silent", rateLimit: "unlimited" }), traced)),
      Layer.provide(NodeHttpClient.layerUndici)
    )
    await Effect.runPromise(Effect.gen(function*() {
      const client = yield* CloroClient.CloroClient
      yield* Effect.forEach(
        Array.from({ length: CALLS }, (_, i) => i),
        () => Effect.catchAll(client.account.credits(), () => Effect.sync(() => failed++)),
        { concurrency: "unbounded", discard: true }
      )
    }).pipe(Effect.provide(layer)))
  } else await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const limiter = yield* RateLimiter.make({ limit: mode === "capacity" ? 1_000_000 : LIMIT, pace })
    yield* Effect.forEach(Array.from({ length: CALLS }, (_, i) => i), () => {
      const call: Call = { admitted: 0, headers: 0, done: 0, remaining: -1 }
      calls.push(call)
      return Effect.catchAll(
        Effect.ensuring(
          process.env.NO_READ === "1"
            ? limiter.withPermit!("/v1/credits", send(call))
            : limiter.withPermit!("/v1/credits", send(call), (exit) => Exit.isSuccess(exit) ? exit.value : undefined),
          Effect.sync(() => {
            call.done = performance.now() - t0
          })
        ),
        () => Effect.sync(() => failed++)
      )
    }, { concurrency: "unbounded", discard: true })
  })))
  const wall = performance.now() - started
  const used = process.cpuUsage(cpu)
  const serverCpu = childCpu() - cpuBefore
  await dispatcher.close()
  console.log(
    `${mode} ${subject} ${pace}: ${CALLS} calls in ${wall.toFixed(0)} ms = ${(CALLS / wall * 1000).toFixed(0)}/s (share ${
      (CALLS / wall * 1000 / LIMIT).toFixed(3)
    }), failed ${failed}, client CPU ${((used.user + used.system) / CALLS).toFixed(0)} µs/call, server CPU ${
      (serverCpu * 1000 / CALLS).toFixed(0)
    } µs/call, load ${(await import("node:os")).loadavg().map((l) => l.toFixed(1)).join(" ")}`
  )
  // waves: the calls in admission order, `LIMIT` at a time
  const ordered = calls.filter((c) => c.done > 0).sort((a, b) => a.admitted - b.admitted)
  const waves: Array<string> = []
  for (let w = 0; w * LIMIT < ordered.length; w++) {
    const wave = ordered.slice(w * LIMIT, (w + 1) * LIMIT)
    const lat = wave.map((c) => c.done - c.admitted)
    waves.push(
      `${Math.min(...wave.map((c) => c.admitted)).toFixed(0)}-${Math.max(...wave.map((c) => c.admitted)).toFixed(0)}` +
        ` δ ${pct(lat, 0.5).toFixed(0)}/${pct(lat, 0.9).toFixed(0)}/${pct(lat, 1).toFixed(0)}` +
        ` last answer ${Math.max(...wave.map((c) => c.done)).toFixed(0)}`
    )
  }
  console.log(`waves (admitted from-to ms, admission→end p50/p90/max ms, last answer):\n  ${waves.join("\n  ")}`)
  const zeros = calls.filter((c) => c.remaining === 0).length
  console.log(`${zeros} answers said remaining 0; t0→started ${(started - t0).toFixed(0)} ms`)
  sim.close()
  process.exit(0)
}

main()
