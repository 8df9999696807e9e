/**
 * The Redis connection the shared limits run on.
 *
 * cloro's limits are per account, so workers that share an API key must share
 * their counts too. Every shared layer in `cloro-effect/redis` takes its
 * connection from this service: one for commands and one for the slot
 * hand-over notifications (pub/sub); `RedisWebhooks.deliveries` opens one of
 * its own for its blocking reads, with the same options.
 *
 * Commands fail fast while Redis is unreachable (no retry of a command, a
 * short command timeout) so a limiter can fail closed with
 * `LimiterUnavailable` at once instead of piling requests up behind a dead
 * socket; the connection keeps reconnecting in the background and work
 * resumes when Redis returns.
 *
 * @since 0.2.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { Redis } from "ioredis"
import { LimiterUnavailable } from "../CloroError.js"
import * as ConfigIssues from "../internal/configIssues.js"
import * as DurationHelper from "../internal/duration.js"

/**
 * What a shared limiter does when Redis cannot be reached: `"fail"` (the
 * default) refuses with `LimiterUnavailable`, so the account's limits are
 * never overshot silently; `{ workers }` falls back to local limits of
 * `limit / workers` in each process until Redis answers again.
 *
 * The fallback is a breaker: after one failed trip the limiters go straight
 * to their local limits, without trying Redis per call, while a background
 * probe (a `PING` every `probe`, default 1 second) checks whether Redis is
 * back.
 *
 * @since 0.2.0
 * @category Models
 */
export type OnUnavailable = "fail" | {
  readonly fallback: { readonly workers: number; readonly probe?: Duration.DurationInput | undefined }
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` (or `rediss://` for TLS). */
  readonly url: string | Redacted.Redacted<string>
  /** Prefix of every key and channel; one per account. Default `"cloro:"`. */
  readonly prefix?: string | undefined
  /** How long one command may take before it counts as a failure. Default 2 seconds. */
  readonly commandTimeout?: Duration.DurationInput | undefined
  /** See `OnUnavailable`. Default `"fail"`. */
  readonly onUnavailable?: OnUnavailable | undefined
}

/**
 * How the store's connections are opened (ioredis options).
 *
 * @since 0.2.0
 * @category Models
 */
export interface Connection {
  readonly host: string
  readonly port: number
  readonly username?: string
  readonly password?: string
  readonly db: number
  readonly tls?: Record<string, never>
  readonly enableOfflineQueue: boolean
  readonly maxRetriesPerRequest: number
  readonly commandTimeout: number
  readonly connectTimeout: number
  readonly retryStrategy: (times: number) => number
  readonly lazyConnect: boolean
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface RedisStoreShape {
  /** the command connection */
  readonly client: Redis
  /** a connection in subscriber mode, for slot hand-over notifications */
  readonly subscriber: Redis
  /** how the connections were opened, for readers that need their own (blocking reads) */
  readonly connection: Connection
  readonly prefix: string
  readonly onUnavailable: OnUnavailable
  /**
   * Runs one command (one round trip), mapping any failure to
   * `LimiterUnavailable` for `limiter`.
   */
  readonly run: <A>(
    limiter: LimiterUnavailable["limiter"],
    command: (client: Redis) => Promise<A>
  ) => Effect.Effect<A, LimiterUnavailable>
  /**
   * With a fallback (`OnUnavailable`): `undefined` while Redis is taken to be
   * up; after a failed trip, what completes once the probe reaches Redis
   * again. Always `undefined` when failing closed.
   */
  readonly down: Effect.Effect<Deferred.Deferred<void> | undefined>
  /** Counts a round trip made outside `run` (by a store with its own connection). */
  readonly countRoundTrip: Effect.Effect<void>
  /** Round trips made so far, for benchmarks. */
  readonly roundTrips: Effect.Effect<number>
}

/**
 * @since 0.2.0
 * @category Tags
 */
export class RedisStore extends Context.Tag("cloro-effect/redis/RedisStore")<RedisStore, RedisStoreShape>() {}

const reasonOf = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/**
 * The store's settings were refused (a URL that is not `redis://` or
 * `rediss://`, a bad port or database, a command timeout that is not a
 * positive duration). The URL itself is never in the message: it may hold a
 * password.
 *
 * @since 0.2.0
 * @category Errors
 */
export class RedisConfigError extends Schema.TaggedError<RedisConfigError>()("RedisConfigError", ConfigIssues.fields) {
  /**
   * The name of the first bad setting.
   *
   * @deprecated Read `issues[0].field`; every config error now lists its issues. Removed in a later version.
   * @since 0.2.0
   */
  get setting(): string {
    return this.issues[0]?.field ?? "options"
  }
}

const parseUrl = (url: string): Either.Either<URL, RedisConfigError> => {
  const refuse = (why: string) =>
    Either.left(new RedisConfigError(ConfigIssues.one("RedisStore", "url", why)))
  if (!URL.canParse(url)) return refuse("cannot be parsed (expected redis://[user:password@]host[:port][/db])")
  const parsed = new URL(url)
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    return refuse(`has the scheme ${JSON.stringify(parsed.protocol)}; expected redis: or rediss:`)
  }
  if (parsed.pathname.length > 1 && !/^\/\d{1,2}$/.test(parsed.pathname)) {
    return refuse("names a database that is not a number")
  }
  return Either.right(parsed)
}

