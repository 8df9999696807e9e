/**
 * Telemetry by the OpenTelemetry HTTP client conventions, read back through an
 * in-memory OpenTelemetry SDK: span names, kinds and attributes, metric kinds
 * and units; and the debug log, which is off by default and never holds the key.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { SpanKind, SpanStatusCode } from "@opentelemetry/api"
import { AggregationTemporality, DataPointType, MetricReader, type MetricData } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroLog from "../src/CloroLog.js"
import { CloroSimulator } from "../src/testing/index.js"
import * as Layers from "./support/layers.js"

const KEY = "sk_test_telemetry_9d1f"

/** A reader the test collects from by hand, instead of on a timer. */
class ManualReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected onForceFlush() {
    return Promise.resolve()
  }
  protected onShutdown() {
    return Promise.resolve()
  }
}

/** The full client on an in-memory simulator whose first chatgpt call gets a 503 with `Retry-After: 1`. */
const Client = Layers.simulated({
  apiKey: KEY,
  sim: {
    accounts: [{ apiKey: KEY, plan: { concurrency: 5 } }],
    faults: { script: [{ fault: "503", path: "/v1/monitor/chatgpt", retryAfter: 1 }] }
  }
})

/** One chatgpt call that is retried once, one task read, and one call refused for a wrong key. */
const workload = Effect.gen(function*() {
  const cloro = yield* CloroClient.CloroClient
  const fiber = yield* Effect.fork(cloro.monitor.chatgpt({ prompt: "best CRM", country: "US" }, { tag: "crm" }))
  yield* TestClock.adjust("1 minute")
  const answer = yield* Fiber.join(fiber)
  const submitted = yield* cloro.tasks.submit({ taskType: "GOOGLE", payload: { query: "crm", country: "US" } })
  yield* Effect.either(cloro.tasks.get(submitted.result.task.id))
  const wrongKey = yield* Effect.either(
    Effect.flatMap(CloroClient.CloroClient, (other) => other.monitor.perplexity({ prompt: "best CRM", country: "US" }))
      .pipe(
        Effect.provide(Layers.simulated({ apiKey: "sk_wrong_key", sim: { accounts: [{ apiKey: KEY }] } }))
      )
  )
  return { answer, taskId: submitted.result.task.id, wrongKey }
})

const captureLogs = Effect.gen(function*() {
  const lines = yield* Ref.make<Array<string>>([])
  const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
    const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
    Effect.runSync(Ref.update(lines, (all) => [...all, `${logLevel.label} ${text}`]))
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
})

