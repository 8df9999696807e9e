import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Environment from "../../src/cli/Environment.js"
import { CloroSimulator } from "../../src/testing/index.js"
import { cli, driveClock, fastSimulator, jsonl, makeConsole, readLines, tmpDir, writeFile } from "./harness.js"

/** The text of every element carrying `data-figure="name"`. */
const figures = (html: string): Record<string, string> =>
  Object.fromEntries([...html.matchAll(/data-figure="([^"]+)">([^<]*)</g)].map((m) => [m[1]!, m[2]!]))

/** The `data-value` of every bar of one chart, by label. */
const bars = (html: string, chart: string): Record<string, number> => {
  const svg = new RegExp(`<svg data-chart="${chart}"[^>]*>(.*?)</svg>`, "s").exec(html)
  if (svg === null) return {}
  return Object.fromEntries(
    [...svg[1]!.matchAll(/data-(?:bar|bucket)="([^"]+)" data-value="([^"]+)"/g)].map((m) => [unescape(m[1]!), Number(m[2])])
  )
}

const unescape = (s: string): string =>
  s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&amp;/g, "&")

const num = (s: string | undefined): number => Number((s ?? "").replace(/[^0-9.]/g, ""))

describe("cloro run --report", () => {
  it.effect("writes one self-contained page whose figures match the output file", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const inputs = [
        ...Array.from({ length: 12 }, (_, i) => ({ id: `c${i}`, engine: "chatgpt", prompt: `CRM ${i}`, country: "US", tags: ["crm"] })),
        ...Array.from({ length: 8 }, (_, i) => ({ id: `g${i}`, engine: "google", query: `flights ${i}`, country: "IT", tags: ["travel"] })),
        ...Array.from({ length: 5 }, (_, i) => ({ id: `n${i}`, engine: "googleNews", query: `news ${i}`, country: "GB" })),
        { id: "bad", engine: "chatgpt", prompt: "", country: "US" }
      ]
      const input = writeFile(dir, "in.jsonl", jsonl(inputs))
      const out = path.join(dir, "out.jsonl")
      const report = path.join(dir, "deep", "run.html")
      const console = yield* makeConsole()
      const fiber = yield* Effect.fork(cli(console, ["run", input, "--out", out, "--report", report]))
      const result = yield* driveClock(fiber, "250 millis")
      expect(result.code).toBe(1)
      const html = fs.readFileSync(report, "utf8")
      const lines = readLines(out)

      // self-contained: no script, no external resource
      expect(html.startsWith("<!doctype html>")).toBe(true)
      expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3)/)

      const f = figures(html)
      const sum = (pred: (l: Record<string, unknown>) => boolean) =>
        lines.filter(pred).reduce((s, l) => s + ((l.credits as number | null) ?? 0), 0)
      expect(num(f.lines)).toBe(lines.length)
      expect(num(f.ok)).toBe(lines.filter((l) => l.status === "ok").length)
      expect(num(f.ok)).toBe(25)
      expect(num(f.failed)).toBe(1)
      expect(num(f.spent)).toBe(sum(() => true))
      expect(num(f.spent)).toBe(12 * 7 + 8 * 5 + 5 * 5)
      expect(num(f["other-mode-credits"])).toBe(num(f.spent) - 25 * 2)

      const byEngine = bars(html, "credits-by-engine")
      expect(byEngine).toEqual({
        chatgpt: sum((l) => l.engine === "chatgpt"),
        google: sum((l) => l.engine === "google"),
        googleNews: sum((l) => l.engine === "googleNews")
      })
      expect(bars(html, "credits-by-tag")).toEqual({ crm: 84, travel: 40 })
      expect(bars(html, "errors")).toEqual({ InvalidRequest: 1 })
      const latency = bars(html, "latency")
      expect(Object.values(latency).reduce((a, b) => a + b, 0)).toBe(25) // every sent request, in some bucket
      expect(latency["< 2.0 s"]).toBe(25) // the simulator answers in exactly 1.5 s
      expect(html).toContain('data-chart="timeline"')
      expect(html).toMatch(/<path d="M[\d.]+,[\d.]+ L/)
      globalThis.console.log(`report figures: ${JSON.stringify(f)}`)
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator({
      latency: { default: CloroSimulator.fixed(1_500) }
    })))))
})