/**
 * Opens the two connections; they are closed when the scope closes. The layer
 * does not wait for Redis to answer: while it is unreachable, shared limits
 * fail (or fall back) per request, and they recover by themselves.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (options: RedisStoreOptions) =>
  Effect.gen(function*() {
    const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
    const parsed = yield* parseUrl(typeof url === "string" ? url : "")
    const timeout = yield* Either.mapLeft(
      DurationHelper.decode("commandTimeout", options.commandTimeout ?? "2 seconds", { zero: false, infinite: false }),
      (issue) => new RedisConfigError(ConfigIssues.fromIssues("RedisStore", [issue]))
    )
    const commandTimeout = Duration.toMillis(timeout)
    const onUnavailable = options.onUnavailable ?? "fail"
    const probeEvery = onUnavailable === "fail" ? undefined : yield* Either.mapLeft(
      DurationHelper.decode("onUnavailable.fallback.probe", onUnavailable.fallback.probe ?? "1 second", {
        zero: false,
        infinite: false
      }),
      (issue) => new RedisConfigError(ConfigIssues.fromIssues("RedisStore", [issue]))
    )
    const connection: Connection = {
      host: parsed.hostname || "127.0.0.1",
      port: parsed.port === "" ? 6379 : Number(parsed.port),
      ...(parsed.username === "" ? {} : { username: decodeURIComponent(parsed.username) }),
      ...(parsed.password === "" ? {} : { password: decodeURIComponent(parsed.password) }),
      db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
      ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
      // Queued only while a connection attempt is under way; a failed attempt
      // fails them at once (maxRetriesPerRequest 0).
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      commandTimeout,
      connectTimeout: commandTimeout,
      // keep trying, at most a second apart, so work resumes soon after Redis returns
      retryStrategy: (times: number) => Math.min(50 * times, 1000),
      lazyConnect: false
    }
    const connect = () => new Redis(connection)
    const quit = (redis: Redis) =>
      Effect.promise(() => redis.quit().catch(() => redis.disconnect())).pipe(Effect.asVoid)
    const client = yield* Effect.acquireRelease(Effect.sync(connect), quit)
    const subscriber = yield* Effect.acquireRelease(Effect.sync(connect), quit)
    // ioredis reports connection errors as events; without a listener Node prints them as unhandled.
    for (const redis of [client, subscriber]) redis.on("error", () => undefined)
    const trips = yield* Ref.make(0)
    const scope = yield* Effect.scope
    // The breaker: set after a failed trip (with a fallback only), cleared by the probe.
    const breaker = yield* Ref.make<Deferred.Deferred<void> | undefined>(undefined)
    // A PING every `every` until one answers (each counted as a trip); then the breaker closes.
    const probe = (every: Duration.Duration, back: Deferred.Deferred<void>): Effect.Effect<void> =>
      Effect.sleep(every).pipe(
        // `Schedule.spaced` never gives up, so the retried PING cannot fail: `orDie` only says so to the types.
        Effect.zipRight(Effect.orDie(Effect.retry(
          Effect.zipRight(Ref.update(trips, (n) => n + 1), Effect.tryPromise(() => client.ping())),
          Schedule.spaced(every)
        ))),
        Effect.zipRight(Ref.set(breaker, undefined)),
        Effect.zipRight(Deferred.succeed(back, undefined)),
        Effect.asVoid
      )
    const trip = probeEvery === undefined ? Effect.void : Effect.flatMap(Deferred.make<void>(), (fresh) =>
      Effect.flatMap(
        Ref.modify(breaker, (open) => (open === undefined ? [true, fresh] : [false, open])),
        (opened) => (opened ? Effect.asVoid(Effect.forkIn(probe(probeEvery, fresh), scope)) : Effect.void)
      ))
    const run = <A>(limiter: LimiterUnavailable["limiter"], command: (client: Redis) => Promise<A>) =>
      Effect.zipRight(
        Ref.update(trips, (n) => n + 1),
        Effect.tryPromise({
          try: () => command(client),
          catch: (cause) =>
            new LimiterUnavailable({
              message: `The shared ${limiter} store (Redis) could not be reached`,
              limiter,
              reason: reasonOf(cause)
            })
        }).pipe(Effect.tapError(() => trip))
      )
    return RedisStore.of({
      client,
      subscriber,
      connection,
      prefix: options.prefix ?? "cloro:",
      onUnavailable,
      run,
      down: Ref.get(breaker),
      countRoundTrip: Ref.update(trips, (n) => n + 1),
      roundTrips: Ref.get(trips)
    })
  })

/**
 * @since 0.2.0
 * @category Layers
 */
