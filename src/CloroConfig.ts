/**
 * How to reach cloro: the API key, the base URL, timeouts and the user agent.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as ConfigIssues from "./internal/configIssues.js"
import * as DurationHelper from "./internal/duration.js"
import * as Input from "./internal/request/input.js"
import { version } from "./internal/version.js"

/**
 * The configuration was refused: one issue per bad setting (`field` its
 * name) and a message listing them. Never holds the key.
 *
 * @since 0.1.0
 * @category Errors
 */
export class CloroConfigError extends Schema.TaggedError<CloroConfigError>()("CloroConfigError", ConfigIssues.fields) {
  /**
   * The name of the first bad setting.
   *
   * @deprecated Read `issues[0].field`; every config error now lists its issues. Removed in a later version.
   * @since 0.1.0
   */
  get setting(): string {
    return this.issues[0]?.field ?? "options"
  }
}

/** The one issue of a refused setting. */
const refused = (setting: string, message: string): CloroConfigError =>
  new CloroConfigError(ConfigIssues.one("CloroConfig", setting, message))

/**
 * Default base URL of the API.
 *
 * @since 0.1.0
 * @category Constants
 */
export const DEFAULT_BASE_URL = "https://api.cloro.dev"

/**
 * Sync monitor calls may take minutes: cloro retries upstream for up to five
 * minutes before answering, so a shorter client timeout would abandon (and
 * still pay for) requests that were about to succeed.
 *
 * @since 0.1.0
 * @category Constants
 */
export const DEFAULT_MONITOR_TIMEOUT: Duration.Duration = Duration.seconds(300)

/**
 * Reference, polling and async-submit endpoints answer at once; a minute is generous.
 *
 * @since 0.1.0
 * @category Constants
 */
export const DEFAULT_REFERENCE_TIMEOUT: Duration.Duration = Duration.seconds(60)

/**
 * The longest response body the client reads by default: 32 MiB, far above
 * the largest cloro answer (a Google search with every page and its HTML),
 * far below what a never-ending body would take of a process.
 *
 * @since 0.2.0
 * @category Constants
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024

/**
 * The configuration every part of the client reads.
 *
 * @since 0.1.0
 * @category Models
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
  /** The longest response body read, in bytes; a longer one fails the call with `ResponseDecodeError`. */
  readonly maxResponseBytes: number
}

/**
 * Options of `CloroConfig.layer` and `CloroConfig.make`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CloroConfigOptions {
  readonly apiKey: Redacted.Redacted<string> | string
  readonly baseUrl?: string | undefined
  readonly monitorTimeout?: Duration.DurationInput | undefined
  readonly referenceTimeout?: Duration.DurationInput | undefined
  /** Sent as `User-Agent` (default `cloro-effect/<the package's version>`). */
  readonly userAgent?: string | undefined
  /** The longest response body read, in bytes (default 32 MiB). */
  readonly maxResponseBytes?: number | undefined
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
 * @category Tags
 */
export class CloroConfig extends Context.Tag("cloro-effect/CloroConfig")<CloroConfig, CloroConfigShape>() {}

const loopbackHosts = new Set(["localhost", "127.0.0.1", "::1", "[::1]"])

const isLoopback = (hostname: string): boolean =>
  loopbackHosts.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname) || hostname.endsWith(".localhost")

const checkBaseUrl = (raw: string): Effect.Effect<string, CloroConfigError> => {
  const refuse = (message: string) => Effect.fail(refused("baseUrl", message))
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return refuse(`not an absolute URL: ${Input.show(raw)}`)
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
  input: unknown,
  fallback: Duration.Duration
): Effect.Effect<Duration.Duration, CloroConfigError> =>
  Either.match(DurationHelper.decodeOptional(setting, input, { zero: false, infinite: false }), {
    onLeft: (issue) => Effect.fail(new CloroConfigError(ConfigIssues.fromIssues("CloroConfig", [issue]))),
    onRight: (duration) => Effect.succeed(duration ?? fallback)
  })

/**
 * Checks options and builds the configuration: a missing or empty key, a
 * malformed or non-https base URL (loopback excepted), a non-positive timeout
 * or any value of the wrong type is a `CloroConfigError`, never a throw.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: CloroConfigOptions): Effect.Effect<CloroConfigShape, CloroConfigError> =>
  Input.guard(
    () =>
      Effect.gen(function*() {
        const given = yield* ConfigIssues.options("CloroConfig", options, (fields) => new CloroConfigError(fields))
        const rawKey = given.apiKey
        const key = Redacted.isRedacted(rawKey) ? Redacted.value(rawKey) : rawKey
        if (typeof key !== "string") {
          return yield* refused(
            "apiKey",
            rawKey === undefined
              ? "is missing (is CLORO_API_KEY set?)"
              : `must be a string or a Redacted string, got ${typeof key}`
          )
        }
        if (key.trim().length === 0) {
          return yield* refused("apiKey", "is empty")
        }
        if (/\s/.test(key)) {
          return yield* refused("apiKey", "contains white space")
        }
        const apiKey = Redacted.make(key)
        const userAgent = given.userAgent
        // A header value with control characters would make the HTTP client throw at send time.
        if (userAgent !== undefined && !(typeof userAgent === "string" && /^[\x20-\x7e]{1,200}$/.test(userAgent))) {
          return yield* refused("userAgent", "must be 1–200 printable ASCII characters")
        }
        const baseUrl = given.baseUrl ?? DEFAULT_BASE_URL
        if (typeof baseUrl !== "string") {
          return yield* refused("baseUrl", `must be a string, got ${Input.show(baseUrl)}`)
        }
        const maxResponseBytes = given.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
        if (!(typeof maxResponseBytes === "number" && Number.isSafeInteger(maxResponseBytes) && maxResponseBytes >= 1)) {
          return yield* refused("maxResponseBytes", `must be a whole number ≥ 1, got ${Input.show(maxResponseBytes)}`)
        }
        return {
          apiKey,
          baseUrl: yield* checkBaseUrl(baseUrl),
          monitorTimeout: yield* checkTimeout("monitorTimeout", given.monitorTimeout, DEFAULT_MONITOR_TIMEOUT),
          referenceTimeout: yield* checkTimeout("referenceTimeout", given.referenceTimeout, DEFAULT_REFERENCE_TIMEOUT),
          userAgent: userAgent ?? `cloro-effect/${version}`,
          maxResponseBytes
        }
      }),
    (cause) => new CloroConfigError(ConfigIssues.unreadable("CloroConfig", cause))
  )

/**
 * A layer from explicit options.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: CloroConfigOptions): Layer.Layer<CloroConfig, CloroConfigError> =>
  Layer.effect(CloroConfig, make(options))

/**
 * A layer from Effect `Config`: by default `CLORO_API_KEY` (required),
 * `CLORO_BASE_URL`, `CLORO_MONITOR_TIMEOUT` and `CLORO_REFERENCE_TIMEOUT`
 * (durations such as `"300 seconds"`).
 *
 * @since 0.1.0
 * @category Layers
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
