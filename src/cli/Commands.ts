/**
 * The small `cloro` commands: `estimate` (a file's cost in sync and async
 * mode), `credits`, `countries` and `simulate` (the embedded simulator served
 * over HTTP).
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { CloroClient } from "../index.js"
import { CloroSimulator } from "../testing/index.js"
import { Io, simulatorKey, UsageError } from "./Environment.js"
import * as Input from "./Input.js"
import * as Runner from "./Runner.js"
import * as Transport from "./Transport.js"
import {
  announceBackend,
  clientLayer,
  countryOption,
  defaultsOf,
  engineOption,
  formatOption,
  help,
  inputArg,
  readInput
} from "./Shared.js"

/**
 * `cloro estimate`.
 *
 * @since 0.2.0
 */
export const estimateCommand = Command.make(
  "estimate",
  { input: inputArg, engine: engineOption, country: countryOption, format: formatOption },
  (args) =>
    Effect.gen(function*() {
      const io = yield* Io
      const items = yield* readInput(args.input, args.format, defaultsOf(args.engine, args.country, []))
      type Row = { count: number; sync: number; async: number; syncMax: number; asyncMax: number }
      const zero: Row = { count: 0, sync: 0, async: 0, syncMax: 0, asyncMax: 0 }
      const invalid = items.filter((item) => Either.isLeft(item.request)).length
      const rows = items.reduce((table, item) => {
        if (Either.isLeft(item.request)) return table
        const prepared = item.request.right
        const sync = Input.estimate(prepared, "sync")
        const async = Input.estimate(prepared, "async")
        const row = table.get(prepared.engine) ?? zero
        return new Map(table).set(prepared.engine, {
          count: row.count + 1,
          sync: row.sync + sync.estimate,
          async: row.async + async.estimate,
          syncMax: row.syncMax + sync.max,
          asyncMax: row.asyncMax + async.max
        })
      }, new Map<string, Row>())
      const entries = [...rows.entries()].sort((a, b) => b[1].sync - a[1].sync)
      const total = entries.reduce(
        (t, [, r]) => ({ count: t.count + r.count, sync: t.sync + r.sync, async: t.async + r.async, syncMax: t.syncMax + r.syncMax, asyncMax: t.asyncMax + r.asyncMax }),
        { count: 0, sync: 0, async: 0, syncMax: 0, asyncMax: 0 }
      )
      const fmt = (n: number) => n.toLocaleString("en-US")
      const cells = (name: string, r: typeof total) =>
        [name.padEnd(12), fmt(r.count).padStart(8), fmt(r.sync).padStart(10), fmt(r.async).padStart(10)].join("  ")
      const lines = [
        ["engine".padEnd(12), "requests".padStart(8), "sync".padStart(10), "async".padStart(10)].join("  "),
        ...entries.map(([name, r]) => cells(name, r)),
        cells("total", total),
        "",
        `async saves ${fmt(total.sync - total.async)} credits (${
          total.sync === 0 ? 0 : Math.round(((total.sync - total.async) / total.sync) * 100)
        }%).`,
        ...(total.syncMax > total.sync
          ? [`AI Mode product expansion can add up to ${fmt(total.syncMax - total.sync)} credits, billed per cluster returned.`]
          : []),
        ...(invalid > 0 ? [`${fmt(invalid)} invalid lines are not counted (cloro run writes them as failed).`] : []),
        "No request was sent."
      ]
      yield* io.stdout(`${lines.join("\n")}\n`)
    })
).pipe(Command.withDescription(help(
  "The cost of a file in sync and in async mode, by engine, from cloro's price table. Nothing is sent.",
  [["cloro estimate examples/prompts.jsonl", "what the example would cost"], [
    "cloro estimate prompts.txt --engine chatgpt",
    "a text file, every line a ChatGPT prompt"
  ]]
)))

// ---------------------------------------------------------------------------
// credits, countries
// ---------------------------------------------------------------------------

const withClient = <A, E>(f: (client: CloroClient.CloroClientShape) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const counters = yield* Transport.makeCounters
    yield* announceBackend
    return yield* Effect.flatMap(CloroClient.CloroClient, f).pipe(
      Effect.provide(clientLayer({ retry: { maxRetries: 2 } }, counters)),
      Logger.withMinimumLogLevel(LogLevel.None)
    )
  })

/**
 * `cloro credits`.
 *
 * @since 0.2.0
 */
