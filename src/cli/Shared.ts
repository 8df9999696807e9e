/**
 * What the `cloro` commands share: the help layout, the input argument and
 * the engine, country and format options, reading an input file with
 * defaults, and the client layer against the chosen backend (cloro or the
 * embedded simulator).
 *
 * @since 0.2.0
 */
import * as Args from "@effect/cli/Args"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Span from "@effect/cli/HelpDoc/Span"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { Cloro, Engine } from "../index.js"
import { Backend, Io, UsageError } from "./Environment.js"
import * as Input from "./Input.js"
import * as Transport from "./Transport.js"

/**
 * A command's help: a summary and examples, laid out the same for every command.
 *
 * @since 0.2.0
 */
export const help = (summary: string, examples: ReadonlyArray<readonly [string, string]>): HelpDoc.HelpDoc =>
  HelpDoc.blocks([
    HelpDoc.p(summary),
    HelpDoc.h2("EXAMPLES"),
    ...examples.map(([command, what]) => HelpDoc.p(Span.spans([Span.code(command), Span.text(`  ${what}`)])))
  ])

/**
 * The input file of `run` and `estimate`.
 *
 * @since 0.2.0
 */
export const inputArg = Args.text({ name: "input" }).pipe(
  Args.withDescription("A JSONL file (one request per line), a CSV file with a header row, or a text file (one prompt per line)")
)
/**
 * The engine of rows that name none.
 *
 * @since 0.2.0
 */
export const engineOption = Options.choice("engine", Engine.names).pipe(
  Options.optional,
  Options.withDescription("The engine of lines that do not name one (and of every line of a text file)")
)
/**
 * The country of rows that name none.
 *
 * @since 0.2.0
 */
export const countryOption = Options.text("country").pipe(
  Options.optional,
  Options.withDescription("The country of lines that give neither country nor gl (text files default to US)")
)
/**
 * The input's format, when its extension does not say.
 *
 * @since 0.2.0
 */
export const formatOption = Options.choice("format", ["jsonl", "csv", "text"] as const).pipe(
  Options.optional,
  Options.withDescription("The input format; by default from the file name (.jsonl, .csv, anything else is text)")
)

/**
 * Reads an input file into rows, with the defaults for what a row leaves out.
 *
 * @since 0.2.0
 */
export const readInput = (path: string, format: Option.Option<Input.Format>, defaults: Input.Defaults) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError(() => new UsageError({ message: `cannot read the input file ${path}` }))
    )
    return Input.parse(text, Option.getOrElse(format, () => Input.formatOf(path)), defaults)
  })

/**
 * Reads an input file as a stream of rows, one line at a time (JSONL and
 * text), so that a file of 100,000 requests is never held whole: each row is
 * parsed and validated as it is read, and only the ids seen so far are kept
 * (to refuse a duplicate). A CSV, whose quoted cells may span lines, is read
 * whole. Each run of the stream reads the file again.
 *
 * @since 0.6.0
 */
export const inputItems = (
  path: string,
  format: Input.Format,
  defaults: Input.Defaults
): Stream.Stream<Input.Item, UsageError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) => {
    const unreadable = () => new UsageError({ message: `cannot read the input file ${path}` })
    if (format === "csv") {
      return Stream.fromIterableEffect(
        Effect.map(Effect.mapError(fs.readFileString(path), unreadable), (text) => Input.parse(text, format, defaults))
      )
    }
    const parseLine = format === "jsonl" ? Input.jsonlLine : Input.textLine
    return Stream.suspend(() => {
      const seen = new Set<string>()
      return fs.stream(path).pipe(
        Stream.mapError(unreadable),
        Stream.decodeText(),
        Stream.splitLines,
        Stream.zipWithIndex,
        Stream.filterMap(([raw, index]) => Option.fromNullable(parseLine(raw, index + 1, defaults))),
        Stream.map((item) => Input.unique(seen, item))
      )
    })
  }))

/** Creates the folder a file is to be written in. */
export const ensureParent = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const slash = path.lastIndexOf("/")
    if (slash <= 0) return
    const dir = path.slice(0, slash)
    yield* fs.makeDirectory(dir, { recursive: true }).pipe(
      Effect.mapError(() => new UsageError({ message: `cannot create the folder ${dir}` }))
    )
  })

/**
 * The defaults a row takes from the command line.
 *
 * @since 0.2.0
 */
export const defaultsOf = (engine: Option.Option<string>, country: Option.Option<string>, tags: ReadonlyArray<string>): Input.Defaults => ({
  ...Option.match(engine, { onNone: () => ({}), onSome: (e) => ({ engine: e }) }),
  ...Option.match(country, { onNone: () => ({}), onSome: (c) => ({ country: c.toUpperCase() }) }),
  tags
})

/** The client, its services, and transport counters, against the chosen backend. */
export const clientLayer = (options: Cloro.CloroOptions, counters: Transport.Counters) =>
  Layer.unwrapEffect(Effect.map(Backend, (backend) =>
    Cloro.layer(backend.connection, { monitor: "silent", ...options }).pipe(
      Layer.provide(
        Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, (c) => Transport.counting(c, counters))).pipe(
          Layer.provide(backend.http)
        )
      )
    )
  )).pipe(Layer.mapError((error) => new UsageError({ message: `configuration: ${error.message}` })))

/**
 * Says on stderr which backend the command uses (cloro or the simulator).
 *
 * @since 0.2.0
 */
export const announceBackend = Effect.gen(function*() {
  const backend = yield* Backend
  const io = yield* Io
  if (backend.simulated) {
    yield* io.stderr("cloro: CLORO_API_KEY is not set, so this runs against the embedded simulator (no real credits are spent)\n")
  }
})