describe("Telemetry", () => {
  it.effect("spans: an INTERNAL span per call named after the client method, CLIENT spans per attempt inside it", () => {
    const exporter = new InMemorySpanExporter()
    const reader = new ManualReader()
    const Otel = NodeSdk.layer(() => ({
      resource: { serviceName: "cloro-effect-test" },
      spanProcessor: new SimpleSpanProcessor(exporter),
      metricReader: reader
    }))
    return Effect.gen(function*() {
      const { taskId, wrongKey } = yield* workload.pipe(Effect.provide(Client), Effect.withSpan("workload"))
      expect(wrongKey._tag).toBe("Left")
      const spans = exporter.getFinishedSpans()
      const names = spans.map((s) => s.name)

      // Every call's span is a child of the caller's span, however many calls ran before it in the same
      // fiber: a call's span is its attempts' parent only while the call runs.
      const workloadSpan = spans.find((s) => s.name === "workload")!
      const calls = spans.filter((s) => s.name.startsWith("CloroClient."))
      expect(calls.map((s) => s.name).sort()).toEqual([
        "CloroClient.monitor.chatgpt",
        "CloroClient.monitor.perplexity",
        "CloroClient.tasks.get",
        "CloroClient.tasks.submit"
      ])
      for (const span of calls) expect(span.parentSpanContext?.spanId, span.name).toBe(workloadSpan.spanContext().spanId)
      // A free call's attempt is a child of its call's span too.
      const get = calls.find((s) => s.name === "CloroClient.tasks.get")!
      expect(
        spans.filter((s) => s.name === "GET /v1/async/task/{taskId}").map((s) => s.parentSpanContext?.spanId)
      ).toEqual([get.spanContext().spanId])

      // No span name carries a task id: a call's span is named after the client method, an attempt's by route.
      expect(names.some((n) => n.includes(taskId))).toBe(false)
      expect(names).toContain("CloroClient.tasks.get")
      expect(names).toContain("GET /v1/async/task/{taskId}")

      const outer = spans.filter((s) => s.name === "CloroClient.monitor.chatgpt")
      expect(outer).toHaveLength(1)
      const call = outer[0]!
      expect(call.kind).toBe(SpanKind.INTERNAL)
      expect(call.attributes).toEqual({
        "http.request.method": "POST",
        "url.template": "/v1/monitor/chatgpt",
        "cloro.tag": "crm"
      })
      // The 503 and the retry: two CLIENT attempts, children of the call's span.
      const attempts = spans.filter((s) =>
        s.name === "POST /v1/monitor/chatgpt" && s.parentSpanContext?.spanId === call.spanContext().spanId
      )
      expect(attempts.map((s) => s.kind)).toEqual([SpanKind.CLIENT, SpanKind.CLIENT])
      expect(attempts.map((s) => s.attributes["http.response.status_code"])).toEqual([503, 200])

      // A call without a tag records no `cloro.tag` at all (never the string "undefined").
      const read = spans.find((s) => s.name === "CloroClient.tasks.get")!
      expect(read.kind).toBe(SpanKind.INTERNAL)
      expect("cloro.tag" in read.attributes).toBe(false)
      for (const span of spans) {
        for (const value of Object.values(span.attributes)) {
          expect(String(value)).not.toBe("undefined")
          expect(String(value)).not.toContain(KEY)
          expect(String(value)).not.toContain("sk_wrong_key")
        }
      }

      // A failed call: status ERROR and `error.type` with the typed error's tag.
      const refused = spans.find((s) => s.name === "CloroClient.monitor.perplexity")!
      expect(refused.status.code).toBe(SpanStatusCode.ERROR)
      expect(refused.attributes["error.type"]).toBe("Unauthorized")
    }).pipe(Effect.provide(Otel))
  })

  it.effect("metrics: monotonic counters, gauges, and a request-duration histogram in seconds", () => {
    const reader = new ManualReader()
    const Otel = NodeSdk.layer(() => ({ resource: { serviceName: "cloro-effect-test" }, metricReader: reader }))
    return Effect.gen(function*() {
      yield* workload.pipe(Effect.provide(Client))
      const { resourceMetrics } = yield* Effect.promise(() => reader.collect())
      const metrics = new Map<string, MetricData>(
        resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((m) => [m.descriptor.name, m])
      )
      for (const name of ["cloro.retries", "cloro.errors", "cloro.limit_hits", "cloro.credits.spent"]) {
        const metric = metrics.get(name)
        if (name === "cloro.limit_hits" && metric === undefined) continue // no 429 in this workload
        expect(metric?.dataPointType, name).toBe(DataPointType.SUM)
        expect(metric?.dataPointType === DataPointType.SUM && metric.isMonotonic, name).toBe(true)
      }
      expect(metrics.get("cloro.credits.remaining")?.dataPointType).toBe(DataPointType.GAUGE)
      expect([...metrics.keys()].some((name) => name.endsWith("_total"))).toBe(false)

      const duration = metrics.get("http.client.request.duration")
      expect(duration?.dataPointType).toBe(DataPointType.HISTOGRAM)
      expect(duration?.descriptor.unit).toBe("s")
      const points = duration?.dataPoints ?? []
      // Metrics are the process's: run in one process with other test files (`--pool=forks
      // --poolOptions.forks.singleFork`), their servers' and statuses' points are here too.
      const chatgpt = points.filter((p) =>
        p.attributes["url.template"] === "/v1/monitor/chatgpt" && p.attributes["server.address"] === "api.cloro.dev"
      )
      expect(chatgpt.map((p) => p.attributes["http.response.status_code"])).toEqual(expect.arrayContaining(["200", "503"]))
      expect(chatgpt.find((p) => p.attributes["http.response.status_code"] === "503")?.attributes["error.type"])
        .toBe("503")
      for (const point of chatgpt) {
        expect(point.attributes).toMatchObject({ "http.request.method": "POST", "server.port": "443" })
      }
      expect(points.some((p) => String(p.attributes["url.template"]).includes("{taskId}"))).toBe(true)
      const retries = metrics.get("cloro.retries")
      expect(retries?.dataPoints.some((p) => p.attributes["error.type"] === "ServiceUnavailable")).toBe(true)
    }).pipe(Effect.provide(Otel))
  })
})