export const layer = (options: RedisStoreOptions): Layer.Layer<RedisStore, RedisConfigError> =>
  Layer.scoped(RedisStore, make(options))

/**
 * Reads the URL from `CLORO_REDIS_URL` (a secret: it may hold a password) and
 * the key prefix from `CLORO_REDIS_PREFIX` (default `"cloro:"`).
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerConfig = (
  options: Omit<RedisStoreOptions, "url" | "prefix"> = {}
): Layer.Layer<RedisStore, ConfigError.ConfigError | RedisConfigError> =>
  Layer.scoped(
    RedisStore,
    Effect.flatMap(
      Config.all({
        url: Config.redacted("CLORO_REDIS_URL"),
        prefix: Config.withDefault(Config.string("CLORO_REDIS_PREFIX"), "cloro:")
      }),
      ({ prefix, url }) => make({ ...options, url, prefix })
    )
  )

/**
 * A script's or a transaction's reply as strings: Redis answers with arrays
 * of numbers, strings and nils, typed `unknown` by ioredis.
 *
 * @since 0.2.0
 * @category Utils
 */
export const replyStrings = (reply: unknown): ReadonlyArray<string> =>
  Array.isArray(reply) ? reply.map((item) => (item === null || item === undefined ? "" : String(item))) : []

/**
 * A hash reply (`HGETALL`) as a record of strings.
 *
 * @since 0.2.0
 * @category Utils
 */
export const replyRecord = (reply: unknown): Readonly<Record<string, string>> =>
  typeof reply === "object" && reply !== null && !Array.isArray(reply)
    ? Object.fromEntries(Object.entries(reply).map(([key, value]) => [key, String(value)]))
    : {}
