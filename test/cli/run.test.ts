import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { NodeFileSystem } from "@effect/platform-node"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as path from "node:path"
import { Engine, Pricing } from "../../src/index.js"
import * as Environment from "../../src/cli/Environment.js"
import * as Journal from "../../src/cli/Journal.js"
import * as Runner from "../../src/cli/Runner.js"
import { CloroSimulator } from "../../src/testing/index.js"
import { cli, driveClock, fastSimulator, jsonl, makeConsole, parseLines, readLines, simulatorWithKey, tmpDir, writeFile } from "./harness.js"

const requests = [
  { id: "a", engine: "chatgpt", prompt: "Best CRM for startups?", country: "US", tags: ["crm"] },
  { id: "b", engine: "perplexity", prompt: "Top EV makers", country: "DE", state: undefined, tags: ["ev"] },
  { id: "c", engine: "google", query: "best crm", gl: "us", pages: 2, include: { aioverview: true }, tags: ["crm"] },
  { id: "d", engine: "googleNews", query: "AI regulation", country: "GB" },
  { id: "e", engine: "aimode", prompt: "running shoes", gl: "us", hl: "en" },
  { id: "f", engine: "gemini", prompt: "Cheapest flights to Rome", country: "IT", tags: ["travel"] },
  { id: "g", engine: "copilot", prompt: "Laptop for students", country: "US", state: "CA" },
  { id: "h", engine: "grok", prompt: "Best budgeting app", country: "GB" }
].map(({ state, ...rest }) => (state === undefined ? rest : { ...rest, state }))

/** What cloro charges for each request above in sync mode, from the library's price table. */
const syncPrice = (r: Record<string, unknown>): number => {
  const { engine, id: _id, tags: _tags, ...body } = r
  const name = Engine.names.find((n) => n === engine)!
  const request = Engine.validate(name, body)
  if (request._tag === "Left") throw new Error(`invalid fixture ${String(engine)}`)
  return Pricing.estimate(name, request.right, { mode: "sync" })
}

const SimLive = Environment.layerSimulator(fastSimulator())

