/**
 * What a run has done so far, kept in one `Ref`: counts, credits, latencies,
 * and samples over time for the report. Every output line passes through
 * `record`, so the summary always agrees with the file.
 *
 * @since 0.2.0
 */
import * as Chunk from "effect/Chunk"
import type { Pricing } from "../index.js"
import type * as Output from "./Output.js"

/**
 * One moment of the run, taken about once a second.
 *
 * @since 0.2.0
 */
export interface Sample {
  /** Milliseconds since the run started. */
  readonly t: number
  readonly done: number
  readonly ok: number
  readonly failed: number
  readonly inUse: number
  /** `undefined` when the limiter is unlimited. */
  readonly size: number | undefined
  readonly spent: number
}

/**
 * Credits and counts of one engine or tag.
 *
 * @since 0.2.0
 */
export interface Spend {
  readonly lines: number
  readonly ok: number
  readonly credits: number
  /** What the `ok` lines would have cost in the other mode. */
  readonly otherMode: number
}

/**
 * The run's state.
 *
 * @since 0.2.0
 */
export interface Stats {
  readonly mode: Pricing.Mode
  readonly startedAt: number
  /** Lines this run writes (inputs minus those already `ok`). */
  readonly total: number
  /** Inputs skipped because an earlier run wrote them `ok`. */
  readonly alreadyOk: number
  readonly done: number
  readonly ok: number
  readonly failed: number
  readonly skipped: number
  /** Credits charged in this run. */
  readonly spent: number
  /** The most each request in flight may cost, summed. */
  readonly committed: number
  readonly inFlight: number
  readonly attempts: number
  readonly retries: number
  readonly budget: number | undefined
  /** Why submitting stopped early, if it did. */
  readonly stopped: "budget" | "signal" | undefined
  readonly errors: Readonly<Record<string, number>>
  readonly byEngine: Readonly<Record<string, Spend>>
  readonly byTag: Readonly<Record<string, Spend>>
  readonly latencies: Chunk.Chunk<number>
  readonly samples: Chunk.Chunk<Sample>
  readonly endedAt: number | undefined
}

/**
 * The state at the start of a run.
 *
 * @since 0.2.0
 */
export const initial = (options: {
  readonly mode: Pricing.Mode
  readonly startedAt: number
  readonly total: number
  readonly alreadyOk: number
  readonly budget: number | undefined
}): Stats => ({
  ...options,
  done: 0,
  ok: 0,
  failed: 0,
  skipped: 0,
  spent: 0,
  committed: 0,
  inFlight: 0,
  attempts: 0,
  retries: 0,
  stopped: undefined,
  errors: {},
  byEngine: {},
  byTag: {},
  latencies: Chunk.empty(),
  samples: Chunk.empty(),
  endedAt: undefined
})

const emptySpend: Spend = { lines: 0, ok: 0, credits: 0, otherMode: 0 }

const addSpend = (
  table: Readonly<Record<string, Spend>>,
  key: string,
  line: Output.Line,
  otherMode: number
): Readonly<Record<string, Spend>> => {
  const old = table[key] ?? emptySpend
  return {
    ...table,
    [key]: {
      lines: old.lines + 1,
      ok: old.ok + (line.status === "ok" ? 1 : 0),
      credits: old.credits + (line.credits ?? 0),
      otherMode: old.otherMode + otherMode
    }
  }
}

/**
 * Counts one written line. `otherMode` is what it would have cost in the
 * other mode (0 unless `ok`).
 *
 * @since 0.2.0
 */
export const record = (stats: Stats, line: Output.Line, otherMode: number): Stats => ({
  ...stats,
  done: stats.done + 1,
  ok: stats.ok + (line.status === "ok" ? 1 : 0),
  failed: stats.failed + (line.status === "failed" ? 1 : 0),
  skipped: stats.skipped + (line.status === "skipped" ? 1 : 0),
  spent: stats.spent + (line.credits ?? 0),
  attempts: stats.attempts + (line.attempts ?? 0),
  retries: stats.retries + Math.max(0, (line.attempts ?? 0) - 1),
  errors: line.error === undefined || line.status === "ok"
    ? stats.errors
    : { ...stats.errors, [line.error._tag]: (stats.errors[line.error._tag] ?? 0) + 1 },
  byEngine: addSpend(stats.byEngine, line.engine ?? "(none)", line, otherMode),
  byTag: line.tags.reduce((table, tag) => addSpend(table, tag, line, otherMode), stats.byTag),
  latencies: line.latencyMs === null || line.status === "skipped"
    ? stats.latencies
    : Chunk.append(stats.latencies, line.latencyMs)
})

/**
 * The value below which `p` (0 to 1) of the sorted values fall (nearest rank).
 *
 * @since 0.2.0
 */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number | undefined => {
  if (sorted.length === 0) return undefined
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)))
  return sorted[rank - 1]
}

/**
 * Latencies in ascending order.
 *
 * @since 0.2.0
 */
export const sortedLatencies = (stats: Stats): ReadonlyArray<number> =>
  Chunk.toReadonlyArray(stats.latencies).slice().sort((a, b) => a - b)

/**
 * What the `ok` lines would have cost in the other mode.
 *
 * @since 0.2.0
 */
export const otherModeTotal = (stats: Stats): number =>
  Object.values(stats.byEngine).reduce((sum, spend) => sum + spend.otherMode, 0)
