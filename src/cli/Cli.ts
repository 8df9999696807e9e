/**
 * The `cloro` command: `run`, `estimate`, `credits`, `countries` and
 * `simulate`, built with @effect/cli. `main` runs it on an argument list and
 * returns the exit code (0 all ok, 1 some failed or skipped, 2 usage or
 * configuration error), so tests run it in-process.
 *
 * @since 0.2.0
 */
import * as Args from "@effect/cli/Args"
import * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Span from "@effect/cli/HelpDoc/Span"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import { Cloro, CloroClient, ConcurrencyLimiter, Credits, Engine } from "../index.js"
import { CloroSimulator } from "../testing/index.js"
import { Backend, Io, simulatorKey, UsageError } from "./Environment.js"
import * as Input from "./Input.js"
import * as Journal from "./Journal.js"
import * as Output from "./Output.js"
import * as Progress from "./Progress.js"
import * as Report from "./Report.js"
import * as Runner from "./Runner.js"
import * as Stats from "./Stats.js"
import * as Transport from "./Transport.js"

/**
 * The version `cloro --version` prints.
 *
 * @since 0.2.0
 */
export const version = "0.2.0"

const help = (summary: string, examples: ReadonlyArray<readonly [string, string]>): HelpDoc.HelpDoc =>
  HelpDoc.blocks([
    HelpDoc.p(summary),
    HelpDoc.h2("EXAMPLES"),
    ...examples.map(([command, what]) => HelpDoc.p(Span.spans([Span.code(command), Span.text(`  ${what}`)])))
  ])

// ---------------------------------------------------------------------------
// shared options
// ---------------------------------------------------------------------------

const inputArg = Args.text({ name: "input" }).pipe(
  Args.withDescription("A JSONL file (one request per line), a CSV file with a header row, or a text file (one prompt per line)")
)
const engineOption = Options.choice("engine", Engine.names).pipe(
  Options.optional,
  Options.withDescription("The engine of lines that do not name one (and of every line of a text file)")
)
const countryOption = Options.text("country").pipe(
  Options.optional,
  Options.withDescription("The country of lines that give neither country nor gl (text files default to US)")
)
const formatOption = Options.choice("format", ["jsonl", "csv", "text"] as const).pipe(
  Options.optional,
  Options.withDescription("The input format; by default from the file name (.jsonl, .csv, anything else is text)")
)

const readInput = (path: string, format: Option.Option<Input.Format>, defaults: Input.Defaults) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError(() => new UsageError({ message: `cannot read the input file ${path}` }))
    )
    return Input.parse(text, Option.getOrElse(format, () => Input.formatOf(path)), defaults)
  })

/** Creates the folder a file is to be written in. */
const ensureParent = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const slash = path.lastIndexOf("/")
    if (slash <= 0) return
    const dir = path.slice(0, slash)
    yield* fs.makeDirectory(dir, { recursive: true }).pipe(
      Effect.mapError(() => new UsageError({ message: `cannot create the folder ${dir}` }))
    )
  })

const defaultsOf = (engine: Option.Option<string>, country: Option.Option<string>, tags: ReadonlyArray<string>): Input.Defaults => ({
  ...Option.match(engine, { onNone: () => ({}), onSome: (e) => ({ engine: e }) }),
  ...Option.match(country, { onNone: () => ({}), onSome: (c) => ({ country: c.toUpperCase() }) }),
  tags
})

/** The client, its services, and transport counters, against the chosen backend. */
const clientLayer = (options: Cloro.CloroOptions, counters: Transport.Counters) =>
  Layer.unwrapEffect(Effect.map(Backend, (backend) =>
    Cloro.layer(backend.connection, { monitor: "silent", ...options }).pipe(
      Layer.provide(
        Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, (c) => Transport.counting(c, counters))).pipe(
          Layer.provide(backend.http)
        )
      )
    )
  )).pipe(Layer.mapError((error) => new UsageError({ message: `configuration: ${error.message}` })))

const announceBackend = Effect.gen(function*() {
  const backend = yield* Backend
  const io = yield* Io
  if (backend.simulated) {
    yield* io.stderr("cloro: CLORO_API_KEY is not set, so this runs against the embedded simulator (no real credits are spent)\n")
  }
})

// ---------------------------------------------------------------------------
// run
// ---------------------------------------------------------------------------

