/**
 * Live memory of calls waiting for a concurrency slot, against a baseline
 * measured in the same run: the same number of bare fibers waiting on the
 * same limiter. Each scenario runs in a child process with `--expose-gc`, so
 * the figure is the heap still reachable after a full collection, not garbage.
 *
 * Run with `npm run bench`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as ConcurrencyLimiter from "../src/ConcurrencyLimiter.js"

const WAITING = 5_000
const SLOTS = 50

type Kind = "bare" | "client"

const liveHeap = (): number => {
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

/** Every answer takes a minute, so the first SLOTS calls hold the slots and the rest wait. */
const slowAnswer = HttpClient.make((request) =>
  Effect.as(
    Effect.sleep("60 seconds"),
    HttpClientResponse.fromWeb(request, new Response(JSON.stringify({ success: true, result: { text: "", sources: [] } })))
  )
)

const measure = (kind: Kind) =>
  Effect.gen(function*() {
    const fire: Effect.Effect<(i: number) => Effect.Effect<unknown, unknown>, never, CloroClient.CloroClient> =
      kind === "bare"
        ? Effect.gen(function*() {
          const limiter = yield* Effect.orDie(ConcurrencyLimiter.make({ limit: SLOTS }))
          return (i: number) => limiter.withPermit(Effect.sleep("60 seconds").pipe(Effect.as(i)))
        })
        : Effect.gen(function*() {
          const client = yield* CloroClient.CloroClient
          return (i: number) => client.monitor.perplexity({ prompt: `question ${i}`, country: "US" })
        })
    const call = yield* fire
    const before = liveHeap()
    const fiber = yield* Effect.fork(
      Effect.forEach(Array.from({ length: WAITING }, (_, i) => i), (i) => Effect.either(call(i)), {
        concurrency: "unbounded",
        discard: true
      })
    )
    yield* Effect.sleep("1 second")
    const after = liveHeap()
    yield* Fiber.interrupt(fiber)
    return { kbPerCall: (after - before) / WAITING / 1024 }
  }).pipe(
    Effect.provide(
      Cloro.layer({ apiKey: "sk_bench" }, { monitor: "silent", concurrency: { limit: SLOTS }, rateLimit: "unlimited" })
        .pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, slowAnswer)))
    )
  )

const Result = Schema.parseJson(Schema.Struct({ kbPerCall: Schema.Number }))

const runChild = (kind: Kind): Promise<Option.Option<number>> =>
  new Promise((resolve) => {
    const child = fork(fileURLToPath(import.meta.url), ["--child", kind], {
      execArgv: ["--expose-gc", ...process.execArgv],
      stdio: ["ignore", "pipe", "inherit", "ipc"]
    })
    let output = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on("exit", () =>
      resolve(Schema.decodeUnknownOption(Result)(output.trim().split("\n").at(-1)).pipe(Option.map((r) => r.kbPerCall))))
  })

/** Runs both scenarios and prints the comparison. */
export const run = async (): Promise<void> => {
  const bare = await runChild("bare")
  const client = await runChild("client")
  const show = (value: Option.Option<number>) => Option.match(value, { onNone: () => "failed", onSome: (kb) => `${kb.toFixed(1)} KB` })
  const ratio = Option.all([client, bare]).pipe(Option.map(([c, b]) => `${(c / b).toFixed(2)}×`), Option.getOrElse(() => "?"))
  console.log(`\nLive heap per call waiting for a slot (${WAITING} waiting behind ${SLOTS} busy slots, after a full GC)`)
  console.log("| scenario | per waiting call | vs baseline |")
  console.log("| --- | --- | --- |")
  console.log(`| bare fiber on the limiter (baseline) | ${show(bare)} | 1.00× |`)
  console.log(`| CloroClient.monitor call through Cloro.layer | ${show(client)} | ${ratio} |`)
}

const childIndex = process.argv.indexOf("--child")
if (childIndex >= 0) {
  const kind: Kind = process.argv[childIndex + 1] === "client" ? "client" : "bare"
  Effect.runPromise(measure(kind)).then(
    (result) => {
      console.log(JSON.stringify(result))
      process.exit(0)
    },
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
