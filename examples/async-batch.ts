/**
 * 50 async tasks through `AsyncTasks.run` against the in-memory cloro
 * simulator: one batch, polled on the default schedule, one outcome per task
 * in the order they finish, and the ledger's account of the spend.
 *
 * Run it with `npx tsx examples/async-batch.ts`. The simulator answers in
 * memory but on the real clock, with engine latencies of a few seconds, so it
 * takes about ten seconds; three Gemini tasks are made to fail on purpose.
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as Cloro from "../src/Cloro.js"
import * as Credits from "../src/Credits.js"
import * as Task from "../src/Task.js"
import { CloroSimulator } from "../src/testing/index.js"

const KEY = "sk_example_async"

const topics = ["CRM for startups", "running shoes", "EV makers", "flights to Rome", "project management software"]

/** Five engines in turn, each input with a stable id so that re-running it creates nothing twice. */
const requests: ReadonlyArray<AsyncTasks.RunRequest> = Array.from({ length: 50 }, (_, i) => {
  const topic = `${topics[i % topics.length]} #${i}`
  const task = [
    Task.make("chatgpt", { prompt: `Best ${topic}?`, country: "US" }),
    Task.make("perplexity", { prompt: `Best ${topic}?`, country: "DE" }),
    Task.make("google", { query: topic, country: "US", include: { aioverview: true } }),
    Task.make("aimode", { prompt: `best ${topic} deals`, gl: "us", include: { expandProducts: true } }),
    Task.make("gemini", { prompt: `Best ${topic}?`, country: "FR" })
  ][i % 5]!
  return { id: `example-${i}`, task }
})

const describe = (outcome: AsyncTasks.Outcome): string =>
  Either.match(outcome.result, {
    onRight: (done) => `${done.taskType.padEnd(10)} ${outcome.creditsCharged ?? "?"} credits (estimated ${outcome.creditsToCharge})`,
    onLeft: (error) => `${error._tag}: ${error.message}`
  })

const program = Effect.gen(function*() {
  const sim = yield* CloroSimulator.CloroSimulator
  // cloro retries a task upstream and may still fail it; make a few Gemini tasks do so
  yield* sim.injectFaults([{ engine: "gemini", on: "task", fault: "502", times: 3 }])

  const started = Date.now()
  const outcomes = yield* AsyncTasks.run(requests).pipe(
    Stream.tap((outcome) => Effect.log(`${outcome.id?.padEnd(11)} ${describe(outcome)}`)),
    Stream.runCollect
  )
  const ledger = yield* Effect.flatMap(Credits.Credits, (credits) => credits.snapshot)
  const counters = yield* sim.counters
  // failures apart from tasks cloro may have billed without this run knowing their ids (none here)
  const { byKind, creditsMayBeCharged } = AsyncTasks.summarize(outcomes)
  yield* Effect.log(
    `${outcomes.length} outcomes (${byKind.Completed} completed, ${byKind.Failed} failed, ${byKind.Refused} refused, ` +
      `${byKind.Unfollowable} unfollowable, ${byKind.TimedOut} timed out; ${creditsMayBeCharged} credits unaccounted) ` +
      `in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `${counters.requests["/v1/async/task/batch"]?.["200"] ?? 0} batch, ` +
      `${counters.requests["/v1/async/task/{taskId}"]?.["200"] ?? 0} polls; ` +
      `ledger spent ${ledger.spent} credits, simulator charged ${counters.creditsCharged.total}`
  )
})

const Simulator = CloroSimulator.layer({
  seed: 7,
  accounts: [{ apiKey: KEY, plan: CloroSimulator.plans.hobby }],
  latency: {
    default: CloroSimulator.logNormal(3_000, 0.4, 20_000),
    engines: { google: CloroSimulator.logNormal(1_500, 0.3, 10_000) }
  }
})

const Live = Cloro.layer({ apiKey: KEY }, { monitor: "silent" }).pipe(Layer.provideMerge(Simulator))

program.pipe(Effect.provide(Live), NodeRuntime.runMain)
