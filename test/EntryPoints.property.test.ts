/**
 * Every public entry point of the client, its config and its services, fed
 * arbitrary JS values (fast-check `anything()`, with bigints, null
 * prototypes, circular values and a hostile proxy): each must return an
 * `Effect` (never throw) that succeeds or fails with a typed, tagged error
 * (never a defect).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import fc from "fast-check"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"
import * as Credits from "../src/Credits.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as UsageMonitor from "../src/UsageMonitor.js"
import * as MockHttp from "./support/mockHttp.js"

const circular: Record<string, unknown> = { prompt: "hi", country: "US" }
circular.self = circular
// Throws on every read but the one fast-check uses to print it.
const hostile = new Proxy({}, {
  get: (_, key) => {
    if (key === fc.toStringMethod) return () => "<hostile proxy>"
    throw new Error("hostile get")
  },
  ownKeys: () => {
    throw new Error("hostile ownKeys")
  }
})

const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(circular, undefined, null, Number.NaN, Symbol("s"), BigInt(7)) }
)

const RUNS = 60

/** What one run of an entry point may end with: a success, or a failure whose error is tagged. */
const isTyped = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.match(exit, {
    onSuccess: () => true,
    onFailure: (cause) =>
      !Cause.isDie(cause) && Option.match(Cause.failureOption(cause), {
        onNone: () => false,
        onSome: (error) => typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string"
      })
  })

type Entry = (a: unknown, b: unknown, c: unknown) => Effect.Effect<unknown, unknown>

/** A client with every service, answered by a fake HTTP client (`{}` for every call). */
const client = Effect.runSync(Effect.gen(function*() {
  const mock = yield* MockHttp.make(() => Effect.succeed(MockHttp.json({})))
  return yield* CloroClient.make.pipe(
    Effect.provide(Layer.merge(CloroConfig.layer({ apiKey: "sk_test_property" }), Layer.succeed(HttpClient.HttpClient, mock.client))),
    Effect.provide(Cloro.layerBare)
  )
}).pipe(Effect.orDie))

// The declared types are deliberately bypassed: these are the values plain JS can pass.
const call = (f: unknown): Entry => (a, b, c) => (f as (a: unknown, b: unknown, c: unknown) => Effect.Effect<unknown, unknown>)(a, b, c)

const entries: Record<string, Entry> = {
  ...Object.fromEntries(Object.entries(client.monitor).map(([name, f]) => [`client.monitor.${name}`, call(f)])),
  ...Object.fromEntries(Object.entries(client.tasks).map(([name, f]) => [`client.tasks.${name}`, call(f)])),
  ...Object.fromEntries(Object.entries(client.account).map(([name, f]) => [`client.account.${name}`, call(f)])),
  "CloroClient.withRetry": (a) => Effect.succeed(1).pipe(CloroClient.withRetry(a as RetryPolicy.RetryPolicyShape)),
  "CloroConfig.make": (a) => call(CloroConfig.make)(a, undefined, undefined),
  "CloroConfig.layer": (a) => Effect.scoped(Layer.build(call(CloroConfig.layer)(a, undefined, undefined) as never)),
  "Cloro.layerServices": (a) => Effect.scoped(Layer.build(call(Cloro.layerServices)(a, undefined, undefined) as never)),
  "RetryPolicy.make": (a) => call(RetryPolicy.make)(a, undefined, undefined),
  "ConcurrencyLimiter.make": (a) => call(ConcurrencyLimiter.make)(a, undefined, undefined),
  "ConcurrencyLimiter.learn/resize": (a, b) =>
    Effect.flatMap(ConcurrencyLimiter.make(), (limiter) =>
      Effect.zipRight(call(limiter.learn)(a, undefined, undefined), Effect.either(call(limiter.resize)(b, undefined, undefined)))),
  "RateLimiter.make": (a) => Effect.scoped(call(RateLimiter.make)(a, undefined, undefined)),
  "RateLimiter.take/learn": (a, b) =>
    Effect.scoped(Effect.flatMap(RateLimiter.make(), (limiter) =>
      Effect.zipRight(call(limiter.learn)(a, b, undefined), call(limiter.take)(a, undefined, undefined)))),
  "Credits.make": (a) => call(Credits.make)(a, undefined, undefined),
  "Credits.reserve/reserveAll/setBudget": (a, b, c) =>
    Effect.flatMap(Credits.make(), (ledger) =>
      Effect.all([
        Effect.either(call(ledger.reserve)(a, b, undefined)),
        Effect.either(call(ledger.reserveAll)(b, c, undefined)),
        Effect.either(call(ledger.setBudget)(c, undefined, undefined))
      ])),
  "Credits.settleTask/observeBalance": (a, b, c) =>
    Effect.flatMap(Credits.make(), (ledger) =>
      Effect.zipRight(call(ledger.settleTask)(a, b, c), call(ledger.observeBalance)(a, undefined, undefined))),
  "UsageMonitor.make": (a) => call(UsageMonitor.make)(a, undefined, undefined),
  "UsageMonitor.observe/record*": (a, b, c) =>
    Effect.flatMap(UsageMonitor.make({ log: false }), (monitor) =>
      Effect.all([
        call(monitor.observe)(a, b, undefined),
        call(monitor.recordError)(a, c, undefined),
        call(monitor.recordRetry)(a, b, undefined),
        call(monitor.recordSpend)(a, b, undefined)
      ]))
}

describe("every public entry point turns any JS value into a typed result", () => {
  it("never throws, never dies", async () => {
    let cases = 0
    for (const [name, entry] of Object.entries(entries)) {
      await fc.assert(
        fc.asyncProperty(value, value, value, async (a, b, c) => {
          cases++
          let effect: Effect.Effect<unknown, unknown>
          try {
            effect = entry(a, b, c)
          } catch (error) {
            throw new Error(`${name} threw synchronously: ${String(error)}`)
          }
          expect(Effect.isEffect(effect)).toBe(true)
          const exit = await Effect.runPromiseExit(Logger.withMinimumLogLevel(effect, LogLevel.None))
          if (!isTyped(exit)) throw new Error(`${name} ended untyped: ${Cause.pretty(Exit.isFailure(exit) ? exit.cause : Cause.empty)}`)
        }),
        { numRuns: RUNS }
      )
    }
    // A proxy that throws on every read cannot be printed by fast-check, so it is fed to each entry point here.
    for (const [name, entry] of Object.entries(entries)) {
      for (const args of [[hostile, undefined, undefined], [hostile, hostile, hostile], [undefined, hostile, hostile]]) {
        cases++
        let effect: Effect.Effect<unknown, unknown>
        try {
          effect = entry(args[0], args[1], args[2])
        } catch (error) {
          throw new Error(`${name} threw synchronously on a hostile proxy: ${String(error)}`)
        }
        const exit = await Effect.runPromiseExit(Logger.withMinimumLogLevel(effect, LogLevel.None))
        if (!isTyped(exit)) throw new Error(`${name} ended untyped on a hostile proxy`)
      }
    }
    const entryPoints = Object.keys(entries).length
    console.log(`property: ${entryPoints} entry points × (${RUNS} runs + 3 hostile proxies) = ${cases} cases of arbitrary JS values, all typed`)
    expect(cases).toBe(entryPoints * (RUNS + 3))
  }, 120_000)
})