describe("Debug logging", () => {
  const debugLines = (lines: ReadonlyArray<string>) => lines.filter((line) => line.startsWith("DEBUG"))

  it.effect("is off by default", () =>
    Effect.gen(function*() {
      const logs = yield* captureLogs
      yield* workload.pipe(Effect.provide(Client), Effect.provide(logs.layer))
      expect(debugLines(yield* Ref.get(logs.lines))).toEqual([])
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))

  it.effect("CLORO_LOG=debug logs each attempt, wait and retry, and never the key", () =>
    Effect.gen(function*() {
      const logs = yield* captureLogs
      const { taskId } = yield* workload.pipe(Effect.provide(Client), Effect.provide(logs.layer))
      const lines = debugLines(yield* Ref.get(logs.lines))
      console.log(lines.join("\n"))
      expect(lines).toContainEqual(expect.stringMatching(/^DEBUG cloro POST \/v1\/monitor\/chatgpt: 503 in \d/))
      expect(lines).toContainEqual(
        expect.stringMatching(/^DEBUG cloro POST \/v1\/monitor\/chatgpt: retrying after ServiceUnavailable in \d/)
      )
      expect(lines).toContainEqual(expect.stringMatching(/^DEBUG cloro POST \/v1\/monitor\/chatgpt: 200 in .*request id/))
      expect(lines).toContainEqual(expect.stringMatching(/^DEBUG cloro GET \/v1\/async\/task\/\{taskId\}: 200 in/))
      expect(lines).toContainEqual(expect.stringMatching(/^DEBUG cloro POST \/v1\/monitor\/perplexity: 401 in/))
      for (const line of yield* Ref.get(logs.lines)) {
        expect(line).not.toContain(KEY)
        expect(line).not.toContain("sk_wrong_key")
        expect(line).not.toContain(taskId)
      }
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CLORO_LOG", " Debug "]])))))

  it.effect("logs the wait for a concurrency slot", () =>
    Effect.gen(function*() {
      const logs = yield* captureLogs
      yield* Effect.gen(function*() {
        const cloro = yield* CloroClient.CloroClient
        const fiber = yield* Effect.fork(
          Effect.all([
            cloro.monitor.chatgpt({ prompt: "one", country: "US" }),
            cloro.monitor.chatgpt({ prompt: "two", country: "US" })
          ], { concurrency: "unbounded" })
        )
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(fiber)
      }).pipe(
        Effect.provide(
          Layers.simulated({
            apiKey: KEY,
            sim: { accounts: [{ apiKey: KEY, plan: { concurrency: 1 } }], latency: { default: CloroSimulator.fixed(2000) } },
            options: { concurrency: { limit: 1 } }
          })
        ),
        Effect.provide(logs.layer),
        Effect.provide(CloroLog.layer("debug"))
      )
      expect(debugLines(yield* Ref.get(logs.lines))).toContainEqual(
        "DEBUG cloro POST /v1/monitor/chatgpt: waited 2s for a concurrency slot"
      )
    }))

  it.effect("a layer decides in code, over the environment", () =>
    Effect.gen(function*() {
      const on = yield* captureLogs
      yield* workload.pipe(Effect.provide(Client), Effect.provide(on.layer), Effect.provide(CloroLog.layer("debug")))
      expect(debugLines(yield* Ref.get(on.lines)).length).toBeGreaterThan(5)

      const off = yield* captureLogs
      yield* workload.pipe(
        Effect.provide(Client),
        Effect.provide(off.layer),
        Effect.provide(CloroLog.layer("off")),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CLORO_LOG", "debug"]])))
      )
      expect(debugLines(yield* Ref.get(off.lines))).toEqual([])
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))
})
