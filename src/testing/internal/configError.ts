/**
 * The simulator's one error for a configuration or control it cannot run
 * with, and the strict decoder every setting goes through (every issue
 * reported, unknown keys refused). It lives here, not in `CloroSimulator.ts`,
 * so that the service built over the core (`service.ts`) can fail with it
 * without importing the public module back; `CloroSimulator` re-exports it.
 */
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * A configuration the simulator cannot run with, with every problem found.
 *
 * @since 0.1.0
 */
export class SimulatorConfigError extends Schema.TaggedError<SimulatorConfigError>()("SimulatorConfigError", {
  message: Schema.String,
  issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
}) {}

const configError = (what: string) => (error: ParseResult.ParseError): SimulatorConfigError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message
  }))
  return new SimulatorConfigError({
    message: `Invalid ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    issues
  })
}

/**
 * Decodes `input` with every issue and no unknown keys, naming `what` in the message.
 *
 * @internal
 */
export const decodeStrict = <A, I>(schema: Schema.Schema<A, I>, what: string) => (input: unknown) =>
  Schema.decodeUnknown(schema, { errors: "all", onExcessProperty: "error" })(input).pipe(
    Effect.mapError(configError(what))
  )
