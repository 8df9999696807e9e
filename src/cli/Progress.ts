/**
 * What `cloro run` shows while it works and when it ends: a live line on a
 * terminal, a plain line every few seconds elsewhere, and a summary table.
 *
 * @since 0.2.0
 */
import * as Stats from "./Stats.js"

/**
 * What the pipeline's services said at the moment of rendering.
 *
 * @since 0.2.0
 */
export interface Live {
  readonly now: number
  readonly slotsInUse: number
  /** `undefined` when the limiter is unlimited. */
  readonly slotsLimit: number | undefined
  /** The account's balance, as cloro last reported it. */
  readonly balance: number | undefined
  readonly rejected429: number
}

const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "∞")

/**
 * Milliseconds as `1.2 s`, `3 m 05 s`, `1 h 02 m`.
 *
 * @since 0.2.0
 */
export const duration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "–"
  if (ms < 1_000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`
  const s = Math.round(ms / 1_000)
  if (s < 3_600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`
  return `${Math.floor(s / 3_600)} h ${String(Math.floor((s % 3_600) / 60)).padStart(2, "0")} m`
}

const remainingText = (stats: Stats.Stats, live: Live): string => {
  const parts: Array<string> = []
  if (stats.budget !== undefined) parts.push(`${fmt(stats.budget - stats.spent)} of budget left`)
  if (live.balance !== undefined) parts.push(`${fmt(live.balance)} on the account`)
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`
}

/**
 * One progress line: done/total, ok/failed, credits spent and remaining,
 * slots in use of the limit, requests per second and the ETA.
 *
 * @since 0.2.0
 */
export const line = (stats: Stats.Stats, live: Live): string => {
  const elapsed = Math.max(1, live.now - stats.startedAt)
  const rate = stats.done / (elapsed / 1_000)
  const left = stats.total - stats.done
  const eta = rate > 0 ? duration((left / rate) * 1_000) : "–"
  return [
    `${fmt(stats.done)}/${fmt(stats.total)} done`,
    `ok ${fmt(stats.ok)} · failed ${fmt(stats.failed)}${stats.skipped > 0 ? ` · skipped ${fmt(stats.skipped)}` : ""}`,
    `credits ${fmt(stats.spent)} spent${remainingText(stats, live)}`,
    `slots ${fmt(live.slotsInUse)}/${live.slotsLimit === undefined ? "unlimited" : fmt(live.slotsLimit)}`,
    `${rate.toFixed(1)} req/s`,
    `ETA ${left === 0 ? "0 s" : eta}`
  ].join(" | ")
}

const table = (rows: ReadonlyArray<readonly [string, string]>): string => {
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n")
}

/**
 * The end-of-run table: counts by status and by error tag, credits spent and
 * remaining, p50/p95 latency, 429s, retries and wall time.
 *
 * @since 0.2.0
 */
export const summary = (stats: Stats.Stats, live: Live): string => {
  const sorted = Stats.sortedLatencies(stats)
  const p50 = Stats.percentile(sorted, 0.5)
  const p95 = Stats.percentile(sorted, 0.95)
  const wall = (stats.endedAt ?? live.now) - stats.startedAt
  const errorRows = Object.entries(stats.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([tag, n]): readonly [string, string] => [`  ${tag}`, fmt(n)])
  const rows: Array<readonly [string, string]> = [
    ["lines written", fmt(stats.done)],
    ["ok", fmt(stats.ok)],
    ["failed", fmt(stats.failed)],
    ["skipped", fmt(stats.skipped)],
    ...(stats.alreadyOk > 0 ? [["already ok (resumed)", fmt(stats.alreadyOk)] as const] : []),
    ...(errorRows.length > 0 ? [["errors by tag", ""] as const, ...errorRows] : []),
    ["credits spent", fmt(stats.spent)],
    ...(stats.budget !== undefined ? [["budget left", fmt(stats.budget - stats.spent)] as const] : []),
    ["credits remaining", live.balance === undefined ? "unknown" : fmt(live.balance)],
    [`in ${stats.mode === "sync" ? "async" : "sync"} mode`, `${fmt(Stats.otherModeTotal(stats))} credits`],
    ["latency p50 / p95", `${p50 === undefined ? "–" : duration(p50)} / ${p95 === undefined ? "–" : duration(p95)}`],
    ["429s seen", fmt(live.rejected429)],
    ["retries", stats.mode === "sync" ? fmt(stats.retries) : "n/a (async)"],
    ["wall time", duration(wall)],
    ...(stats.stopped === "budget" ? [["stopped", "at the budget"] as const] : []),
    ...(stats.stopped === "signal" ? [["stopped", "by Ctrl-C"] as const] : [])
  ]
  return `cloro run: summary\n${table(rows)}\n`
}
