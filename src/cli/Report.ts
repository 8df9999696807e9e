/**
 * `cloro run --report run.html`: one self-contained page (inline SVG, no
 * script, no network) with the summary, credits by engine and tag, the
 * latency distribution, throughput and slots over time, errors by tag, and
 * what the run would have cost in the other mode. Every figure is also in an
 * element with a `data-figure` attribute, so the page can be checked by a
 * program as well as read.
 *
 * @since 0.2.0
 */
import * as Chunk from "effect/Chunk"
import * as Progress from "./Progress.js"
import * as Stats from "./Stats.js"

const escape = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US")

const palette = ["#4f46e5", "#0891b2", "#16a34a", "#ca8a04", "#dc2626", "#9333ea", "#db2777", "#475569"]

/** Horizontal bars, one per entry, with its value written at the end. */
const bars = (
  id: string,
  entries: ReadonlyArray<readonly [string, number]>,
  unit: string
): string => {
  if (entries.length === 0) return `<p class="empty" data-chart="${id}">nothing to show</p>`
  const max = Math.max(1, ...entries.map(([, v]) => v))
  const rowH = 26
  const labelW = 150
  const barW = 420
  const height = entries.length * rowH + 8
  const rows = entries.map(([label, value], i) => {
    const w = Math.max(1, (value / max) * barW)
    const y = 4 + i * rowH
    return `<g data-bar="${escape(label)}" data-value="${value}">` +
      `<text x="${labelW - 8}" y="${y + 17}" text-anchor="end">${escape(label)}</text>` +
      `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" rx="3" fill="${
        palette[i % palette.length]
      }"/>` +
      `<text x="${labelW + w + 6}" y="${y + 17}">${fmt(value)}${unit}</text></g>`
  })
  return `<svg data-chart="${id}" viewBox="0 0 ${labelW + barW + 90} ${height}" width="100%" role="img">${
    rows.join("")
  }</svg>`
}

/** A latency histogram on a log scale of buckets. */
const histogram = (latencies: ReadonlyArray<number>): string => {
  if (latencies.length === 0) return `<p class="empty" data-chart="latency">no latencies</p>`
  const edges = [50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 60_000, 120_000, Infinity]
  const counts = edges.map(() => 0)
  for (const ms of latencies) {
    const i = edges.findIndex((edge) => ms < edge)
    counts[i] = (counts[i] ?? 0) + 1
  }
  const labels = edges.map((edge, i) => {
    const lo = i === 0 ? 0 : edges[i - 1]!
    return edge === Infinity ? `≥ ${Progress.duration(lo)}` : `< ${Progress.duration(edge)}`
  })
  const first = counts.findIndex((c) => c > 0)
  const last = counts.length - 1 - [...counts].reverse().findIndex((c) => c > 0)
  const shown = counts.slice(first, last + 1).map((c, i) => [labels[first + i]!, c] as const)
  const max = Math.max(1, ...shown.map(([, c]) => c))
  // columns share a fixed width, so a few buckets are not blown up to the page's width
  const colW = Math.min(120, Math.max(56, Math.floor(640 / shown.length)))
  const h = 180
  const cols = shown.map(([label, c], i) => {
    const bh = (c / max) * (h - 40)
    const x = 10 + i * colW
    return `<g data-bucket="${escape(label)}" data-value="${c}">` +
      `<rect x="${x}" y="${h - 24 - bh}" width="${colW - 8}" height="${bh.toFixed(1)}" rx="2" fill="#0891b2"/>` +
      `<text x="${x + (colW - 8) / 2}" y="${h - 28 - bh}" text-anchor="middle">${c}</text>` +
      `<text x="${x + (colW - 8) / 2}" y="${h - 8}" text-anchor="middle" class="small">${escape(label)}</text></g>`
  })
  return `<svg data-chart="latency" viewBox="0 0 ${Math.max(660, 20 + shown.length * colW)} ${h}" width="100%" role="img">${
    cols.join("")
  }</svg>`
}

/** Two lines over time on one chart, each scaled to its own maximum and labelled with it. */
const timeSeries = (samples: ReadonlyArray<Stats.Sample>): string => {
  if (samples.length < 2) return `<p class="empty" data-chart="timeline">the run was too short to chart</p>`
  const w = 640
  const h = 200
  const pad = 30
  const tMax = Math.max(1, samples[samples.length - 1]!.t)
  const throughput = samples.map((s, i) => {
    const prev = samples[i - 1]
    if (prev === undefined) return 0
    const dt = (s.t - prev.t) / 1_000
    return dt > 0 ? (s.done - prev.done) / dt : 0
  })
  const slots = samples.map((s) => s.inUse)
  const limits = samples.map((s) => (s.size ?? 0))
  const yMaxRate = Math.max(1, ...throughput)
  const yMaxSlots = Math.max(1, ...slots, ...limits)
  const x = (t: number) => pad + (t / tMax) * (w - 2 * pad)
  const path = (values: ReadonlyArray<number>, max: number) =>
    values.map((v, i) => `${i === 0 ? "M" : "L"}${x(samples[i]!.t).toFixed(1)},${(h - pad - (v / max) * (h - 2 * pad)).toFixed(1)}`)
      .join(" ")
  return `<svg data-chart="timeline" viewBox="0 0 ${w} ${h}" width="100%" role="img">` +
    `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#94a3b8"/>` +
    `<path d="${path(throughput, yMaxRate)}" fill="none" stroke="#4f46e5" stroke-width="2"/>` +
    `<path d="${path(slots, yMaxSlots)}" fill="none" stroke="#16a34a" stroke-width="2"/>` +
    `<path d="${path(limits, yMaxSlots)}" fill="none" stroke="#16a34a" stroke-dasharray="4 3"/>` +
    `<text x="${pad}" y="16" fill="#4f46e5">req/s (peak ${yMaxRate.toFixed(1)})</text>` +
    `<text x="${w / 2}" y="16" fill="#16a34a">slots in use, dashed: limit (max ${fmt(yMaxSlots)})</text>` +
    `<text x="${w - pad}" y="${h - 8}" text-anchor="end">${escape(Progress.duration(tMax))}</text>` +
    `<text x="${pad}" y="${h - 8}">0</text></svg>`
}

