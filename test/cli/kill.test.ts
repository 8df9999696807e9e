/**
 * `cloro run --mode async` killed with SIGKILL midway (issue 14, item 4), then
 * run again on the same output and task journal: exactly one outcome per
 * input, and no task created (so charged) twice.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Journal from "../../src/cli/Journal.js"
import * as CloroSimulator from "../../src/testing/CloroSimulator.js"
import { jsonl, readLines, tmpDir, writeFile } from "./harness.js"

const KEY = "sk_test_cli_kill"
const COUNT = 400

/** `cloro <args>` as a child process against `baseUrl`, the way a user runs it. */
const spawnCli = (baseUrl: string, args: ReadonlyArray<string>) =>
  ChildProcess.spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CLORO_API_KEY: KEY, CLORO_BASE_URL: baseUrl }
  })

const exited = (child: ChildProcess.ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) resume(Effect.void)
    else child.once("exit", () => resume(Effect.void))
  })

const journalLines = (file: string): number =>
  fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l.includes("\"taskId\"")).length : 0

describe("cloro run killed with SIGKILL", () => {
  it.scopedLive("re-run on the same output and journal: one outcome per input, no task charged twice", () =>
    Effect.gen(function*() {
      const simContext = yield* Layer.build(
        CloroSimulator.layerServer({
          seed: 14,
          accounts: [{ apiKey: KEY, plan: { concurrency: 100, credits: 1_000_000 } }],
          // long enough that the killed run has tasks created and not yet finished
          latency: { default: CloroSimulator.uniform(500, 12_000) }
        })
      )
      const sim = Context.get(simContext, CloroSimulator.CloroSimulator)
      const dir = tmpDir()
      const inputs = Array.from({ length: COUNT }, (_, i) => ({ id: `k${i}`, engine: "google", query: `kill ${i}`, country: "US" }))
      const input = writeFile(dir, "in.jsonl", jsonl(inputs))
      const out = path.join(dir, "out.jsonl")
      const journal = Journal.pathFor(out)

      const child = yield* Effect.acquireRelease(
        Effect.sync(() => spawnCli(sim.url, ["run", input, "--out", out, "--mode", "async"])),
        (process) => Effect.sync(() => process.kill("SIGKILL"))
      )
      const childErr: Array<string> = []
      child.stderr.on("data", (chunk: Buffer) => void childErr.push(chunk.toString()))
      // Kill it midway: tasks created and journaled, some outcomes written, most not.
      const outLines = () => (fs.existsSync(out) ? fs.readFileSync(out, "utf8").split("\n").filter((l) => l !== "").length : 0)
      yield* sim.tasks.pipe(
        Effect.map((tasks) => tasks.length >= 100 && journalLines(journal) >= 100 && outLines() >= 20),
        Effect.filterOrFail((ok) => ok),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("120 seconds")))
      )
      const createdBeforeKill = (yield* sim.tasks).length
      child.kill("SIGKILL")
      yield* exited(child)
      expect(child.signalCode).toBe("SIGKILL")
      const linesBeforeKill = fs.existsSync(out) ? readLines(out).length : 0

      // the re-run, to the end, on the same --out (and so the same journal)
      const again = spawnCli(sim.url, ["run", input, "--out", out, "--mode", "async"])
      const againErr: Array<string> = []
      again.stderr.on("data", (chunk: Buffer) => void againErr.push(chunk.toString()))
      yield* exited(again)

      const lines = readLines(out)
      const last = new Map(lines.map((line) => [line.id, line] as const))
      const tasks = yield* sim.tasks
      const counters = yield* sim.counters
      const credits = [...last.values()].reduce((sum, line) => sum + (typeof line.credits === "number" ? line.credits : 0), 0)
      const figures = {
        inputs: COUNT,
        createdBeforeKill,
        linesBeforeKill,
        rerunExit: again.exitCode,
        outcomes: last.size,
        ok: [...last.values()].filter((l) => l.status === "ok").length,
        createdAtSimulator: tasks.length,
        distinctKeysAtSimulator: new Set(tasks.map((t) => t.idempotencyKey)).size,
        creditsInOutput: credits,
        creditsChargedBySimulator: counters.creditsCharged.total
      }
      console.log(`[issue 14] cloro run SIGKILL then re-run: ${JSON.stringify(figures)}`)
      if (again.exitCode !== 0) console.log(againErr.join(""), childErr.join(""))
      expect(createdBeforeKill).toBeGreaterThanOrEqual(100)
      expect(linesBeforeKill).toBeGreaterThanOrEqual(20)
      expect(linesBeforeKill).toBeLessThan(COUNT)
      expect(again.exitCode).toBe(0)
      // exactly one outcome per input, each ok
      expect(figures.outcomes).toBe(COUNT)
      expect(figures.ok).toBe(COUNT)
      // no task created twice: one per input, each key once, and cloro charged each once
      expect(tasks).toHaveLength(COUNT)
      expect(figures.distinctKeysAtSimulator).toBe(COUNT)
      expect(figures.creditsChargedBySimulator).toBe(COUNT * 3)
      expect(credits).toBe(figures.creditsChargedBySimulator)
      fs.rmSync(dir, { recursive: true, force: true })
    }), { timeout: 300_000 })
})