describe("cloro run", () => {
  it.live("writes one line per input; bad lines are failed with a typed InvalidRequest and the rest go on", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(
        dir,
        "in.jsonl",
        [
          JSON.stringify(requests[0]),
          "{ not json",
          JSON.stringify({ id: "x1", engine: "altavista", prompt: "hi", country: "US" }),
          JSON.stringify({ id: "x2", engine: "chatgpt", prompt: "", country: "US" }),
          JSON.stringify({ id: "x3", engine: "chatgpt", prompt: "hi", country: "DE", state: "CA" }),
          "",
          ...requests.slice(1).map((r) => JSON.stringify(r))
        ].join("\n")
      )
      const out = path.join(dir, "out.jsonl")
      const console = yield* makeConsole()
      const result = yield* cli(console, ["run", input, "--out", out])
      const lines = readLines(out)
      const inputIds = ["a", "line-2", "x1", "x2", "x3", ...requests.slice(1).map((r) => r.id)]
      expect(lines.map((l) => l.id).sort()).toEqual([...inputIds].sort())
      const byId = new Map(lines.map((l) => [l.id, l]))
      for (const bad of ["line-2", "x1", "x2", "x3"]) {
        const line = byId.get(bad)!
        expect(line.status).toBe("failed")
        expect((line.error as { _tag: string })._tag).toBe("InvalidRequest")
        expect(line.credits).toBe(0)
        expect(line.attempts).toBe(0)
      }
      expect((byId.get("x3")!.error as { issues: Array<{ field: string }> }).issues.map((i) => i.field)).toContain("state")
      for (const r of requests) {
        const line = byId.get(r.id)!
        expect(line.status).toBe("ok")
        expect(line.engine).toBe(r.engine)
        expect(line.credits).toBe(syncPrice(r))
        expect(line.attempts).toBe(1)
        expect(typeof line.latencyMs).toBe("number")
        expect(line.result).toBeTypeOf("object")
        expect((line.usage as { credits: { charged: number } }).credits.charged).toBe(syncPrice(r))
      }
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("embedded simulator")
      expect(result.stderr).toMatch(/ok\s+8/)
      expect(result.stderr).toMatch(/InvalidRequest\s+4/)
      const sim = yield* CloroSimulator.CloroSimulator
      const counters = yield* sim.counters
      // invalid lines never reached the server; each valid one was charged once
      expect(counters.creditsCharged.total).toBe(requests.reduce((sum, r) => sum + syncPrice(r), 0))
    }).pipe(Effect.provide(SimLive)))

  it.live("exit code 0 when every line is ok, output on stdout without --out", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(dir, "in.jsonl", jsonl(requests))
      const console = yield* makeConsole()
      const result = yield* cli(console, ["run", input, "--tag", "job-7"])
      expect(result.code).toBe(0)
      const lines = parseLines(result.stdout)
      expect(lines).toHaveLength(requests.length)
      expect(lines.every((l) => l.status === "ok" && (l.tags as Array<string>).includes("job-7"))).toBe(true)
    }).pipe(Effect.provide(SimLive)))

  it.live("--budget stops submitting before crossing it; the rest are skipped lines, never dropped", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      // ten ChatGPT requests at 7 credits each (sync)
      const input = writeFile(
        dir,
        "in.jsonl",
        jsonl(Array.from({ length: 10 }, (_, i) => ({ id: `q${i}`, engine: "chatgpt", prompt: `CRM ${i}`, country: "US" })))
      )
      const out = path.join(dir, "out.jsonl")
      const console = yield* makeConsole()
      const result = yield* cli(console, ["run", input, "--out", out, "--budget", "30", "--concurrency", "2"])
      const lines = readLines(out)
      expect(lines).toHaveLength(10)
      const ok = lines.filter((l) => l.status === "ok")
      const skipped = lines.filter((l) => l.status === "skipped")
      expect(ok).toHaveLength(4) // 4 × 7 = 28 ≤ 30; a fifth would make 35
      expect(skipped).toHaveLength(6)
      expect(skipped.every((l) => (l.error as { _tag: string })._tag === "BudgetExceeded" && l.credits === 0)).toBe(true)
      expect(ok.reduce((s, l) => s + (l.credits as number), 0)).toBe(28)
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("at the budget")
      const sim = yield* CloroSimulator.CloroSimulator
      expect((yield* sim.counters).creditsCharged.total).toBe(28)
    }).pipe(Effect.provide(SimLive)))

  it.live("resume after a Ctrl-C: ids already ok are not sent again, nothing is charged twice", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const all = Array.from({ length: 24 }, (_, i) => ({ id: `r${i}`, engine: "google", query: `crm ${i}`, country: "US" }))
      const input = writeFile(dir, "in.jsonl", jsonl(all))
      const out = path.join(dir, "out.jsonl")
      const console = yield* makeConsole()
      const first = yield* Effect.fork(cli(console, ["run", input, "--out", out, "--concurrency", "2"]))
      // let a few finish, then the first Ctrl-C
      while (!fs.existsSync(out) || readLines(out).length < 4) yield* Effect.sleep("20 millis")
      expect(yield* Runner.signal(console.control)).toBe("stop")
      const stopped = yield* Fiber.join(first)
      expect(stopped.code).toBe(1)
      expect(stopped.stderr).toContain("by Ctrl-C")
      const afterStop = readLines(out)
      expect(afterStop).toHaveLength(24) // every input has its line
      const okFirst = afterStop.filter((l) => l.status === "ok").map((l) => l.id)
      expect(okFirst.length).toBeGreaterThanOrEqual(4)
      expect(okFirst.length).toBeLessThan(24)
      expect(afterStop.filter((l) => l.status === "skipped").every((l) => (l.error as { _tag: string })._tag === "Stopped"))
        .toBe(true)

      const console2 = yield* makeConsole()
      const second = yield* cli(console2, ["run", input, "--out", out])
      expect(second.code).toBe(0)
      expect(second.stderr).toContain(`${okFirst.length} inputs already ok are not sent again`)
      const final = readLines(out)
      const okLines = final.filter((l) => l.status === "ok")
      expect(new Set(okLines.map((l) => l.id)).size).toBe(24)
      expect(okLines).toHaveLength(24) // no id is ok twice
      const sim = yield* CloroSimulator.CloroSimulator
      const counters = yield* sim.counters
      expect(counters.creditsCharged.total).toBe(24 * 5) // google sync: 3 + 2, each charged once
      const searches = counters.requestLog.filter((e) => e.path === "/v1/monitor/google")
      expect(searches).toHaveLength(24)
    }).pipe(Effect.provide(SimLive)))

  it.effect("a second Ctrl-C interrupts requests in flight; they are written as failed Interrupted", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(
        dir,
        "in.jsonl",
        jsonl(Array.from({ length: 6 }, (_, i) => ({ id: `s${i}`, engine: "chatgpt", prompt: `slow ${i}`, country: "US" })))
      )
      const console = yield* makeConsole()
      const fiber = yield* Effect.fork(cli(console, ["run", input, "--concurrency", "2"]))
      // read the input (real I/O), start the first requests, then stop and interrupt while they take 10 s
      for (let i = 0; i < 50; i++) {
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
        yield* TestClock.adjust("10 millis")
      }
      yield* Runner.signal(console.control)
      yield* Runner.signal(console.control)
      const result = yield* driveClock(fiber)
      const lines = parseLines(result.stdout)
      expect(lines).toHaveLength(6)
      expect(lines.filter((l) => (l.error as { _tag?: string } | undefined)?._tag === "Interrupted")).toHaveLength(2)
      expect(lines.filter((l) => l.status === "skipped")).toHaveLength(4)
      expect(result.code).toBe(1)
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator({ latency: { default: CloroSimulator.fixed(10_000) } })))))

  it.effect("not on a terminal, a plain progress line every 5 seconds, then the summary", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(
        dir,
        "in.jsonl",
        jsonl(Array.from({ length: 4 }, (_, i) => ({ id: `p${i}`, engine: "google", query: `q ${i}`, country: "US" })))
      )
      const console = yield* makeConsole({ isTTY: false })
      const fiber = yield* Effect.fork(cli(console, ["run", input]))
      const result = yield* driveClock(fiber, "500 millis")
      const progress = result.stderr.split("\n").filter((l) => /^\d+\/4 done/.test(l))
      globalThis.console.log(progress.join("\n"))
      // at 0 s, 5 s and 10 s (1 and 3 of 4 done: one request at a time, 3 s each), and the final line
      expect(progress.map((l) => l.split(" ")[0])).toEqual(["0/4", "1/4", "3/4", "4/4"])
      expect(progress[3]).toContain("credits 20 spent")
      expect(progress[3]).toMatch(/slots 0\/1/)
      expect(result.stderr).not.toContain("\r")
      expect(result.stderr).toMatch(/latency p50 \/ p95\s+3\.0 s \/ 3\.0 s/)
      // 4 × 3 s, plus at most one step of the driven clock: the input is read as the run goes (real file I/O,
      // during which the driver moves the clock on)
      expect(result.stderr).toMatch(/wall time\s+12\.[05] s/)
      expect(result.code).toBe(0)
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator({
      accounts: [{ apiKey: Environment.simulatorKey, plan: { concurrency: 1, credits: 1_000 } }],
      latency: { default: CloroSimulator.fixed(3_000) }
    })))))

  it.effect("--mode async sends tasks through the async API at async prices", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(dir, "in.jsonl", jsonl(requests))
      const console = yield* makeConsole()
      const fiber = yield* Effect.fork(cli(console, ["run", input, "--mode", "async"]))
      const result = yield* driveClock(fiber, "1 second")
      const lines = parseLines(result.stdout)
      expect(lines).toHaveLength(requests.length)
      for (const line of lines) {
        const r = requests.find((q) => q.id === line.id)!
        expect(line.status).toBe("ok")
        expect(line.mode).toBe("async")
        expect(line.credits).toBe(syncPrice(r) - Pricing.SYNC_SURCHARGE)
        expect(typeof line.taskId).toBe("string")
      }
      expect(result.code).toBe(0)
      expect(result.stderr).toMatch(new RegExp(`in sync mode\\s+${requests.reduce((s, r) => s + syncPrice(r), 0)} credits`))
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator({ latency: { default: CloroSimulator.fixed(2_000) } })))))

  it.live("the API key never appears in output, even when cloro refuses it", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(dir, "in.jsonl", jsonl(requests.slice(0, 2)))
      const console = yield* makeConsole()
      const result = yield* cli(console, ["run", input, "--report", path.join(dir, "r.html")])
      expect(result.code).toBe(1)
      const lines = parseLines(result.stdout)
      expect(lines.every((l) => (l.error as { _tag: string })._tag === "Unauthorized")).toBe(true)
      const everything = result.stdout + result.stderr + fs.readFileSync(path.join(dir, "r.html"), "utf8")
      expect(everything).not.toContain("sk_live_secret_0123456789")
    }).pipe(Effect.provide(simulatorWithKey(fastSimulator(), "sk_live_secret_0123456789"))))
})

