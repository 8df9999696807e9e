/**
 * The engine registry (`src/internal/engines.ts`) is the one place an engine
 * is named: the client's methods, the mock's, the prices, the task types and
 * task schemas, the simulator's config and answers and the CLI are derived
 * from it. These tests iterate the registry and check that every derived
 * table covers exactly its engines, and that each engine works end to end
 * against the simulator; the type-level checks show that a table missing an
 * engine does not compile.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as Engine from "../src/Engine.js"
import type * as ChatGPT from "../src/engines/ChatGPT.js"
import type * as GoogleNews from "../src/engines/GoogleNews.js"
import * as Engines from "../src/internal/engines.js"
import * as Pricing from "../src/Pricing.js"
import * as Task from "../src/Task.js"
import { CloroSimulator } from "../src/testing/index.js"
import * as Prng from "../src/testing/internal/prng.js"
import * as SchemaAnswer from "../src/testing/internal/schemaAnswer.js"

const KEY = "sk_test_registry"

const client = Layer.provideMerge(
  CloroClient.layer.pipe(Layer.provide(Layer.merge(CloroConfig.layer({ apiKey: KEY }), Cloro.layerBare))),
  CloroSimulator.layer({ accounts: [{ apiKey: KEY, plan: { concurrency: 10, credits: 10_000 } }] })
)

const sorted = (values: Iterable<string>) => [...values].sort()

const names = sorted(Engine.names)

describe("the engine registry", () => {
  it("names each engine once, with a distinct task type and path", () => {
    expect(names.length).toBeGreaterThan(0)
    expect(new Set(Engine.names).size).toBe(Engine.names.length)
    const taskTypes = Engine.names.map((name) => Engine.engines[name].taskType)
    expect(new Set(taskTypes).size).toBe(taskTypes.length)
    const paths = Engine.names.map((name) => Engine.engines[name].path)
    expect(new Set(paths).size).toBe(paths.length)
    for (const name of Engine.names) expect(Engine.engines[name].name).toBe(name)
  })

  it("every derived table covers exactly the registry's engines", () => {
    expect(sorted(Object.keys(Pricing.basePrices))).toEqual(names)
    expect(sorted(Task.TaskType.literals)).toEqual(sorted(Engine.names.map((name) => Engine.engines[name].taskType)))
    const mock = CloroClient.makeMock({})
    expect(sorted(Object.keys(mock.monitor).filter((key) => key !== "googleGoto"))).toEqual(names)
    for (const name of Engine.names) {
      const spec = Engine.engines[name]
      expect(Engine.fromTaskType(spec.taskType).name).toBe(name)
      expect(Pricing.basePrices[name]).toBeGreaterThan(0)
    }
  })

  it("each engine's example is valid, and is a task of its type with its price", () => {
    const check = <N extends Engine.EngineName>(name: N) => {
      const example = Engines.registry[name].example
      expect(Either.isRight(Engine.validate(name, example))).toBe(true)
      const task = Either.getOrThrow(Task.validateSubmit(Task.make(name, example)))
      expect(task.taskType).toBe(Engine.engines[name].taskType)
      expect(Schema.is(Task.SubmitTask)(task)).toBe(true)
      expect(Pricing.estimateTask(task)).toBe(Pricing.estimate(name, example, { mode: "async" }))
      expect(Pricing.estimate(name, example, { mode: "sync" })).toBe(Pricing.basePrices[name] + Pricing.SYNC_SURCHARGE)
    }
    Engine.names.forEach(check)
  })

  it.effect("the simulator's config takes exactly the registry's engines", () =>
    Effect.gen(function*() {
      const every = Object.fromEntries(Engine.names.map((name) => [name, CloroSimulator.fixed(1)]))
      yield* CloroSimulator.decodeConfig({ latency: { engines: every } })
      const unknown = yield* Effect.flip(CloroSimulator.decodeConfig({ latency: { engines: { madeUp: CloroSimulator.fixed(1) } } }))
      expect(unknown._tag).toBe("SimulatorConfigError")
    }))

  it.scoped("every engine answers through the client's method, at its price, sync and async", () =>
    Effect.gen(function*() {
      const cloro = yield* CloroClient.CloroClient
      const monitor: { readonly [N in Engine.EngineName]: CloroClient.MonitorMethod<N> } = cloro.monitor
      const check = <N extends Engine.EngineName>(name: N) =>
        Effect.gen(function*() {
          const example = Engines.registry[name].example
          const answer = yield* monitor[name](example)
          expect(answer.usage.credits.charged).toBe(Pricing.estimate(name, example, { mode: "sync" }))
          expect(Either.isRight(Engine.decodeResult(name, resultOf(answer.raw)))).toBe(true)
          const task = Either.getOrThrow(Task.validateSubmit(Task.make(name, example)))
          const submitted = yield* cloro.tasks.submit(task)
          expect(submitted.result.task.taskType).toBe(Engine.engines[name].taskType)
          expect(submitted.result.credits.creditsToCharge).toBe(Pricing.estimate(name, example, { mode: "async" }))
        })
      yield* Effect.forEach(Engine.names, check, { discard: true })
    }).pipe(Effect.provide(client)))

  it("an engine without a hand-written simulator answer is answered from its result schema", () => {
    const MadeUp = Schema.Struct({
      text: Schema.String,
      sources: Schema.Array(Schema.Struct({ url: Schema.String, position: Schema.Int })),
      score: Schema.optional(Schema.Number)
    })
    const prng = Prng.make(7, "madeUp:{}")
    const answer = SchemaAnswer.fromSchema(MadeUp, prng)
    expect(answer).toBeDefined()
    expect(Either.isRight(Schema.decodeUnknownEither(MadeUp)(answer))).toBe(true)
    expect(SchemaAnswer.fromSchema(MadeUp, Prng.make(7, "madeUp:{}"))).toEqual(answer)
    expect(SchemaAnswer.fromSchema(MadeUp, Prng.make(8, "madeUp:{}"))).not.toEqual(answer)
  })

  it("types follow the registry", () => {
    expectTypeOf<Engine.Request<"chatgpt">>().toEqualTypeOf<ChatGPT.Request>()
    expectTypeOf<Engine.Result<"googleNews">>().toEqualTypeOf<GoogleNews.Result>()
    expectTypeOf<Task.TaskTypeOf<"googleNews">>().toEqualTypeOf<"GOOGLE_NEWS">()
    expectTypeOf<CloroClient.CloroClientShape["monitor"]["chatgpt"]>().toEqualTypeOf<CloroClient.MonitorMethod<"chatgpt">>()
    interface Price extends Engines.PerEngine {
      readonly Out: number
    }
    // @ts-expect-error a table that misses an engine does not compile
    const partial: Engines.Table<Price> = { chatgpt: 1 }
    expect(partial).toBeDefined()
  })
})

const resultOf = (raw: unknown): unknown =>
  typeof raw === "object" && raw !== null && "result" in raw ? raw.result : undefined
