/**
 * Interruption at random points (RELIABILITY.md): 200 seeded runs in memory on
 * TestClock and runs over real loopback HTTP. After each, every slot is free,
 * no reservation is held, no fiber the run started is still running, and every
 * call the server answered (and charged) is booked in the ledger.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import type { CloroError } from "../src/CloroError.js"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"
import * as Credits from "../src/Credits.js"
import { CloroSimulator } from "../src/testing/index.js"

const KEY = "sk_test_interrupt"
const RUNS = 200
const CALLS = 12

interface Figures {
  readonly spent: number
  readonly charged: number
  readonly reserved: number
  readonly inUse: number
  readonly waiting: number
  readonly serverInFlight: number
  readonly running: number
}

const calls = (client: CloroClient.CloroClientShape) =>
  Effect.forEach(
    Array.from({ length: CALLS }, (_, i) => i),
    (i) =>
      Effect.either<unknown, CloroError, never>(
        i % 2 === 0
          ? client.monitor.chatgpt({ prompt: `interrupt ${i}`, country: "US" })
          : client.monitor.google({ query: `interrupt ${i}`, country: "US" })
      ),
    { concurrency: "unbounded" }
  )

/** Reads what the run left behind, from the client's services and the simulator. */
const figures = (context: Context.Context<Cloro.Services | CloroSimulator.CloroSimulator>, running: number) =>
  Effect.gen(function*() {
    const snapshot = yield* Context.get(context, Credits.Credits).snapshot
    const stats = yield* Context.get(context, ConcurrencyLimiter.ConcurrencyLimiter).stats
    const counters = yield* Context.get(context, CloroSimulator.CloroSimulator).counters
    return {
      spent: snapshot.spent,
      charged: counters.creditsCharged.total,
      reserved: snapshot.reserved,
      inUse: stats.inUse,
      waiting: stats.waiting,
      serverInFlight: counters.inFlight["acme"] ?? 0,
      running
    } satisfies Figures
  })

const clean = (f: Figures) =>
  f.reserved === 0 && f.inUse === 0 && f.waiting === 0 && f.serverInFlight === 0 && f.running === 0 &&
  f.spent === f.charged

describe("interruption at random points", () => {
  it.effect(`${RUNS} seeded runs in memory leave nothing held and book every answered call`, () =>
    Effect.gen(function*() {
      const failures: Array<string> = []
      let interruptedMidFlight = 0
      let chargedTotal = 0
      for (let seed = 0; seed < RUNS; seed++) {
        const result = yield* Effect.scoped(Effect.gen(function*() {
          const context = yield* Layer.build(
            Cloro.layer({ apiKey: KEY }, { monitor: "silent", concurrency: { limit: 4 } }).pipe(
              Layer.provideMerge(CloroSimulator.layer({
                seed,
                latency: { default: { _tag: "Uniform", min: 20, max: 400 } },
                accounts: [{ apiKey: KEY, id: "acme", plan: { concurrency: 4, credits: 100_000 } }],
                faults: { rate: { rate: 0.1, faults: ["503", "500", "reset"], retryAfter: 1 } }
              }))
            )
          )
          const client = Context.get(context, CloroClient.CloroClient)
          const interruptAt = yield* Random.nextIntBetween(0, 1_500)
          const supervisor = yield* Supervisor.track
          const fiber = yield* Effect.fork(Effect.supervised(calls(client), supervisor))
          yield* TestClock.adjust(Duration.millis(interruptAt))
          const wasRunning = fiber.unsafePoll() === null
          yield* Fiber.interrupt(fiber)
          // Let whatever the interrupt left in flight finish: nothing may still be held after that.
          yield* TestClock.adjust("10 minutes")
          const children = yield* supervisor.value
          const running = children.filter((child) => child.unsafePoll() === null).length
          return { figures: yield* figures(context, running), wasRunning }
        })).pipe(Effect.withRandom(Random.make(`interrupt-${seed}`)))
        if (result.wasRunning) interruptedMidFlight++
        chargedTotal += result.figures.charged
        if (!clean(result.figures)) failures.push(`seed ${seed}: ${JSON.stringify(result.figures)}`)
      }
      console.log(
        `interruption in memory: ${RUNS} runs, ${interruptedMidFlight} interrupted mid-run, ` +
          `${chargedTotal} credits charged in all, ${failures.length} runs left something behind` +
          (failures.length > 0 ? `\n${failures.slice(0, 10).join("\n")}` : "")
      )
      expect(interruptedMidFlight).toBeGreaterThan(RUNS / 2)
      expect(failures).toEqual([])
    }), { timeout: 300_000 })

  it.live("runs over loopback HTTP interrupted at random points leave nothing held and book every answered call", () =>
    Effect.gen(function*() {
      const httpRuns = 60
      const failures: Array<string> = []
      let chargedTotal = 0
      let bookedAfterInterrupt = 0
      for (let seed = 0; seed < httpRuns; seed++) {
        const result = yield* Effect.scoped(Effect.gen(function*() {
          const simContext = yield* Layer.build(CloroSimulator.layerServer({
            seed,
            latency: { default: { _tag: "Uniform", min: 5, max: 60 } },
            accounts: [{ apiKey: KEY, id: "acme", plan: { concurrency: 4, credits: 100_000 } }]
          }))
          const sim = Context.get(simContext, CloroSimulator.CloroSimulator)
          const context = yield* Layer.build(
            Cloro.layer({ apiKey: KEY, baseUrl: sim.url }, { monitor: "silent", concurrency: { limit: 4 } }).pipe(
              Layer.provide(NodeHttpClient.layerUndici),
              Layer.merge(Layer.succeedContext(simContext))
            )
          )
          const client = Context.get(context, CloroClient.CloroClient)
          const interruptAt = yield* Random.nextIntBetween(0, 150)
          const supervisor = yield* Supervisor.track
          const fiber = yield* Effect.fork(Effect.supervised(calls(client), supervisor))
          yield* Effect.sleep(Duration.millis(interruptAt))
          yield* Fiber.interrupt(fiber)
          const spentAtInterrupt = (yield* Context.get(context, Credits.Credits).snapshot).spent
          // Answers already on their way are read and booked within their latency (a few
          // milliseconds, longer on a loaded machine): look until nothing is held, for at most 10 s.
          const settled = Effect.flatMap(supervisor.value, (children) =>
            figures(context, children.filter((child) => child.unsafePoll() === null).length))
          let after = yield* settled
          for (let waited = 0; waited < 10_000 && (after.running > 0 || after.reserved > 0); waited += 25) {
            yield* Effect.sleep("25 millis")
            after = yield* settled
          }
          return { figures: after, spentAtInterrupt }
        })).pipe(Effect.withRandom(Random.make(`http-interrupt-${seed}`)))
        chargedTotal += result.figures.charged
        // The interrupted caller returned before these answers came back: they were finished and booked.
        if (result.figures.spent > result.spentAtInterrupt) bookedAfterInterrupt++
        if (!clean(result.figures)) failures.push(`seed ${seed}: ${JSON.stringify(result.figures)}`)
      }
      console.log(
        `interruption over HTTP: ${httpRuns} runs, ${chargedTotal} credits charged in all, ` +
          `${bookedAfterInterrupt} runs booked answers that came back after the interrupt, ` +
          `${failures.length} runs left something behind` +
          (failures.length > 0 ? `\n${failures.slice(0, 10).join("\n")}` : "")
      )
      expect(bookedAfterInterrupt).toBeGreaterThan(httpRuns / 4)
      expect(failures).toEqual([])
    }), { timeout: 300_000 })
})
