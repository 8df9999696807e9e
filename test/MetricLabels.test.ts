/**
 * `withLabel` (`internal/metricLabels.ts`) against what it replaces, Effect's
 * own `Metric.tagged` + `Metric.update`: the same metric keys, under the
 * fiber's `Effect.tagMetrics` labels too, and the same values; and it
 * reuses one label array per label set, which is its whole point.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import { joinedLabels, withLabel } from "../src/internal/metricLabels.js"

/** Every point of the named metric: its labels (sorted) and its value. */
const pointsOf = (name: string) =>
  Effect.map(Metric.snapshot, (pairs) =>
    pairs
      .filter((pair) => pair.metricKey.name === name)
      .map((pair) => ({
        labels: [...pair.metricKey.tags].map((label) => `${label.key}=${label.value}`).sort().join(","),
        state: JSON.stringify(pair.metricState)
      }))
      .sort((a, b) => a.labels.localeCompare(b.labels)))

describe("withLabel", () => {
  it.effect("gives the keys and values of Metric.tagged + update, with and without the fiber's labels", () =>
    Effect.gen(function*() {
      const ours = Metric.counter("test.metricLabels.ours", { incremental: true })
      const theirs = Metric.counter("test.metricLabels.theirs", { incremental: true })
      const byError = withLabel(ours, "error.type")
      const updates: ReadonlyArray<readonly [string, number]> = [["Timeout", 1], ["ServerError", 3], ["Timeout", 2]]
      for (const tenant of [undefined, "a", "b"]) {
        for (const [tag, amount] of updates) {
          const both = Effect.zipRight(byError(tag, amount), Metric.incrementBy(Metric.tagged(theirs, "error.type", tag), amount))
          yield* tenant === undefined ? both : Effect.tagMetrics(both, "tenant", tenant)
        }
      }
      const mine = yield* pointsOf("test.metricLabels.ours")
      expect(mine).toHaveLength(6)
      expect(mine).toEqual(yield* pointsOf("test.metricLabels.theirs"))
      expect(mine.find((point) => point.labels === "error.type=Timeout,tenant=a")?.state).toContain("3")
    }))

  it.effect("a gauge and a histogram keep the same keys too", () =>
    Effect.gen(function*() {
      const boundaries = MetricBoundaries.fromIterable([0.1, 1, 10])
      const values = [["chatgpt", 0.5], ["gemini", 5], ["chatgpt", 2]] as const
      const gauge = withLabel(Metric.gauge("test.metricLabels.gauge.ours"), "engine")
      const histogram = withLabel(Metric.histogram("test.metricLabels.histogram.ours", boundaries), "engine")
      for (const [engine, value] of values) {
        yield* gauge(engine, value)
        yield* Metric.update(Metric.tagged(Metric.gauge("test.metricLabels.gauge.theirs"), "engine", engine), value)
        yield* histogram(engine, value)
        yield* Metric.update(
          Metric.tagged(Metric.histogram("test.metricLabels.histogram.theirs", boundaries), "engine", engine),
          value
        )
      }
      expect(yield* pointsOf("test.metricLabels.gauge.ours")).toEqual(yield* pointsOf("test.metricLabels.gauge.theirs"))
      expect(yield* pointsOf("test.metricLabels.histogram.ours")).toEqual(yield* pointsOf("test.metricLabels.histogram.theirs"))
    }))
})

describe("joinedLabels", () => {
  it("builds one array per key and fiber label set, joined as Array.union(extra, fiber)", () => {
    const join = joinedLabels()
    const fiber = [MetricLabel.make("tenant", "a")]
    let built = 0
    const extra = () => {
      built++
      return [MetricLabel.make("error.type", "Timeout")]
    }
    const first = join("Timeout", extra, fiber)
    expect(join("Timeout", extra, fiber)).toBe(first)
    expect(built).toBe(1)
    expect(first.map((label) => label.key)).toEqual(["error.type", "tenant"])
    const otherFiber = [MetricLabel.make("tenant", "b")]
    expect(join("Timeout", extra, otherFiber)).not.toBe(first)
    expect(built).toBe(2)
  })
})