export const creditsCommand = Command.make("credits", {}, () =>
  Effect.gen(function*() {
    const io = yield* Io
    const answer = yield* withClient((client) => client.account.credits())
    yield* io.stdout(`${JSON.stringify(answer.result)}\n`)
  })).pipe(Command.withDescription(help("The account's credit balance (free; no credit is spent).", [[
    "cloro credits",
    "print the balance as JSON"
  ]])))

const countriesModels = ["chatgpt", "perplexity", "gemini", "copilot", "grok", "aimode", "google", "aioverview"] as const

/**
 * `cloro countries`.
 *
 * @since 0.2.0
 */
export const countriesCommand = Command.make(
  "countries",
  {
    engine: Options.choice("engine", countriesModels).pipe(
      Options.optional,
      Options.withDescription("Only the countries this engine supports")
    )
  },
  (args) =>
    Effect.gen(function*() {
      const io = yield* Io
      const answer = yield* withClient((client) => client.account.countries(Option.getOrUndefined(args.engine)))
      yield* io.stdout(`${answer.result.join("\n")}\n`)
    })
).pipe(Command.withDescription(help("The country codes cloro supports, for all engines or one.", [
  ["cloro countries", "every supported country"],
  ["cloro countries --engine chatgpt", "the countries ChatGPT can be asked from"]
])))

// ---------------------------------------------------------------------------
// simulate
// ---------------------------------------------------------------------------

/**
 * `cloro simulate`.
 *
 * @since 0.2.0
 */
export const simulateCommand = Command.make(
  "simulate",
  {
    port: Options.integer("port").pipe(Options.withDefault(8787), Options.withDescription("Port on 127.0.0.1 (0: any free port)")),
    concurrency: Options.integer("concurrency").pipe(Options.withDefault(10), Options.withDescription("The plan's concurrency limit")),
    credits: Options.integer("credits").pipe(Options.withDefault(37_500), Options.withDescription("The starting balance")),
    latency: Options.text("latency").pipe(
      Options.withDefault("realistic"),
      Options.withDescription("realistic (seconds, per engine), or a median in milliseconds, e.g. 300")
    ),
    faults: Options.float("faults").pipe(
      Options.withDefault(0),
      Options.withDescription("Share of requests (0 to 1) answered with a fault: 500, 503, a reset or a 429 burst")
    ),
    apiKey: Options.text("api-key").pipe(Options.withDefault(simulatorKey), Options.withDescription("The key it accepts")),
    seed: Options.integer("seed").pipe(Options.withDefault(1))
  },
  (args) =>
    Effect.gen(function*() {
      const io = yield* Io
      const median = Number(args.latency)
      if (args.latency !== "realistic" && !(Number.isFinite(median) && median >= 0)) {
        return yield* new UsageError({ message: `--latency: expected realistic or milliseconds, got ${args.latency}` })
      }
      const config: CloroSimulator.ConfigInput = {
        seed: args.seed,
        accounts: [{ apiKey: args.apiKey, plan: { concurrency: args.concurrency, credits: args.credits } }],
        latency: args.latency === "realistic" ? CloroSimulator.realisticLatency : { default: CloroSimulator.logNormal(median, 0.45) },
        ...(args.faults > 0 ? { faults: { rate: { rate: args.faults, faults: ["500", "503", "reset", "429"] as const, retryAfter: 1 } } } : {})
      }
      yield* Effect.gen(function*() {
        const sim = yield* CloroSimulator.CloroSimulator
        yield* io.stderr(
          `cloro simulator listening on ${sim.url} (plan: ${args.concurrency} slots, ${args.credits} credits)\n` +
            `  point a tool at it: CLORO_BASE_URL=${sim.url} CLORO_API_KEY=<the --api-key> cloro run <input>\n` +
            `  Ctrl-C stops it.\n`
        )
        yield* Effect.raceFirst(Effect.never, Runner.awaitStop(io.control))
        yield* io.stderr("cloro simulator: stopped\n")
      }).pipe(
        Effect.provide(CloroSimulator.layerServer(config, { port: args.port })),
        Effect.mapError((error) => new UsageError({ message: `simulator: ${error.message}` }))
      )
    })
).pipe(Command.withDescription(help(
  "Start the cloro simulator as a real HTTP server on loopback, for any tool to point at. It answers every endpoint with cloro's validation, limits, prices, async queue and faults.",
  [
    ["cloro simulate --port 8787 --concurrency 5 --latency 300", "a fast Lite-like plan"],
    ["cloro simulate --faults 0.05 --credits 1000", "5% faults and a small balance"]
  ]
)))