const parseTimeout = (text: string): Either.Either<Duration.Duration, UsageError> => {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim())
  if (match === null) {
    return Option.match(Duration.decodeUnknown(text), {
      onNone: () => Either.left(new UsageError({ message: `--timeout: expected a duration like 90s or 2m, got ${text}` })),
      onSome: Either.right
    })
  }
  const n = Number(match[1])
  const unit = match[2] ?? "s"
  return Either.right(unit === "ms" ? Duration.millis(n) : unit === "m" ? Duration.minutes(n) : Duration.seconds(n))
}

const parseConcurrency = (text: string): Either.Either<number | undefined, UsageError> => {
  if (text === "auto") return Either.right(undefined)
  const n = Number(text)
  return Number.isInteger(n) && n > 0
    ? Either.right(n)
    : Either.left(new UsageError({ message: `--concurrency: expected auto or a positive integer, got ${text}` }))
}

const positive = (name: string, value: Option.Option<number>): Either.Either<number | undefined, UsageError> =>
  Option.match(value, {
    onNone: () => Either.right(undefined),
    onSome: (n) =>
      Number.isFinite(n) && n > 0
        ? Either.right(n)
        : Either.left(new UsageError({ message: `--${name}: expected a positive number, got ${n}` }))
  })

const runOptions = {
  input: inputArg,
  out: Options.text("out").pipe(
    Options.withAlias("o"),
    Options.optional,
    Options.withDescription("Append result lines to this file (default: stdout). Run again with the same file to resume")
  ),
  overwrite: Options.boolean("overwrite").pipe(
    Options.withDescription("Start --out over instead of resuming it (earlier results are lost)")
  ),
  report: Options.text("report").pipe(Options.optional, Options.withDescription("Write an HTML report of the run here")),
  mode: Options.choice("mode", ["sync", "async"] as const).pipe(
    Options.withDefault("sync" as const),
    Options.withDescription("sync: /v1/monitor/* calls; async: the task API (2 credits cheaper per request, queued)")
  ),
  concurrency: Options.text("concurrency").pipe(
    Options.withDefault("auto"),
    Options.withDescription("auto (learn the plan's limit from cloro's headers) or a number of slots")
  ),
  rate: Options.integer("rate").pipe(Options.optional, Options.withDescription("Most requests started per second")),
  budget: Options.integer("budget").pipe(
    Options.optional,
    Options.withDescription("Most credits this run may spend; inputs past it are written as skipped")
  ),
  retries: Options.integer("retries").pipe(
    Options.withDefault(4),
    Options.withDescription("Retries per request on retryable errors (429, 503, timeouts...); 0 for none")
  ),
  timeout: Options.text("timeout").pipe(Options.optional, Options.withDescription("Per-request timeout, e.g. 90s or 5m")),
  tag: Options.text("tag").pipe(
    Options.repeated,
    Options.withDescription("Add this tag to every line (credits are reported by tag); may be repeated")
  ),
  engine: engineOption,
  country: countryOption,
  format: formatOption
}

type RunArgs = Command.Command.ParseConfig<typeof runOptions>