describe("cloro run, resumed after a torn write", () => {
  it.live("a cut-off last line does not swallow the next result: it is written on a line of its own", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(dir, "in.jsonl", jsonl(requests.slice(0, 3)))
      const out = path.join(dir, "out.jsonl")
      const console = yield* makeConsole()
      yield* cli(console, ["run", input, "--out", out])
      // the process died while writing its last line (kill -9, a full disk): the file ends mid-line
      const whole = fs.readFileSync(out, "utf8").trimEnd().split("\n")
      const torn = whole[whole.length - 1]!
      const tornId = (JSON.parse(torn) as { id: string }).id
      fs.writeFileSync(out, [...whole.slice(0, -1), torn.slice(0, 40)].join("\n"))

      const resumed = yield* cli(console, ["run", input, "--out", out])
      expect(resumed.code).toBe(0)
      const texts = fs.readFileSync(out, "utf8").split("\n").filter((l) => l.length > 0)
      // the torn fragment stays unreadable; every line after it is whole
      expect(texts[2]).toBe(torn.slice(0, 40))
      const after = texts.slice(3).map((l) => JSON.parse(l) as { id: string; status: string })
      expect(after.map((l) => [l.id, l.status])).toEqual([[tornId, "ok"]])
      // and a third run finds every id ok: nothing is bought again
      const third = yield* cli(console, ["run", input, "--out", out])
      expect(third.stderr).toContain("3 inputs already ok are not sent again")
    }).pipe(Effect.provide(SimLive)))
})

