/**
 * What the `cloro` command needs from the process around it, as services so
 * that tests run it in-process: where text goes (`Io`), how Ctrl-C reaches
 * it (`Io.control`), and which cloro it talks to (`Backend`: the real API
 * when `CLORO_API_KEY` is set, the embedded simulator otherwise).
 *
 * @since 0.2.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { CloroConfig } from "../index.js"
import { CloroSimulator } from "../testing/index.js"
import * as Runner from "./Runner.js"

/**
 * A usage or configuration problem: printed as one clear line, exit code 2.
 *
 * @since 0.2.0
 */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String
}) {}

/**
 * Text out, the terminal, Ctrl-C and the exit code.
 *
 * @since 0.2.0
 */
export interface IoShape {
  readonly stdout: (text: string) => Effect.Effect<void>
  readonly stderr: (text: string) => Effect.Effect<void>
  /** Whether stderr is a terminal (a live progress line) or not (a plain line every few seconds). */
  readonly isTTY: boolean
  readonly control: Runner.Control
  readonly exitCode: Ref.Ref<number>
}

/**
 * @since 0.2.0
 */
export class Io extends Context.Tag("cloro-effect/cli/Io")<Io, IoShape>() {}

/**
 * The process's own streams.
 *
 * @since 0.2.0
 */
export const layerProcess = (control: Runner.Control, exitCode: Ref.Ref<number>): Layer.Layer<Io> =>
  Layer.succeed(Io, {
    stdout: (text) =>
      Effect.async<void>((resume) => {
        process.stdout.write(text, () => resume(Effect.void))
      }),
    stderr: (text) =>
      Effect.async<void>((resume) => {
        process.stderr.write(text, () => resume(Effect.void))
      }),
    isTTY: process.stderr.isTTY === true,
    control,
    exitCode
  })

/**
 * Which cloro the command talks to.
 *
 * @since 0.2.0
 */
export interface BackendShape {
  /** True when it is the embedded simulator. */
  readonly simulated: boolean
  readonly connection: CloroConfig.CloroConfigOptions
  readonly http: Layer.Layer<HttpClient.HttpClient>
}

/**
 * @since 0.2.0
 */
export class Backend extends Context.Tag("cloro-effect/cli/Backend")<Backend, BackendShape>() {}

/**
 * The API key the embedded simulator accepts.
 *
 * @since 0.2.0
 */
export const simulatorKey = "sk_test_simulator"

/**
 * The embedded simulator's default set-up: a Lite plan (10 slots), a few
 * hundred milliseconds per answer, and an occasional 503 that the client
 * retries, so a demo run shows the limits at work in seconds.
 *
 * @since 0.2.0
 */
export const demoSimulator: CloroSimulator.ConfigInput = {
  seed: 7,
  accounts: [{ apiKey: simulatorKey, plan: { concurrency: 10, credits: 37_500 } }],
  latency: { default: CloroSimulator.logNormal(150, 0.45, 2_000) },
  faults: { rate: { rate: 0.03, faults: ["503"], retryAfter: 1 } }
}

/**
 * A backend answered by an in-memory simulator with this configuration.
 *
 * @since 0.2.0
 */
export const layerSimulator = (
  config: CloroSimulator.ConfigInput = demoSimulator
): Layer.Layer<Backend | CloroSimulator.CloroSimulator, CloroSimulator.SimulatorConfigError> =>
  Layer.scopedContext(Effect.gen(function*() {
    const sim = yield* CloroSimulator.make(config)
    const apiKey = config.accounts?.[0]?.apiKey ?? simulatorKey
    return Context.make(CloroSimulator.CloroSimulator, sim).pipe(
      Context.add(Backend, {
        simulated: true,
        connection: { apiKey },
        http: Layer.succeed(HttpClient.HttpClient, CloroSimulator.httpClient(sim.handle))
      })
    )
  }))

/**
 * The real API when `CLORO_API_KEY` is set (with `CLORO_BASE_URL` if given),
 * the embedded simulator otherwise. The key is read as `Redacted`.
 *
 * @since 0.2.0
 */
export const layerFromEnv = (
  http: Layer.Layer<HttpClient.HttpClient>
): Layer.Layer<Backend, UsageError> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const key = yield* Config.option(Config.redacted("CLORO_API_KEY"))
    const baseUrl = yield* Config.option(Config.string("CLORO_BASE_URL"))
    return Option.match(Option.filter(key, (k) => Redacted.value(k).trim().length > 0), {
      onNone: () => Layer.project(layerSimulator(), Backend, Backend, (b) => b),
      onSome: (apiKey) =>
        Layer.succeed(Backend, {
          simulated: false,
          connection: Option.match(baseUrl, { onNone: () => ({ apiKey }), onSome: (url) => ({ apiKey, baseUrl: url }) }),
          http
        })
    })
  })).pipe(Layer.mapError((error) => new UsageError({ message: `configuration: ${String(error)}` })))
