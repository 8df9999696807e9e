/**
 * The `cloro` command: `run`, `estimate`, `credits`, `countries` and
 * `simulate`, built with @effect/cli. `main` runs it on an argument list and
 * returns the exit code (0 all ok, 1 some failed or skipped, 2 usage or
 * configuration error), so tests run it in-process.
 *
 * The commands live in `RunCommand.ts` and `Commands.ts`, what they share in
 * `Shared.ts`.
 *
 * @since 0.2.0
 */
import * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { Backend, Io } from "./Environment.js"
import { countriesCommand, creditsCommand, estimateCommand, simulateCommand } from "./Commands.js"
import { runCommand } from "./RunCommand.js"
import { help } from "./Shared.js"
import { version as packageVersion } from "../internal/version.js"

/**
 * The version `cloro --version` prints: the package's.
 *
 * @since 0.2.0
 */
export const version: string = packageVersion

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
