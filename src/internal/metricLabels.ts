/**
 * Updating a metric under extra labels without building its key again on
 * every update.
 *
 * Effect finds a metric's state by its label array: `fromMetricKey` keeps a
 * hook per array (a `WeakMap` keyed by the array itself) and builds the
 * tagged `MetricKey` (hashing every label, formatting its description) only
 * on a miss. `Metric.tagged` and `Metric.taggedWithLabels` join their labels
 * with the fiber's into a new array on every update, so every update of a
 * tagged metric misses, and builds and looks up a key again: a few
 * microseconds and a few hundred bytes, on every call for the request
 * duration and every billed call for the spend. Here the joined array is
 * built once per label set and reused, so the hook is found at once; the
 * metric, its keys and its values are the ones the tagged metric gives.
 */
import * as Array from "effect/Array"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"

/**
 * The labels `extra` joined with `fiberLabels`, as `Metric.taggedWithLabels`
 * joins them (`Array.union(extra, fiberLabels)`), one array per pair: `extra`
 * by its `key` (built from it the first time only), the fiber's by identity (a fiber's labels are one array,
 * shared by the fibers it starts, until `Effect.tagMetrics` sets others).
 */
export const joinedLabels = () => {
  const byFiberLabels = new WeakMap<ReadonlyArray<MetricLabel.MetricLabel>, Map<string, ReadonlyArray<MetricLabel.MetricLabel>>>()
  return (
    key: string,
    extra: (key: string) => ReadonlyArray<MetricLabel.MetricLabel>,
    fiberLabels: ReadonlyArray<MetricLabel.MetricLabel>
  ): ReadonlyArray<MetricLabel.MetricLabel> => {
    let byKey = byFiberLabels.get(fiberLabels)
    if (byKey === undefined) {
      byKey = new Map()
      byFiberLabels.set(fiberLabels, byKey)
    }
    const known = byKey.get(key)
    if (known !== undefined) return known
    const joined = Array.union(extra(key), fiberLabels)
    byKey.set(key, joined)
    return joined
  }
}

/**
 * `metric` updated with `input` under one more label, `name` = the value
 * given, and the fiber's own labels: what
 * `Metric.update(Metric.tagged(metric, name, value), input)` does, with the
 * label array reused.
 *
 * @example
 * const byError = withLabel(metrics.errors, "error.type")
 * byError("Timeout", 1) // Metric.increment(Metric.tagged(metrics.errors, "error.type", "Timeout"))
 */
export const withLabel = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, name: string) => {
  const labels = joinedLabels()
  const labelOf = (value: string) => [MetricLabel.make(name, value)]
  return (value: string, input: In): Effect.Effect<void> =>
    Effect.withFiberRuntime((fiber) => {
      metric.unsafeUpdate(input, labels(value, labelOf, fiber.getFiberRef(FiberRef.currentMetricLabels)))
      return Effect.void
    })
}