const runHandler = (args: RunArgs) =>
  Effect.gen(function*() {
    const io = yield* Io
    const fs = yield* FileSystem.FileSystem
    const concurrency = yield* parseConcurrency(args.concurrency)
    const budget = yield* positive("budget", args.budget)
    const rate = yield* positive("rate", args.rate)
    const timeout = yield* Option.match(args.timeout, {
      onNone: () => Either.right(undefined),
      onSome: parseTimeout
    })
    if (args.retries < 0) return yield* new UsageError({ message: "--retries: expected 0 or more" })

    const items = yield* readInput(args.input, args.format, defaultsOf(args.engine, args.country, args.tag))
    for (const path of [args.out, args.report]) {
      if (Option.isSome(path)) yield* ensureParent(path.value)
    }
    if (args.overwrite && Option.isSome(args.out)) {
      yield* Effect.orElseSucceed(fs.remove(Journal.pathFor(args.out.value)), () => undefined)
      yield* fs.writeFileString(args.out.value, "").pipe(
        Effect.mapError(() => new UsageError({ message: `cannot write the output file ${Option.getOrElse(args.out, () => "")}` }))
      )
    }
    const previous = yield* Option.match(args.out, {
      onNone: () => Effect.succeed(Output.readDone("")),
      onSome: (out) =>
        Effect.map(Effect.orElseSucceed(fs.readFileString(out), () => ""), Output.readDone)
    })
    const todo = items.filter((item) => !previous.ok.has(item.id))
    yield* announceBackend
    if (previous.ok.size > 0) {
      yield* io.stderr(
        `cloro: resuming ${Option.getOrElse(args.out, () => "")}: ${items.length - todo.length} inputs already ok are not sent again\n`
      )
    }

    const counters = yield* Transport.makeCounters
    const startedAt = yield* Clock.currentTimeMillis
    const stats = yield* Ref.make(
      Stats.initial({ mode: args.mode, startedAt, total: todo.length, alreadyOk: items.length - todo.length, budget })
    )
    const journal = args.mode === "async"
      ? yield* Option.match(args.out, {
        onNone: () => Effect.succeed(undefined),
        onSome: (out) => Journal.file(Journal.pathFor(out))
      })
      : undefined

    const layer = clientLayer({
      concurrency: concurrency === undefined ? {} : { limit: concurrency },
      ...(rate === undefined ? {} : { rateLimit: { limit: rate } }),
      retry: args.retries === 0 ? "none" : { maxRetries: args.retries },
      credits: budget === undefined ? {} : { budget }
    }, counters)

    const body = Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.ConcurrencyLimiter
      const ledger = yield* Credits.Credits
      const live = Effect.gen(function*() {
        const slots = yield* limiter.stats
        const snapshot = yield* ledger.snapshot
        return {
          now: yield* Clock.currentTimeMillis,
          slotsInUse: slots.inUse,
          slotsLimit: slots.size,
          balance: snapshot.balance,
          rejected429: yield* Ref.get(counters.rejected429)
        } satisfies Progress.Live
      })

      const write = yield* Option.match(args.out, {
        onNone: () =>
          Effect.succeed((line: Output.Line) =>
            // on a terminal the live line shares the screen: clear it before a result line
            io.isTTY
              ? Effect.zipRight(io.stderr("\r\x1b[2K"), io.stdout(`${Output.encode(line)}\n`))
              : io.stdout(`${Output.encode(line)}\n`)
          ),
        onSome: (out) =>
          Effect.map(
            fs.open(out, { flag: "a" }).pipe(
              Effect.mapError(() => new UsageError({ message: `cannot open the output file ${out}` }))
            ),
            (file) => (line: Output.Line) =>
              Effect.orDie(file.writeAll(new TextEncoder().encode(`${Output.encode(line)}\n`)))
          )
      })

      const sampler = Effect.gen(function*() {
        const l = yield* live
        yield* Ref.update(stats, (s) => ({
          ...s,
          samples: Chunk.append(s.samples, {
            t: l.now - s.startedAt,
            done: s.done,
            ok: s.ok,
            failed: s.failed,
            inUse: l.slotsInUse,
            size: l.slotsLimit,
            spent: s.spent
          })
        }))
      })
      const printer = Effect.gen(function*() {
        const text = Progress.line(yield* Ref.get(stats), yield* live)
        yield* io.isTTY ? io.stderr(`\r\x1b[2K${text}`) : io.stderr(`${text}\n`)
      })
      const samplerFiber = yield* Effect.fork(Effect.repeat(sampler, Schedule.spaced(Duration.seconds(1))))
      const printerFiber = yield* Effect.fork(
        Effect.repeat(printer, Schedule.spaced(io.isTTY ? Duration.millis(250) : Duration.seconds(5)))
      )

      yield* Runner.run({
        items: todo,
        settings: { mode: args.mode, budget, concurrency, timeout, journal },
        control: io.control,
        stats,
        write
      })
      yield* sampler
      yield* Fiber.interrupt(printerFiber)
      yield* Fiber.interrupt(samplerFiber)
      const final = yield* Ref.get(stats)
      const l = yield* live
      yield* io.isTTY ? io.stderr(`\r\x1b[2K${Progress.line(final, l)}\n`) : io.stderr(`${Progress.line(final, l)}\n`)
      yield* io.stderr(Progress.summary(final, l))
      yield* Option.match(args.report, {
        onNone: () => Effect.void,
        onSome: (path) =>
          Effect.gen(function*() {
            const backend = yield* Backend
            const html = Report.render(final, {
              input: args.input,
              simulated: backend.simulated,
              balance: l.balance,
              rejected429: l.rejected429,
              generatedAt: new Date(l.now).toISOString()
            })
            yield* fs.writeFileString(path, html).pipe(
              Effect.mapError(() => new UsageError({ message: `cannot write the report ${path}` }))
            )
            yield* io.stderr(`cloro: report written to ${path}\n`)
          })
      })
      yield* Ref.set(io.exitCode, final.failed === 0 && final.skipped === 0 ? 0 : 1)
    })
    yield* Effect.scoped(body).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.None))
  })

