/**
 * Runs the `cloro` command in-process against an in-memory simulator, with
 * stdout and stderr captured.
 */
import { NodeContext } from "@effect/platform-node"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Cli from "../../src/cli/Cli.js"
import * as Environment from "../../src/cli/Environment.js"
import * as Runner from "../../src/cli/Runner.js"
import { CloroSimulator } from "../../src/testing/index.js"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"

const Simulator = CloroSimulator

export interface Captured {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface Console {
  readonly stdout: Ref.Ref<string>
  readonly stderr: Ref.Ref<string>
  readonly control: Runner.Control
  readonly layer: Layer.Layer<Environment.Io>
}

export const makeConsole = (options: { readonly isTTY?: boolean } = {}) =>
  Effect.gen(function*() {
    const stdout = yield* Ref.make("")
    const stderr = yield* Ref.make("")
    const control = yield* Runner.makeControl
    const exitCode = yield* Ref.make(0)
    const layer = Layer.succeed(Environment.Io, {
      stdout: (text) => Ref.update(stdout, (s) => s + text),
      stderr: (text) => Ref.update(stderr, (s) => s + text),
      isTTY: options.isTTY ?? false,
      control,
      exitCode
    })
    return { stdout, stderr, control, layer } satisfies Console
  })

/** A fast simulator: no latency, no faults, a Lite plan. */
export const fastSimulator = (overrides: CloroSimulator.ConfigInput = {}): CloroSimulator.ConfigInput => ({
  seed: 1,
  accounts: [{ apiKey: Environment.simulatorKey, plan: { concurrency: 10, credits: 10_000 } }],
  ...overrides
})

/** Runs `cloro <argv>` with this console; the Backend (and simulator) come from the caller's context. */
export const cli = (console: Console, argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const code = yield* Cli.main(argv).pipe(Effect.provide(Layer.merge(console.layer, NodeContext.layer)))
    const result: Captured = { code, stdout: yield* Ref.get(console.stdout), stderr: yield* Ref.get(console.stderr) }
    yield* Ref.set(console.stdout, "")
    yield* Ref.set(console.stderr, "")
    return result
  })

/**
 * Runs a forked effect to its end under the TestClock, moving time forward
 * in steps and letting real I/O (reading the input file) finish in between.
 */
export const driveClock = <A, E>(
  fiber: Fiber.RuntimeFiber<A, E>,
  step: Duration.DurationInput = "100 millis",
  maxSteps = 10_000
) =>
  Effect.gen(function*() {
    for (let i = 0; i < maxSteps; i++) {
      const done = yield* fiber.poll
      if (done._tag === "Some") break
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 0)))
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })

export const tmpDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "cloro-cli-"))

export const writeFile = (dir: string, name: string, text: string): string => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

export const jsonl = (records: ReadonlyArray<unknown>): string => records.map((r) => JSON.stringify(r)).join("\n") + "\n"

export const readLines = (file: string): ReadonlyArray<Record<string, unknown>> =>
  fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>)

export const parseLines = (text: string): ReadonlyArray<Record<string, unknown>> =>
  text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>)

/** A backend whose client sends `apiKey`, which the simulator does not know. */
export const simulatorWithKey = (config: CloroSimulator.ConfigInput, apiKey: string) =>
  Layer.scopedContext(Effect.gen(function*() {
    const sim = yield* Simulator.make(config)
    return Context.make(Environment.Backend, {
      simulated: true,
      connection: { apiKey },
      http: Layer.succeed(HttpClient.HttpClient, Simulator.httpClient(sim.handle))
    })
  }))
