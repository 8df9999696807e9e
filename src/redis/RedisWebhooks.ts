/**
 * Webhook receivers shared by several workers through Redis: one replay
 * memory for all of them, and every accepted delivery made visible to every
 * worker, so a delivery that reaches worker B completes the task worker A
 * submitted and is waiting for.
 *
 * Deliveries are appended to a Redis stream per job (`XADD`) before the
 * receiver answers 2xx, so a delivery cloro was told was received is never
 * only in one process's memory; each worker's `AsyncTasks.run` reads the
 * stream (`XREAD BLOCK`, on a connection of its own) and takes the tasks it
 * follows, ignoring the others. Each task is recorded once, whichever worker
 * received its first attempt: cloro's later attempts reaching other workers
 * are acknowledged without a second entry.
 *
 * @example
 * ```ts
 * import { AsyncTasks } from "cloro-effect"
 * import { RedisWebhooks } from "cloro-effect/redis"
 * import { Effect, Redacted } from "effect"
 *
 * const worker = Effect.gen(function*() {
 *   // served at https://hooks.example.com/hooks/cloro by every worker
 *   const app = yield* RedisWebhooks.makeHandler("nightly", { secret: Redacted.make("whsec_...") })
 *   const events = yield* RedisWebhooks.deliveries("nightly")
 *   return { app, run: (inputs: ReadonlyArray<AsyncTasks.RunRequest>) =>
 *     AsyncTasks.run(inputs, { webhooks: { events, url: "https://hooks.example.com/hooks/cloro" } }) }
 * })
 * ```
 *
 * @since 0.2.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { Redis } from "ioredis"
import type { LimiterUnavailable } from "../CloroError.js"
import * as ConfigIssues from "../internal/configIssues.js"
import * as DurationHelper from "../internal/duration.js"
import * as Task from "../Task.js"
import * as Webhooks from "../Webhooks.js"
import * as LuaScript from "./internal/luaScript.js"
import { RedisConfigError, RedisStore, replyStrings } from "./RedisStore.js"

/**
 * A `Webhooks.ReplayStore` in Redis: a signed delivery is claimed with
 * `SET NX PX` for the rest of its tolerance window, so a replay reaching any
 * receiver that shares the prefix is refused. The key expires by itself when
 * `verify` would refuse the delivery as stale anyway.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const replayStore: Effect.Effect<Webhooks.ReplayStore, never, RedisStore> = Effect.map(
  RedisStore,
  (store): Webhooks.ReplayStore => {
    const keyOf = (key: string) => `${store.prefix}webhooks:replay:${key}`
    return {
      claim: (key, expiresAtMillis, nowMillis) =>
        Effect.map(
          store.run("webhooks", (redis) =>
            // relative (PX), so receivers' clocks need not agree with Redis's
            redis.set(keyOf(key), "1", "PX", Math.max(1, Math.ceil(expiresAtMillis - nowMillis)), "NX")),
          (answer) => answer === "OK"
        ),
      release: (key) =>
        store.run("webhooks", (redis) => redis.del(keyOf(key))).pipe(
          Effect.asVoid,
          // not forgotten: cloro's retry is refused as a replay until the window ends, then polled for
          Effect.catchAll((error) => Effect.logWarning("cloro: could not release a webhook replay claim", error.reason))
        )
    }
  }
)

const streamKey = (prefix: string, job: string) => `${prefix}job:${job}:deliveries`
const recordedKey = (prefix: string, job: string) => `${prefix}job:${job}:recorded`

// KEYS: stream, recorded (hash: task id → stream entry id)
// ARGV: task id, ttl seconds, max length, then the entry's fields and values
// Appends the delivery unless its task was recorded already (cloro's next
// attempt reaching another worker): claim and append in one step, so two
// workers receiving attempts of one task at once record it once.
// Returns 1 when appended, 0 when the task was recorded before.
const recordScript = LuaScript.make(`
if redis.call('HSETNX', KEYS[2], ARGV[1], '') == 0 then return 0 end
local fields = {}
for i = 4, #ARGV do table.insert(fields, ARGV[i]) end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
`)

/**
 * How long a job's deliveries stay in Redis after the last one, and how many
 * are kept at most.
 *
 * @since 0.2.0
 * @category Models
 */
export interface RecordOptions {
  /** Default 24 hours, cloro's idempotency window. */
  readonly ttl?: Duration.DurationInput | undefined
  /** Default 1,000,000 (trimmed approximately). */
  readonly maxLength?: number | undefined
}

