/**
 * A run killed with SIGKILL in a child process, re-run with its journal:
 * every task is followed, none is created twice (issue 8).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as Credits from "../src/Credits.js"
import * as CloroSimulator from "../src/testing/CloroSimulator.js"
import * as FileJournal from "./AsyncTasks.fileJournal.js"
import { killInputs } from "./AsyncTasks.killInputs.js"

const KEY = "sk_test_async_kill"
const COUNT = 600

describe("AsyncTasks.run killed with SIGKILL", () => {
  it.scopedLive("re-run with its journal follows every task, with 0 duplicates", () =>
    Effect.gen(function*() {
      const simContext = yield* Layer.build(
        CloroSimulator.layerServer({
          accounts: [{ apiKey: KEY, plan: { concurrency: 1_000, credits: 1_000_000 } }],
          // long enough that the child, at `inFlight` 300, stops sending and waits
          latency: { default: CloroSimulator.fixed(8_000) }
        })
      )
      const sim = Context.get(simContext, CloroSimulator.CloroSimulator)
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "cloro-kill-"))
      const journalPath = Path.join(dir, "journal.jsonl")
      const journal = FileJournal.make(journalPath)
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          ChildProcess.spawn(
            process.execPath,
            ["--import", "tsx", "test/AsyncTasks.killedChild.ts", sim.url, KEY, journalPath, String(COUNT)],
            { stdio: ["ignore", "pipe", "pipe"] }
          )
        ),
        (process) => Effect.sync(() => process.kill("SIGKILL"))
      )
      const childOutcomes = { count: 0 }
      child.stdout.on("data", (chunk: Buffer) => void (childOutcomes.count += chunk.toString().split("outcome ").length - 1))
      // Wait until the child has sent work and every task it created is in the journal, steadily.
      const settled = Effect.gen(function*() {
        const created = (yield* sim.tasks).length
        const { recorded } = journal.read()
        return created >= 300 && recorded === created
      })
      yield* settled.pipe(
        Effect.filterOrFail((ok) => ok),
        Effect.zipRight(Effect.sleep("1 second")),
        Effect.zipRight(settled),
        Effect.filterOrFail((ok) => ok),
        Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("150 seconds")))
      )
      const beforeKill = (yield* sim.tasks).length
      const written = journal.read()
      child.kill("SIGKILL")
      yield* Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) resume(Effect.void)
        else child.once("exit", () => resume(Effect.void))
      })
      expect(child.signalCode).toBe("SIGKILL")

      // the re-run, in this process, with the same journal file
      const ledger = yield* Credits.make()
      const http = yield* Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer)
      const client = yield* CloroClient.make.pipe(
        Effect.provideService(Credits.Credits, ledger),
        Effect.provideService(HttpClient.HttpClient, http),
        Effect.provide(CloroConfig.layer({ apiKey: KEY, baseUrl: sim.url })),
        Effect.provide(Cloro.layerBare)
      )
      const outcomes = Chunk.toReadonlyArray(
        yield* AsyncTasks.run(killInputs(COUNT), {
          batchSize: 100,
          schedule: Schedule.spaced("500 millis"),
          timeout: "10 minutes",
          journal: FileJournal.make(journalPath)
        }).pipe(
          Stream.runCollect,
          Effect.provideService(CloroClient.CloroClient, client),
          Effect.provideService(Credits.Credits, ledger)
        )
      )
      const tasks = yield* sim.tasks
      const summary = AsyncTasks.summarize(outcomes)
      const figures = {
        submitted: COUNT,
        createdByKilledRun: beforeKill,
        journal: written,
        childOutcomesBeforeKill: childOutcomes.count,
        createdAtSimulator: tasks.length,
        distinctKeysAtSimulator: new Set(tasks.map((t) => t.idempotencyKey)).size,
        outcomesByKind: summary.byKind,
        creditsChargedBySimulator: (yield* sim.counters).creditsCharged.total,
        ledgerSpent: (yield* ledger.snapshot).spent
      }
      console.log(`[issue 8] SIGKILL then re-run: ${JSON.stringify(figures)}`)
      expect(beforeKill).toBeGreaterThanOrEqual(300)
      expect(beforeKill).toBeLessThan(COUNT)
      expect(tasks).toHaveLength(COUNT)
      expect(figures.distinctKeysAtSimulator).toBe(COUNT)
      expect(summary.byKind).toEqual({ Completed: COUNT, Failed: 0, Refused: 0, TimedOut: 0, Unfollowable: 0 })
      expect(new Set(outcomes.map((o) => o.taskId))).toEqual(new Set(tasks.map((t) => t.id)))
      // the tasks the killed run created were settled here when the re-run saw them finish
      expect(figures.ledgerSpent).toBe(figures.creditsChargedBySimulator)
      Fs.rmSync(dir, { recursive: true, force: true })
    }), { timeout: 300_000 })
})
