/**
 * The `cloro` command on Node: the process's streams, files and terminal,
 * undici for HTTP, `CLORO_API_KEY` from the environment, and Ctrl-C wired
 * to the run's two-step stop.
 *
 * @since 0.2.0
 */
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Cli from "./Cli.js"
import * as Environment from "./Environment.js"
import * as Runner from "./Runner.js"

/**
 * Runs `cloro` with these arguments and exits the process with its code.
 *
 * @since 0.2.0
 */
export const start = (argv: ReadonlyArray<string>): void => {
  const control = Effect.runSync(Runner.makeControl)
  const exitCode = Effect.runSync(Ref.make(0))
  process.on("SIGINT", () => {
    // a third Ctrl-C, once the run was already told to interrupt, leaves at once
    if (Effect.runSync(Deferred.isDone(control.interrupt))) process.exit(130)
    const step = Effect.runSync(Runner.signal(control))
    process.stderr.write(
      step === "stop"
        ? "\ncloro: stopping: no new requests; waiting for those in flight (Ctrl-C again to interrupt them)\n"
        : "\ncloro: interrupting the requests in flight\n"
    )
  })
  const layer = Layer.mergeAll(
    NodeContext.layer,
    Environment.layerProcess(control, exitCode),
    Environment.layerFromEnv(NodeHttpClient.layerUndici)
  )
  Effect.runPromise(
    Cli.main(argv).pipe(
      Effect.provide(layer),
      Effect.catchAll((error) =>
        Effect.sync(() => {
          process.stderr.write(`cloro: ${error.message}\n`)
          return 2
        })
      )
    )
  ).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`cloro: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exitCode = 2
    }
  )
}
