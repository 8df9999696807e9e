import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as Cli from "../../src/cli/Cli.js"
import * as Environment from "../../src/cli/Environment.js"
import { cli, fastSimulator, makeConsole } from "./harness.js"

/** package.json's version, read as npm reads it. */
const packageVersion = (): unknown => {
  const parsed: unknown = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
  return typeof parsed === "object" && parsed !== null && "version" in parsed ? parsed.version : undefined
}

describe("cloro --version", () => {
  // It printed 0.2.0 from 0.2.0 to 0.8.0: scripts/sync-version.mjs now writes it at release, and this catches a release without it.
  it("is package.json's version", () => {
    expect(Cli.version).toBe(packageVersion())
  })

  it.live("prints it", () =>
    Effect.gen(function*() {
      const console = yield* makeConsole()
      const captured: Array<string> = []
      const original = globalThis.console.log
      globalThis.console.log = (...args: Array<unknown>) => captured.push(args.join(" "))
      const result = yield* cli(console, ["--version"]).pipe(
        Effect.ensuring(Effect.sync(() => {
          globalThis.console.log = original
        }))
      )
      expect(result.code).toBe(0)
      expect(`${captured.join("\n")}${result.stdout}`).toContain(String(packageVersion()))
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator()))))
})
