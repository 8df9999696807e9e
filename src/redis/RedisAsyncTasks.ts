/**
 * `AsyncTasks` runs shared by several workers: a journal in Redis, so a task
 * submitted by one worker is followed by any other that finds its key taken,
 * and a claim on each input, so that workers reading the same input take
 * each one once.
 *
 * Deliveries are shared by `RedisWebhooks`: one replay memory for every
 * receiver, and every delivery seen by every worker's run.
 *
 * @since 0.2.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { Journal } from "../AsyncTasks.js"
import type { LimiterUnavailable } from "../CloroError.js"
import * as ConfigIssues from "../internal/configIssues.js"
import * as DurationHelper from "../internal/duration.js"
import { RedisConfigError, RedisStore } from "./RedisStore.js"

// The journal's interface has no error channel: a write or a read that
// Redis misses is tried again for a while (so a short outage loses nothing),
// and a longer one ends the run as a defect rather than forgetting a task.
const patiently = <A>(effect: Effect.Effect<A, LimiterUnavailable>): Effect.Effect<A> =>
  Effect.orDie(Effect.retry(effect, Schedule.intersect(Schedule.spaced("250 millis"), Schedule.recurs(240))))

/**
 * A `Journal` kept in a Redis hash per job (idempotency key → task id).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const journal = (job: string): Effect.Effect<Journal, never, RedisStore> =>
  Effect.map(RedisStore, (store): Journal => {
    const key = `${store.prefix}job:${job}:tasks`
    const intentsKey = `${store.prefix}job:${job}:intents`
    return {
      // Written before a batch is sent: any worker can tell which keys may already hold a task.
      intend: (items) =>
        items.length === 0 ? Effect.void : patiently(
          Effect.asVoid(store.run("journal", (redis) =>
            redis.hset(intentsKey, Object.fromEntries(items.map((item) => [item.idempotencyKey, item.id ?? ""])))))
        ),
      record: (submitted) =>
        submitted.length === 0 ? Effect.void : patiently(
          Effect.asVoid(store.run("journal", (redis) =>
            redis.hset(key, Object.fromEntries(submitted.map((s) => [s.idempotencyKey, s.taskId])))))
        ),
      lookup: (item) =>
        Effect.map(patiently(store.run("journal", (redis) => redis.hget(key, item.idempotencyKey))), Option.fromNullable)
    }
  })

/**
 * Keeps the inputs this worker claims first (by `id`); the same input seen by
 * another worker of the same `job` is dropped there. A claim lasts `ttl`
 * (default 24 hours) so a job can be run again later under the same name;
 * a `ttl` that is not a positive, finite duration fails the stream with
 * `RedisConfigError`.
 *
 * @since 0.2.0
 * @category Combinators
 */
export const claimed = <A extends { readonly id: string }, E, R>(
  job: string,
  inputs: Stream.Stream<A, E, R>,
  options: { readonly ttl?: Duration.DurationInput | undefined } = {}
): Stream.Stream<A, E | LimiterUnavailable | RedisConfigError, R | RedisStore> =>
  Stream.unwrap(Effect.gen(function*() {
    const store = yield* RedisStore
    const ttl = Math.ceil(Duration.toMillis(
      yield* Either.mapLeft(
        DurationHelper.decode("ttl", options.ttl ?? "24 hours", { zero: false, infinite: false }),
        (issue) => new RedisConfigError(ConfigIssues.fromIssues("RedisAsyncTasks.claimed", [issue]))
      )
    ))
    return Stream.filterEffect(inputs, (input) =>
      Effect.map(
        store.run("journal", (redis) => redis.set(`${store.prefix}job:${job}:claim:${input.id}`, "1", "PX", ttl, "NX")),
        (answer) => answer === "OK"
      ))
  }))
