/**
 * `cloro run`: its options and their checks, and the handler that reads the
 * input, resumes from the journal, runs every row (sync or async) with
 * progress, budgets and a report, and sets the exit code.
 *
 * @since 0.2.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { ConcurrencyLimiter, Credits } from "../index.js"
import * as DurationHelper from "../internal/duration.js"
import { Backend, Io, UsageError } from "./Environment.js"
import * as Input from "./Input.js"
import * as Journal from "./Journal.js"
import * as Output from "./Output.js"
import * as Progress from "./Progress.js"
import * as Report from "./Report.js"
import * as Runner from "./Runner.js"
import * as Stats from "./Stats.js"
import * as Transport from "./Transport.js"
import {
  announceBackend,
  clientLayer,
  countryOption,
  defaultsOf,
  engineOption,
  ensureParent,
  formatOption,
  help,
  inputArg,
  inputItems
} from "./Shared.js"

/**
 * `--timeout`: `90s`, `2m` or `500ms` for short (a bare number is seconds),
 * or any duration Effect reads (`"90 seconds"`), checked by `duration.ts` as
 * every option of the library is.
 */
const parseTimeout = (text: string): Either.Either<Duration.Duration, UsageError> => {
  const short = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim())
  const unit = short?.[2] === "ms" ? "millis" : short?.[2] === "m" ? "minutes" : "seconds"
  const input = short === null ? text : `${short[1]} ${unit}`
  return Either.mapLeft(
    DurationHelper.decode("--timeout", input, { zero: false, infinite: false }),
    (issue) => new UsageError({ message: `--timeout ${issue.message} (e.g. 90s or 2m)` })
  )
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

    // read a line at a time, twice (to count, then to run): a long file is never held whole
    const items = inputItems(
      args.input,
      Option.getOrElse(args.format, () => Input.formatOf(args.input)),
      defaultsOf(args.engine, args.country, args.tag)
    )
    for (const path of [args.out, args.report]) {
      if (Option.isSome(path)) yield* ensureParent(path.value)
    }
    if (Option.isSome(args.report)) {
      // the report is written after the run: find out now, before anything is paid for, that it can be
      const report = args.report.value
      yield* Effect.scoped(fs.open(report, { flag: "a" })).pipe(
        Effect.mapError(() => new UsageError({ message: `cannot write the report ${report}` }))
      )
    }
    if (args.overwrite && Option.isSome(args.out)) {
      yield* Effect.orElseSucceed(fs.remove(Journal.pathFor(args.out.value)), () => undefined)
      yield* fs.writeFileString(args.out.value, "").pipe(
        Effect.mapError(() => new UsageError({ message: `cannot write the output file ${Option.getOrElse(args.out, () => "")}` }))
      )
    }
    // the output so far, a piece at a time (a resumed bulk run's file holds every result)
    const existing = yield* Option.match(args.out, {
      onNone: () => Effect.succeed(Output.emptyDone()),
      onSome: (out) =>
        fs.stream(out).pipe(
          Stream.decodeText(),
          Stream.runFold(Output.emptyDone(), Output.addDone),
          Effect.orElseSucceed(Output.emptyDone)
        )
    })
    const previous = Output.doneOf(existing)
    // a run killed mid-write leaves a torn last line: start ours on a fresh one, or the first result is lost with it
    const tornTail = existing.rest.length > 0
    const todo = Stream.filter(items, (item) => !previous.ok.has(item.id))
    const counted = yield* Stream.runFold(items, { all: 0, todo: 0 }, (n, item) => ({
      all: n.all + 1,
      todo: n.todo + (previous.ok.has(item.id) ? 0 : 1)
    }))
    yield* announceBackend
    if (previous.ok.size > 0) {
      yield* io.stderr(
        `cloro: resuming ${Option.getOrElse(args.out, () => "")}: ${counted.all - counted.todo} inputs already ok are not sent again\n`
      )
    }

    const counters = yield* Transport.makeCounters
    const startedAt = yield* Clock.currentTimeMillis
    const stats = yield* Ref.make(
      Stats.initial({ mode: args.mode, startedAt, total: counted.todo, alreadyOk: counted.all - counted.todo, budget })
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
              Effect.tap((file) => tornTail ? file.writeAll(new TextEncoder().encode("\n")) : Effect.void),
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

/**
 * `cloro run`.
 *
 * @since 0.2.0
 */
export const runCommand = Command.make("run", runOptions, runHandler).pipe(
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