describe("the async journal, after a torn write", () => {
  it.live("the next task id recorded is kept on a line of its own, so a resume can follow that task", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const file = path.join(dir, "out.jsonl.tasks.jsonl")
      fs.writeFileSync(file, `${JSON.stringify({ id: "a", key: "k-a", taskId: "t-a" })}\n{"id":"b","key":"k-`)
      const journal = yield* Journal.file(file)
      yield* journal.record([{ id: "c", index: 2, idempotencyKey: "k-c", taskId: "t-c" }])
      const reread = yield* Journal.file(file)
      const found = yield* reread.lookup({ id: "c", index: 2, idempotencyKey: "k-c" })
      expect(Option.getOrNull(found)).toBe("t-c")
      expect(Option.getOrNull(yield* reread.lookup({ id: "a", index: 0, idempotencyKey: "k-a" }))).toBe("t-a")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

describe("cloro usage errors", () => {
  it.live("exit 2 with one clear line and no stack trace", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(dir, "in.jsonl", jsonl(requests))
      const console = yield* makeConsole()
      const missing = yield* cli(console, ["run", path.join(dir, "nope.jsonl")])
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain("cannot read the input file")
      const badConcurrency = yield* cli(console, ["run", input, "--concurrency", "many"])
      expect(badConcurrency.code).toBe(2)
      expect(badConcurrency.stderr).toContain("--concurrency: expected auto or a positive integer")
      const unknownOption = yield* cli(console, ["run", input, "--colour", "red"])
      expect(unknownOption.code).toBe(2)
      const badMode = yield* cli(console, ["run", input, "--mode", "turbo"])
      expect(badMode.code).toBe(2)
      const badTimeouts = []
      const timeouts = [["-5s", "must not be negative"], ["abc", "is not a duration"], ["0", "must be longer than zero"], [
        "NaN",
        "is not a duration"
      ]] as const
      for (const [value, why] of timeouts) {
        const timeout = `--timeout=${value}`
        const badTimeout = yield* cli(console, ["run", input, timeout])
        expect(badTimeout.code, timeout).toBe(2)
        expect(badTimeout.stderr).toContain(`--timeout ${why}`)
        badTimeouts.push(badTimeout)
      }
      for (const timeout of ["90s", "1.5m", "30000ms", "2 minutes"]) {
        expect((yield* cli(console, ["run", input, `--timeout=${timeout}`, "--out", path.join(dir, "ok.jsonl")])).code, timeout)
          .toBe(0)
      }
      for (const r of [missing, badConcurrency, unknownOption, badMode, ...badTimeouts]) {
        expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /)
      }
    }).pipe(Effect.provide(SimLive)))

  it.live("an unwritable --report is refused before anything is sent, not after the run was paid for", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(dir, "in.jsonl", jsonl(requests))
      const out = path.join(dir, "out.jsonl")
      const console = yield* makeConsole()
      // a directory stands where the report should go: no file can be written there
      const result = yield* cli(console, ["run", input, "--out", out, "--report", dir])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`cannot write the report ${dir}`)
      expect(fs.existsSync(out) ? readLines(out) : []).toEqual([])
      expect(result.stderr).not.toContain("credits spent")
    }).pipe(Effect.provide(SimLive)))

  it.live("--help for every command shows examples", () =>
    Effect.gen(function*() {
      for (const command of [[], ["run"], ["estimate"], ["credits"], ["countries"], ["simulate"]]) {
        const console = yield* makeConsole()
        const captured: Array<string> = []
        const original = globalThis.console.log
        globalThis.console.log = (...args: Array<unknown>) => captured.push(args.join(" "))
        const result = yield* cli(console, [...command, "--help"]).pipe(
          Effect.ensuring(Effect.sync(() => {
            globalThis.console.log = original
          }))
        )
        expect(result.code).toBe(0)
        expect(captured.join("\n")).toContain("EXAMPLES")
        expect(captured.join("\n")).toContain(`cloro ${command[0] ?? "run"}`)
      }
    }).pipe(Effect.provide(SimLive)))
})
