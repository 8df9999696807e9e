import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as CloroConfig from "../src/CloroConfig.js"

const KEY = "sk_live_config_test"

describe("CloroConfig", () => {
  it.effect("defaults: the public https URL, 300 s for monitor calls, 60 s for the rest", () =>
    Effect.gen(function*() {
      const config = yield* CloroConfig.make({ apiKey: KEY })
      expect(config.baseUrl).toBe("https://api.cloro.dev")
      expect(Duration.toSeconds(config.monitorTimeout)).toBe(300)
      expect(Duration.toSeconds(config.referenceTimeout)).toBe(60)
      expect(Redacted.isRedacted(config.apiKey)).toBe(true)
      expect(String(config.apiKey)).not.toContain(KEY)
    }))

  it.effect("accepts plain http only on loopback, and trims a trailing slash", () =>
    Effect.gen(function*() {
      for (const url of ["http://127.0.0.1:8080", "http://localhost:3000/", "http://[::1]:9000", "https://proxy.example.com/cloro/"]) {
        const config = yield* CloroConfig.make({ apiKey: KEY, baseUrl: url })
        expect(config.baseUrl.endsWith("/")).toBe(false)
      }
    }))

  it.effect("refuses non-https, malformed URLs, credentials, queries, empty keys, bad timeouts and user agents", () =>
    Effect.gen(function*() {
      const bad: ReadonlyArray<readonly [CloroConfig.CloroConfigOptions, string]> = [
        [{ apiKey: KEY, baseUrl: "http://api.cloro.dev" }, "baseUrl"],
        [{ apiKey: KEY, baseUrl: "http://10.0.0.5" }, "baseUrl"],
        [{ apiKey: KEY, baseUrl: "ftp://api.cloro.dev" }, "baseUrl"],
        [{ apiKey: KEY, baseUrl: "api.cloro.dev" }, "baseUrl"],
        [{ apiKey: KEY, baseUrl: "https://user:pass@api.cloro.dev" }, "baseUrl"],
        [{ apiKey: KEY, baseUrl: "https://api.cloro.dev?x=1" }, "baseUrl"],
        [{ apiKey: "   " }, "apiKey"],
        [{ apiKey: "sk live" }, "apiKey"],
        [{ apiKey: KEY, monitorTimeout: 0 }, "monitorTimeout"],
        [{ apiKey: KEY, referenceTimeout: Duration.infinity }, "referenceTimeout"],
        [{ apiKey: KEY, userAgent: "evil\r\nX-Injected: 1" }, "userAgent"]
      ]
      for (const [options, setting] of bad) {
        const error = yield* Effect.flip(CloroConfig.make(options))
        expect(error._tag).toBe("CloroConfigError")
        expect(error.issues.map((issue) => issue.field)).toEqual([setting])
        expect(error.message).toContain(setting)
        expect(JSON.stringify(error)).not.toContain(KEY)
      }
    }))

  it.effect("layerConfig reads CLORO_API_KEY, CLORO_BASE_URL and the timeouts from the environment", () =>
    Effect.gen(function*() {
      const config = yield* CloroConfig.CloroConfig.pipe(
        Effect.provide(CloroConfig.layerConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([
          ["CLORO_API_KEY", KEY],
          ["CLORO_BASE_URL", "http://127.0.0.1:4010"],
          ["CLORO_MONITOR_TIMEOUT", "120 seconds"]
        ])))
      )
      expect(Redacted.value(config.apiKey)).toBe(KEY)
      expect(config.baseUrl).toBe("http://127.0.0.1:4010")
      expect(Duration.toSeconds(config.monitorTimeout)).toBe(120)
    }))

  it.effect("layerConfig without CLORO_API_KEY fails with a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        CloroConfig.CloroConfig.pipe(
          Effect.provide(CloroConfig.layerConfig()),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
        )
      )
      expect(String(error)).toContain("CLORO_API_KEY")
    }))
})

describe("CloroConfig traps", () => {
  it.effect("trap: CloroConfig.make({ apiKey: undefined }) (an unset variable in plain JS) fails typed", () =>
    Effect.gen(function*() {
      // @ts-expect-error plain JS
      const error = yield* Effect.flip(CloroConfig.make({ apiKey: undefined }))
      expect(error).toMatchObject({ _tag: "CloroConfigError", issues: [{ field: "apiKey" }] })
      // the field `setting` of 0.3 is kept as a deprecated getter
      expect(error.setting).toBe("apiKey")
      // @ts-expect-error plain JS
      expect((yield* Effect.flip(CloroConfig.make(undefined)))._tag).toBe("CloroConfigError")
      // @ts-expect-error plain JS
      expect((yield* Effect.flip(CloroConfig.make({ apiKey: "k", baseUrl: 42 })))._tag).toBe("CloroConfigError")
      expect((yield* Effect.flip(CloroConfig.make({ apiKey: "k", monitorTimeout: "-5 seconds" }))).message).toContain(
        "must not be negative"
      )
    }))

  it.effect("maxResponseBytes defaults to 32 MiB and refuses nonsense", () =>
    Effect.gen(function*() {
      expect((yield* CloroConfig.make({ apiKey: KEY })).maxResponseBytes).toBe(32 * 1024 * 1024)
      expect((yield* Effect.flip(CloroConfig.make({ apiKey: KEY, maxResponseBytes: 0 })))._tag).toBe("CloroConfigError")
    }))
})
