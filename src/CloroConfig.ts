/**
 * How to reach cloro: the API key, the base URL, timeouts and the user agent.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * The configuration was refused: which setting and why. Never holds the key.
 *
 * @since 0.1.0
 */
export class CloroConfigError extends Schema.TaggedError<CloroConfigError>()("CloroConfigError", {
  setting: Schema.String,
  message: Schema.String
}) {}

/**
 * Default base URL of the API.
 *
 * @since 0.1.0
 */
export const DEFAULT_BASE_URL = "https://api.cloro.dev"

/**
 * Sync monitor calls may take minutes: cloro retries upstream for up to five
 * minutes before answering, so a shorter client timeout would abandon (and
 * still pay for) requests that were about to succeed.
 *
 * @since 0.1.0
 */
export const DEFAULT_MONITOR_TIMEOUT: Duration.Duration = Duration.seconds(300)

/**
 * Reference, polling and async-submit endpoints answer at once; a minute is generous.
 *
 * @since 0.1.0
 */
export const DEFAULT_REFERENCE_TIMEOUT: Duration.Duration = Duration.seconds(60)

/**
 * The configuration every part of the client reads.
 *
 * @since 0.1.0
 */
export interface CloroConfigShape {
  readonly apiKey: Redacted.Redacted<string>
  /** Base URL without a trailing slash. */
  readonly baseUrl: string
  /** Timeout of sync `/v1/monitor/*` calls (goto excluded). */
  readonly monitorTimeout: Duration.Duration
  /** Timeout of every other call. */
  readonly referenceTimeout: Duration.Duration
  readonly userAgent: string
}

/**
 * Options of `CloroConfig.layer` and `CloroConfig.make`.
 *
 * @since 0.1.0
 */
export interface CloroConfigOptions {
  readonly apiKey: Redacted.Redacted<string> | string
  readonly baseUrl?: string | undefined
  readonly monitorTimeout?: Duration.DurationInput | undefined
  readonly referenceTimeout?: Duration.DurationInput | undefined
  readonly userAgent?: string | undefined
}

/**
 * The client's configuration service.
 *
 * @example
 * ```ts
 * import { CloroConfig } from "cloro-effect"
 * import { Redacted } from "effect"
 *
 * const ConfigLive = CloroConfig.layer({ apiKey: Redacted.make("sk_live_...") })
 * // or, from CLORO_API_KEY / CLORO_BASE_URL:
 * const ConfigFromEnv = CloroConfig.layerConfig()
 * ```
 *
 * @since 0.1.0
 */
export class CloroConfig extends Context.Tag("cloro-effect/CloroConfig")<CloroConfig, CloroConfigShape>() {}

const loopbackHosts = new Set(["localhost", "127.0.0.1", "::1", "[::1]"])

const isLoopback = (hostname: string): boolean =>
  loopbackHosts.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname) || hostname.endsWith(".localhost")

const checkBaseUrl = (raw: string): Effect.Effect<string, CloroConfigError> => {
  const refuse = (message: string) => Effect.fail(new CloroConfigError({ setting: "baseUrl", message }))
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return refuse(`not an absolute URL: ${JSON.stringify(raw)}`)
  }
  // The key travels in a header: plain HTTP is allowed only where it cannot leave the machine.
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
    return refuse(`must use https (plain http is allowed only on loopback): ${url.origin}`)
  }
  if (url.username !== "" || url.password !== "") return refuse("must not carry credentials")
  if (url.search !== "" || url.hash !== "") return refuse("must not carry a query or fragment")
  return Effect.succeed(url.origin + url.pathname.replace(/\/+$/, ""))
}

const checkTimeout = (
  setting: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration
): Effect.Effect<Duration.Duration, CloroConfigError> => {
  if (input === undefined) return Effect.succeed(fallback)
  const decoded = Duration.decodeUnknown(input)
  return Option.match(decoded, {
    onNone: () => Effect.fail(new CloroConfigError({ setting, message: "not a duration" })),
    onSome: (duration) =>
      Duration.greaterThan(duration, Duration.zero) && Duration.isFinite(duration)
        ? Effect.succeed(duration)
        : Effect.fail(new CloroConfigError({ setting, message: "must be a positive, finite duration" }))
  })
}

/**
 * Checks options and builds the configuration: an empty key, a malformed or
 * non-https base URL (loopback excepted) or a non-positive timeout is a
 * `CloroConfigError`.
 *
 * @since 0.1.0
 */
export const make = (options: CloroConfigOptions): Effect.Effect<CloroConfigShape, CloroConfigError> =>
  Effect.gen(function*() {
    const apiKey = Redacted.isRedacted(options.apiKey) ? options.apiKey : Redacted.make(options.apiKey)
    if (Redacted.value(apiKey).trim().length === 0) {
      return yield* new CloroConfigError({ setting: "apiKey", message: "is empty" })
    }
    if (/\s/.test(Redacted.value(apiKey))) {
      return yield* new CloroConfigError({ setting: "apiKey", message: "contains white space" })
    }
    // A header value with control characters would make the HTTP client throw at send time.
    if (options.userAgent !== undefined && !/^[\x20-\x7e]{1,200}$/.test(options.userAgent)) {
      return yield* new CloroConfigError({ setting: "userAgent", message: "must be 1–200 printable ASCII characters" })
    }
    const baseUrl = yield* checkBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL)
    const monitorTimeout = yield* checkTimeout("monitorTimeout", options.monitorTimeout, DEFAULT_MONITOR_TIMEOUT)
    const referenceTimeout = yield* checkTimeout("referenceTimeout", options.referenceTimeout, DEFAULT_REFERENCE_TIMEOUT)
    return {
      apiKey,
      baseUrl,
      monitorTimeout,
      referenceTimeout,
      userAgent: options.userAgent ?? "cloro-effect/0.1.0"
    }
  })

/**
 * A layer from explicit options.
 *
 * @since 0.1.0
 */
export const layer = (options: CloroConfigOptions): Layer.Layer<CloroConfig, CloroConfigError> =>
  Layer.effect(CloroConfig, make(options))

/**
 * A layer from Effect `Config`: by default `CLORO_API_KEY` (required),
 * `CLORO_BASE_URL`, `CLORO_MONITOR_TIMEOUT` and `CLORO_REFERENCE_TIMEOUT`
 * (durations such as `"300 seconds"`).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Config.Wrap<CloroConfigOptions> = {
    apiKey: Config.redacted("CLORO_API_KEY"),
    baseUrl: Config.option(Config.string("CLORO_BASE_URL")).pipe(Config.map(Option.getOrUndefined)),
    monitorTimeout: Config.option(Config.duration("CLORO_MONITOR_TIMEOUT")).pipe(Config.map(Option.getOrUndefined)),
    referenceTimeout: Config.option(Config.duration("CLORO_REFERENCE_TIMEOUT")).pipe(
      Config.map(Option.getOrUndefined)
    )
  }
): Layer.Layer<CloroConfig, CloroConfigError | ConfigError.ConfigError> =>
  Layer.effect(CloroConfig, Effect.flatMap(Config.unwrap(config), make))
