/**
 * One worker process of the multi-process Redis tests and benchmark: it runs
 * `TASKS` sync requests against the simulator at `SIM_URL` through the shared
 * Redis limits, and reports on stdout as JSON lines (`progress`, then
 * `finished`). With `RETRY_UNAVAILABLE=1` a request refused with
 * `LimiterUnavailable` is tried again 100 ms later, as a caller that must
 * not lose work would do.
 *
 * With `WARMUP=n` the worker first runs `n` requests (not counted), says
 * `ready`, and starts its `TASKS` only when a line arrives on stdin, so the
 * benchmark starts every worker at one barrier, warmed up and connected.
 * With `DURATION_MS=n` (the benchmark) each of its `FIBERS` callers sends
 * request after request until `n` ms have passed since the start, instead of
 * `TASKS` requests in all, so a row takes the same time on a busy machine.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Ref } from "effect"
import { CloroClient, CloroConfig, ConcurrencyLimiter, Credits, RateLimiter, RetryPolicy, UsageMonitor } from "../../src/index.js"
import { RedisConcurrencyLimiter, RedisLimits, RedisRateLimiter, RedisStore } from "../../src/redis/index.js"

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback
  if (value === undefined) throw new Error(`worker: ${name} is not set`)
  return value
}

const tasks = Number(env("TASKS", "100"))
const durationMs = process.env.DURATION_MS === undefined ? undefined : Number(process.env.DURATION_MS)
const fibers = Number(env("FIBERS", "30"))
const retryUnavailable = env("RETRY_UNAVAILABLE", "0") === "1"
const say = (line: object) => Effect.sync(() => process.stdout.write(`${JSON.stringify(line)}\n`))

const Store = RedisStore.layerConfig()
const slots: RedisConcurrencyLimiter.Options = {
  lease: Number(env("LEASE_MS", "30000")),
  ...(process.env.POLL_MS === undefined ? {} : { poll: Number(process.env.POLL_MS) }),
  holder: `${env("HOLDER", "worker")}-${process.pid}`
}
// LOCAL=1: the in-memory limiters, as a baseline for the benchmark; SEPARATE=1:
// the two Redis layers on their own (the rate check its own round trip).
const Limits = env("LOCAL", "0") === "1"
  ? Layer.mergeAll(ConcurrencyLimiter.layer({ limit: 20 }), RateLimiter.layer({ mode: "perEndpoint" }))
  : env("SEPARATE", "0") === "1"
  ? Layer.mergeAll(RedisConcurrencyLimiter.layer(slots), RedisRateLimiter.layer({ mode: "perEndpoint" }))
  : RedisLimits.layer({ concurrency: slots, rate: { mode: "perEndpoint" } })
const Client = CloroClient.layer.pipe(
  Layer.provide(Layer.mergeAll(
    CloroConfig.layer({ apiKey: env("API_KEY"), baseUrl: env("SIM_URL") }),
    Limits,
    // Sent once each and no shared ledger: the test counts every 429 the server gives.
    RetryPolicy.layerNone,
    Credits.layer(),
    UsageMonitor.layerSilent(),
    NodeHttpClient.layerUndici
  )),
  Layer.provideMerge(Store)
)

const program = Effect.gen(function*() {
  const cloro = yield* CloroClient.CloroClient
  const store = yield* RedisStore.RedisStore
  const counts = yield* Ref.make({ ok: 0, unavailable: 0, errors: {} as Record<string, number> })
  const warmup = Number(env("WARMUP", "0"))
  const one = (n: number): Effect.Effect<void> =>
    cloro.monitor.chatgpt({ prompt: `worker ${process.pid} task ${n}`, country: "US" }).pipe(
      Effect.matchEffect({
        onSuccess: () =>
          Effect.flatMap(
            Ref.updateAndGet(counts, (c) => ({ ...c, ok: c.ok + 1 })),
            (c) => say({ event: "progress", ok: c.ok })
          ),
        onFailure: (error) =>
          error._tag === "LimiterUnavailable"
            ? Effect.zipRight(
              Ref.update(counts, (c) => ({ ...c, unavailable: c.unavailable + 1 })),
              retryUnavailable ? Effect.zipRight(Effect.sleep("100 millis"), one(n)) : Effect.void
            )
            : Ref.update(counts, (c) => ({ ...c, errors: { ...c.errors, [error._tag]: (c.errors[error._tag] ?? 0) + 1 } }))
      })
    )
  if (warmup > 0) {
    yield* Effect.forEach(Array.from({ length: warmup }, (_, i) => -1 - i), one, { concurrency: fibers, discard: true })
    yield* Ref.set(counts, { ok: 0, unavailable: 0, errors: {} })
  }
  yield* say({ event: "ready", pid: process.pid })
  if (warmup > 0) yield* Effect.promise(() => new Promise<void>((resolve) => process.stdin.once("data", () => resolve())))
  const tripsBefore = yield* store.roundTrips
  const cpuBefore = process.cpuUsage()
  const started = Date.now()
  if (durationMs === undefined) {
    yield* Effect.forEach(Array.from({ length: tasks }, (_, i) => i), one, { concurrency: fibers, discard: true })
  } else {
    const caller = (fiber: number): Effect.Effect<void> =>
      Date.now() - started >= durationMs ? Effect.void : Effect.zipRight(one(fiber), Effect.suspend(() => caller(fiber)))
    yield* Effect.forEach(Array.from({ length: fibers }, (_, i) => i), caller, { concurrency: "unbounded", discard: true })
  }
  const c = yield* Ref.get(counts)
  const ended = Date.now()
  const roundTrips = (yield* store.roundTrips) - tripsBefore
  const cpu = process.cpuUsage(cpuBefore)
  yield* say({ event: "finished", ...c, millis: ended - started, started, ended, roundTrips, cpuMs: (cpu.user + cpu.system) / 1000 })
})

Effect.runPromise(Effect.provide(program, Client)).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`worker failed: ${String(error)}\n`)
    process.exit(1)
  }
)