const runCommand = Command.make("run", runOptions, runHandler).pipe(
  Command.withDescription(help(
    "Send every request of a file to cloro and write one JSON line per input: its id, status (ok, failed, skipped), the typed result or error, usage, credits, attempts and latency. Without CLORO_API_KEY it runs against the embedded simulator.",
    [
      ["cloro run examples/prompts.jsonl --out results.jsonl --report run.html", "run a file, keep results, draw a report"],
      ["cloro run prompts.txt --engine perplexity --country DE", "one prompt per line, same engine and country"],
      ["cloro run prompts.csv --mode async --budget 5000 --out results.jsonl", "the cheaper task API, at most 5,000 credits"],
      ["cloro run prompts.jsonl --out results.jsonl", "run it again after a stop: ids already ok are not sent twice"]
    ]
  ))
)

// ---------------------------------------------------------------------------
// estimate
// ---------------------------------------------------------------------------

const estimateCommand = Command.make(
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

const creditsCommand = Command.make("credits", {}, () =>
  Effect.gen(function*() {
    const io = yield* Io
    const answer = yield* withClient((client) => client.account.credits())
    yield* io.stdout(`${JSON.stringify(answer.result)}\n`)
  })).pipe(Command.withDescription(help("The account's credit balance (free; no credit is spent).", [[
    "cloro credits",
    "print the balance as JSON"
  ]])))

const countriesModels = ["chatgpt", "perplexity", "gemini", "copilot", "grok", "aimode", "google", "aioverview"] as const

const countriesCommand = Command.make(
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

const simulateCommand = Command.make(
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

// ---------------------------------------------------------------------------
// the app
// ---------------------------------------------------------------------------

/**
 * The root command.
 *
 * @since 0.2.0
 */
export const command = Command.make("cloro").pipe(
  Command.withDescription(help(
    "Run lists of prompts through cloro (ChatGPT, Perplexity, Gemini, Copilot, Grok, AI Mode, Google Search and News) with progress, budgets and resumable output. Set CLORO_API_KEY to use your account; without it every command uses an embedded simulator.",
    [
      ["cloro run examples/prompts.jsonl --report run.html", "the example file, with a report"],
      ["cloro estimate examples/prompts.jsonl", "its cost in sync and async mode"],
      ["cloro run --help", "every option of run"]
    ]
  )),
  Command.withSubcommands([runCommand, estimateCommand, creditsCommand, countriesCommand, simulateCommand])
)

const cli = Command.run(command, { name: "cloro", version })

/**
 * Runs the command on `argv` (without the `node` and script entries) and
 * returns its exit code. A usage or configuration error is printed as one
 * line to stderr (exit 2); no stack trace is ever printed.
 *
 * @since 0.2.0
 */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<number, never, Io | Backend | CliApp.CliApp.Environment> =>
  Effect.gen(function*() {
    const io = yield* Io
    const exit = yield* Effect.exit(cli(["node", "cloro", ...argv]))
    if (exit._tag === "Success") return yield* Ref.get(io.exitCode)
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (ValidationError.isValidationError(error)) return 2
      yield* io.stderr(`cloro: ${error.message}\n`)
      return 2
    }
    if (Cause.isInterruptedOnly(exit.cause)) {
      yield* io.stderr("cloro: interrupted\n")
      return 130
    }
    const defect = Chunk.head(Cause.defects(exit.cause))
    yield* io.stderr(`cloro: unexpected error: ${Option.match(defect, { onNone: () => "unknown", onSome: (d) => d instanceof Error ? d.message : String(d) })}\n`)
    return 2
  })