/** At most `n` samples, evenly picked, so a long run's page stays small. */
const thin = <A>(values: ReadonlyArray<A>, n: number): ReadonlyArray<A> =>
  values.length <= n ? values : Array.from({ length: n }, (_, i) => values[Math.round((i * (values.length - 1)) / (n - 1))]!)

/**
 * What the report needs beyond the stats.
 *
 * @since 0.2.0
 */
export interface Extra {
  readonly input: string
  readonly simulated: boolean
  readonly balance: number | undefined
  readonly rejected429: number
  readonly generatedAt: string
}

/**
 * The report page.
 *
 * @since 0.2.0
 */
export const render = (stats: Stats.Stats, extra: Extra): string => {
  const sorted = Stats.sortedLatencies(stats)
  const p50 = Stats.percentile(sorted, 0.5)
  const p95 = Stats.percentile(sorted, 0.95)
  const wall = (stats.endedAt ?? stats.startedAt) - stats.startedAt
  const other = stats.mode === "sync" ? "async" : "sync"
  const otherCost = Stats.otherModeTotal(stats)
  const figure = (name: string, label: string, value: string) =>
    `<div class="card"><div class="label">${escape(label)}</div><div class="value" data-figure="${name}">${
      escape(value)
    }</div></div>`
  const byCredits = (table: Readonly<Record<string, Stats.Spend>>) =>
    Object.entries(table).map(([k, v]) => [k, v.credits] as const).sort((a, b) => b[1] - a[1])
  const errors = Object.entries(stats.errors).sort((a, b) => b[1] - a[1])
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloro run: ${escape(extra.input)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f8fafc;color:#0f172a}
main{max-width:920px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#64748b;margin-bottom:16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 12px}
.label{color:#64748b;font-size:12px}.value{font-size:20px;font-weight:600}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;margin-top:12px}
svg text{font-size:12px;fill:#334155}svg text.small{font-size:10px}
.empty{color:#94a3b8}
</style></head>
<body><main>
<h1>cloro run: ${escape(extra.input)}</h1>
<div class="sub">${stats.mode} mode · ${extra.simulated ? "embedded simulator (no CLORO_API_KEY)" : "api.cloro.dev"} · ${
    escape(extra.generatedAt)
  }${stats.stopped === "budget" ? " · stopped at the budget" : stats.stopped === "signal" ? " · stopped by Ctrl-C" : ""}</div>
<div class="cards">
${figure("lines", "lines written", fmt(stats.done))}
${figure("ok", "ok", fmt(stats.ok))}
${figure("failed", "failed", fmt(stats.failed))}
${figure("skipped", "skipped", fmt(stats.skipped))}
${figure("spent", "credits spent", fmt(stats.spent))}
${figure("remaining", "credits remaining", extra.balance === undefined ? "unknown" : fmt(extra.balance))}
${figure("p50", "latency p50", p50 === undefined ? "–" : Progress.duration(p50))}
${figure("p95", "latency p95", p95 === undefined ? "–" : Progress.duration(p95))}
${figure("429s", "429s seen", fmt(extra.rejected429))}
${figure("retries", "retries", stats.mode === "sync" ? fmt(stats.retries) : "n/a")}
${figure("wall", "wall time", Progress.duration(wall))}
${figure("other-mode", `in ${other} mode`, `${fmt(otherCost)} credits`)}
</div>
<section><h2>Credits by engine</h2>${bars("credits-by-engine", byCredits(stats.byEngine), " cr")}</section>
<section><h2>Credits by tag</h2>${bars("credits-by-tag", byCredits(stats.byTag), " cr")}</section>
<section><h2>Latency</h2>${histogram(sorted)}</section>
<section><h2>Throughput and slots over time</h2>${timeSeries(thin(Chunk.toReadonlyArray(stats.samples), 300))}</section>
<section><h2>Errors by tag</h2>${bars("errors", errors, "")}</section>
<section><h2>This run in the other mode</h2>${
    bars("modes", [[`${stats.mode} (this run)`, stats.spent], [`${other}`, otherCost]], " cr")
  }<p>The same ${fmt(stats.ok)} successful requests in ${other} mode would have cost <b data-figure="other-mode-credits">${
    fmt(otherCost)
  }</b> credits (${otherCost < stats.spent ? "saving" : "adding"} ${
    fmt(Math.abs(stats.spent - otherCost))
  }): async costs 2 credits less per request, and queues instead of refusing for concurrency.</p></section>
</main></body></html>
`
}
