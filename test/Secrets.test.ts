/**
 * The API key must never leave the Authorization header: not in an error,
 * not in a log line, not in a span (name, attribute or event).
 */
import { inspect } from "node:util"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Ref from "effect/Ref"
import * as Tracer from "effect/Tracer"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import { CloroSimulator } from "../src/testing/index.js"

const KEY = "sk_live_TOPSECRET_0123456789abcdef"

describe("the API key stays secret", () => {
  it.scoped("no error, log line or span carries it, on success or failure", () =>
    Effect.gen(function*() {
      const spans = yield* Ref.make<ReadonlyArray<Tracer.Span>>([])
      const logs = yield* Ref.make<ReadonlyArray<string>>([])
      const base = yield* Effect.tracer
      const recording = Tracer.make({
        span: (...args) => {
          const span = base.span(...args)
          Effect.runSync(Ref.update(spans, (all) => [...all, span]))
          return span
        },
        context: (f, fiber) => base.context(f, fiber)
      })
      const logger = Logger.make(({ annotations, message }) => {
        Effect.runSync(Ref.update(logs, (all) => [...all, JSON.stringify({ message, annotations: [...annotations] })]))
      })

      const program = Effect.gen(function*() {
        const client = yield* CloroClient.CloroClient
        const sim = yield* CloroSimulator.CloroSimulator
        yield* client.monitor.chatgpt({ prompt: "hello", country: "US" })
        yield* sim.setBalance(KEY, 50) // low balance: the monitor logs a warning
        yield* client.monitor.chatgpt({ prompt: "hello again", country: "US" })
        yield* sim.injectFaults([{ fault: "500", path: "/v1/credits" }, { fault: "garbageBody", path: "/v1/countries" }])
        return [
          yield* Effect.flip(client.account.credits()),
          yield* Effect.flip(client.account.countries()),
          yield* Effect.flip(client.monitor.chatgpt({ prompt: "", country: "US" })),
          yield* Effect.flip(client.tasks.get("does-not-exist"))
        ]
      })

      const errors = yield* program.pipe(
        Effect.provide(
          Cloro.layer({ apiKey: KEY }, { retry: "none" }).pipe(
            Layer.provideMerge(CloroSimulator.layer({ accounts: [{ apiKey: KEY }] }))
          )
        ),
        Effect.withTracer(recording),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        // Every level, debug and trace included: a key must not hide in a line nobody reads by default.
        Logger.withMinimumLogLevel(LogLevel.All)
      )

      expect(errors.map((e) => e._tag)).toEqual(["ServerError", "ResponseDecodeError", "InvalidRequest", "NotFound"])
      for (const error of errors) {
        expect(JSON.stringify(error)).not.toContain(KEY)
        expect(String(error)).not.toContain(KEY)
        expect(inspect(error, { depth: 10 })).not.toContain(KEY)
        expect(Cause.pretty(Cause.fail(error))).not.toContain(KEY)
      }
      const recordedLogs = yield* Ref.get(logs)
      expect(recordedLogs.some((line) => line.includes("credits low"))).toBe(true)
      for (const line of recordedLogs) expect(line).not.toContain(KEY)
      const recordedSpans = yield* Ref.get(spans)
      expect(recordedSpans.length).toBeGreaterThan(0)
      for (const span of recordedSpans) {
        const text = JSON.stringify({ name: span.name, attributes: [...span.attributes], events: "events" in span ? span.events : [] }, (_, v) => typeof v === "bigint" ? String(v) : v)
        expect(text).not.toContain(KEY)
      }
    }))
})