/**
 * Appends an accepted delivery to the job's stream, for `deliveries` in every
 * worker, once per task: a later attempt of a task already recorded (cloro
 * delivering again to another worker) is acknowledged without a second entry.
 * Fails with `LimiterUnavailable` when Redis cannot be reached, so the
 * receiver answers 500 and cloro delivers again later. A `ttl` that is not a
 * positive, finite duration is a `RedisConfigError` when the recorder is made.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const record = (
  job: string,
  options: RecordOptions = {}
): Effect.Effect<
  (event: Webhooks.WebhookEvent) => Effect.Effect<void, LimiterUnavailable>,
  RedisConfigError,
  RedisStore
> =>
  Effect.gen(function*() {
    const store = yield* RedisStore
    const keys = [streamKey(store.prefix, job), recordedKey(store.prefix, job)] as const
    const ttl = yield* Either.mapLeft(
      DurationHelper.decode("ttl", options.ttl ?? "24 hours", { zero: false, infinite: false }),
      (issue) => new RedisConfigError(ConfigIssues.fromIssues("RedisWebhooks", [issue]))
    )
    const ttlSeconds = Math.max(1, Math.ceil(Duration.toSeconds(ttl)))
    const maxLength = options.maxLength ?? 1_000_000
    return (event) =>
      Either.match(Task.encodeTaskStatus(event.state), {
        // a decoded state always encodes; were it not to, the delivery is refused and cloro retries
        onLeft: (error) => Effect.die(error),
        onRight: (wire) =>
          store.run("webhooks", (redis) =>
            LuaScript.run(redis, recordScript, keys, [
              event.state.task.id,
              ttlSeconds,
              maxLength,
              "state",
              JSON.stringify(wire),
              "webhookId",
              event.webhookId ?? "",
              "timestamp",
              event.timestamp === undefined ? "" : String(event.timestamp),
              "verified",
              event.verified ? "1" : "0"
            ])).pipe(Effect.asVoid)
      })
  })

/**
 * A webhook handler for a worker of `job`: `Webhooks.makeHandler` with the
 * replay memory in Redis and each accepted delivery recorded for every
 * worker's `deliveries`. Serve it at the URL given to `AsyncTasks.run`.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeHandler = (
  job: string,
  options: Webhooks.ReceiverOptions & RecordOptions
): Effect.Effect<HttpApp.Default, Webhooks.WebhookConfigError | RedisConfigError, RedisStore> =>
  Effect.gen(function*() {
    const onEvent = yield* record(job, options)
    return yield* Webhooks.makeHandler({ ...options, replayStore: yield* replayStore, onEvent })
  })

/** One stream entry's fields as a record. */
const fieldsOf = (flat: ReadonlyArray<unknown>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1])
  return out
}

const eventOf = (fields: Record<string, string>): Either.Either<Webhooks.WebhookEvent, string> => {
  const parsed = Either.try(() => JSON.parse(fields.state ?? "") as unknown)
  if (Either.isLeft(parsed)) return Either.left("its state is not JSON")
  return Either.match(Task.decodeTaskStatus(parsed.right), {
    onLeft: (error) => Either.left(error.message),
    onRight: (state) => {
      if (!Task.isFinished(state)) return Either.left(`its task is ${state.status}, not finished`)
      const attempt = /-(\d{1,9})$/.exec(fields.webhookId ?? "")?.[1]
      const timestamp = Number(fields.timestamp)
      return Either.right({
        state,
        ...(fields.webhookId ? { webhookId: fields.webhookId } : {}),
        ...(attempt === undefined ? {} : { attempt: Number(attempt) }),
        ...(fields.timestamp && Number.isFinite(timestamp) ? { timestamp } : {}),
        verified: fields.verified === "1"
      })
    }
  })
}

/**
 * The stream of every delivery recorded for `job` by any worker, from the first one kept
 * (so one that arrived before this worker started reading is seen too), then
 * as they come. Pass it as `webhooks.events` to `AsyncTasks.run`: the run
 * takes the tasks it follows and ignores the rest. While Redis cannot be
 * reached the stream waits and reads on when it returns (the run's fallback
 * poll covers the gap); it never fails.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const deliveries = (job: string): Effect.Effect<Stream.Stream<Webhooks.WebhookEvent>, never, RedisStore> =>
  Effect.map(RedisStore, (store) => Stream.unwrapScoped(Effect.gen(function*() {
    const key = streamKey(store.prefix, job)
    // XREAD BLOCK holds its connection: a reader of its own, closed with the stream.
    const reader = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const redis = new Redis(store.connection)
        redis.on("error", () => undefined)
        return redis
      }),
      (redis) => Effect.promise(() => redis.quit().catch(() => redis.disconnect()))
    )
    const blockMs = Math.max(10, Math.floor(store.connection.commandTimeout / 2))
    const last = yield* Ref.make("0")
    const readOnce = Effect.gen(function*() {
      const from = yield* Ref.get(last)
      const reply = yield* Effect.tryPromise(() => reader.xread("COUNT", 500, "BLOCK", blockMs, "STREAMS", key, from))
      const entries = reply?.[0]?.[1] ?? []
      const events: Array<Webhooks.WebhookEvent> = []
      for (const [id, flat] of entries) {
        yield* Ref.set(last, id)
        const event = eventOf(fieldsOf(replyStrings(flat)))
        if (Either.isRight(event)) events.push(event.right)
        else yield* Effect.logWarning(`cloro: skipped a shared webhook delivery (${id}): ${event.left}`)
      }
      return Chunk.unsafeFromArray(events)
    }).pipe(
      Effect.catchAll((error) =>
        Effect.logWarning("cloro: could not read shared webhook deliveries", String(error.error)).pipe(
          Effect.zipRight(Effect.sleep("250 millis")),
          Effect.as(Chunk.empty<Webhooks.WebhookEvent>())
        )
      )
    )
    return Stream.repeatEffectChunk(readOnce)
  })))
