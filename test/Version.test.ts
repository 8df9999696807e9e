import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as Cli from "../src/cli/Cli.js"
import * as Environment from "../src/cli/Environment.js"
import * as CloroConfig from "../src/CloroConfig.js"
import { cli, fastSimulator, makeConsole } from "./cli/harness.js"

/** package.json's version, read once as npm reads it. */
const packageVersion: unknown = (() => {
  const parsed: unknown = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8"))
  return typeof parsed === "object" && parsed !== null && "version" in parsed ? parsed.version : undefined
})()

// The CLI said 0.2.0 and the User-Agent 0.1.0 through 0.8.0: scripts/sync-version.mjs now writes the
// version at release (npm run changeset:version), and these fail on a release that skipped it.
describe("the package's version", () => {
  it("is what cloro --version says", () => {
    expect(Cli.version).toBe(packageVersion)
  })

  it.live("cloro --version prints it", () =>
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
      expect(`${captured.join("\n")}${result.stdout}`).toContain(String(packageVersion))
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator()))))

  it.effect("is in the default User-Agent, and a given one replaces it", () =>
    Effect.gen(function*() {
      const byDefault = yield* CloroConfig.make({ apiKey: "sk_test" })
      expect(byDefault.userAgent).toBe(`cloro-effect/${String(packageVersion)}`)
      const given = yield* CloroConfig.make({ apiKey: "sk_test", userAgent: "my-app/2.1" })
      expect(given.userAgent).toBe("my-app/2.1")
    }))
})
