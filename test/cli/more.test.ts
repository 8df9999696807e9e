import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Environment from "../../src/cli/Environment.js"
import * as Journal from "../../src/cli/Journal.js"
import * as Runner from "../../src/cli/Runner.js"
import { CloroSimulator } from "../../src/testing/index.js"
import { cli, driveClock, fastSimulator, jsonl, makeConsole, readLines, tmpDir, writeFile } from "./harness.js"

describe("cloro run on a terminal", () => {
  it.effect("redraws one live line in place with done/total, slots, req/s and ETA", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(
        dir,
        "in.jsonl",
        jsonl(Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, engine: "grok", prompt: `p ${i}`, country: "US" })))
      )
      const console = yield* makeConsole({ isTTY: true })
      const fiber = yield* Effect.fork(cli(console, ["run", input, "--out", path.join(dir, "out.jsonl")]))
      const result = yield* driveClock(fiber, "250 millis")
      const frames = result.stderr.split("\r\x1b[2K").map((f) => f.trim()).filter((f) => /^\d+\/6 done/.test(f))
      expect(frames.length).toBeGreaterThan(4)
      // a 2-slot plan, 1 s per answer: the line shows both slots busy and a rate mid-run
      expect(frames.some((f) => /slots 2\/2/.test(f) && /\d+\.\d req\/s/.test(f) && /ETA \d/.test(f))).toBe(true)
      expect(frames[frames.length - 1]).toMatch(/^6\/6 done \| ok 6 · failed 0 \| credits 36 spent/)
      expect(result.code).toBe(0)
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator({
      accounts: [{ apiKey: Environment.simulatorKey, plan: { concurrency: 2, credits: 1_000 } }],
      latency: { default: CloroSimulator.fixed(1_000) }
    })))))
})

describe("cloro run --mode async, resumed", () => {
  it.effect("follows tasks submitted before the stop through the journal, charging each once", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const inputs = Array.from({ length: 10 }, (_, i) => ({ id: `a${i}`, engine: "perplexity", prompt: `p ${i}`, country: "FR" }))
      const input = writeFile(dir, "in.jsonl", jsonl(inputs))
      const out = path.join(dir, "out.jsonl")
      const console = yield* makeConsole()
      const first = yield* Effect.fork(cli(console, ["run", input, "--out", out, "--mode", "async"]))
      // tasks take 30 s: let them be submitted, then stop twice (nothing finishes in this process)
      const sim = yield* CloroSimulator.CloroSimulator
      const journaled = () => fs.existsSync(Journal.pathFor(out)) ? readLines(Journal.pathFor(out)).length : 0
      while ((yield* sim.tasks).length < 10 || journaled() < 10) {
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      }
      yield* Runner.signal(console.control)
      yield* Runner.signal(console.control)
      const stopped = yield* driveClock(first, "100 millis")
      expect(stopped.code).toBe(1)
      expect(readLines(out).filter((l) => l.status === "ok")).toHaveLength(0)
      // Each task's intent (written before its batch was sent) and its recorded task id.
      const journal = readLines(Journal.pathFor(out))
      expect(journal.filter((l) => l.taskId === undefined)).toHaveLength(10)
      expect(journal.filter((l) => typeof l.taskId === "string")).toHaveLength(10)

      const console2 = yield* makeConsole()
      const second = yield* Effect.fork(cli(console2, ["run", input, "--out", out, "--mode", "async"]))
      const resumed = yield* driveClock(second, "1 second")
      expect(resumed.code).toBe(0)
      const ok = readLines(out).filter((l) => l.status === "ok")
      expect(ok.map((l) => l.id).sort()).toEqual(inputs.map((i) => i.id).sort())
      const tasks = yield* sim.tasks
      expect(tasks).toHaveLength(10) // no task was created twice
      expect((yield* sim.counters).creditsCharged.total).toBe(10 * 4) // Perplexity async: 4 each, once
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator({
      latency: { default: CloroSimulator.fixed(30_000) }
    })))))
})

describe("cloro simulate", () => {
  it.live("serves the simulator on loopback until Ctrl-C", () =>
    Effect.gen(function*() {
      const console = yield* makeConsole()
      const fiber = yield* Effect.fork(cli(console, ["simulate", "--port", "0", "--latency", "0", "--credits", "1234"]))
      let url: string | undefined
      while (url === undefined) {
        yield* Effect.sleep("20 millis")
        url = /listening on (http:\/\/\S+)/.exec(yield* Ref.get(console.stderr))?.[1]
      }
      const response = yield* Effect.promise(() =>
        fetch(`${url}/v1/credits`, { headers: { Authorization: `Bearer ${Environment.simulatorKey}` } })
      )
      expect(response.status).toBe(200)
      expect(yield* Effect.promise(() => response.json())).toMatchObject({ remaining: 1234 })
      yield* Runner.signal(console.control)
      const result = yield* Fiber.join(fiber)
      expect(result.code).toBe(0)
      expect(result.stderr).toContain("stopped")
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator()))))
})
