import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Stream } from "effect"
import { ConcurrencyLimiter, Credits } from "../../src/index.js"
import { RedisAsyncTasks, RedisConcurrencyLimiter, RedisCredits, RedisStore } from "../../src/redis/index.js"
import { freePort, freshPrefix, redisUrl } from "./harness.js"

/** A ledger as one worker would build it: its own connections, the shared key. */
const worker = (url: string, prefix: string, options: RedisCredits.Options = {}) =>
  Layer.build(RedisCredits.layer(options).pipe(Layer.provide(RedisStore.layer({ url, prefix })))).pipe(
    Effect.map((context) => Context.get(context, Credits.Credits))
  )

describe.skipIf(redisUrl === undefined)("RedisCredits", () => {
  it.scopedLive("a budget holds across workers, and spend per tag and the balance are shared", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const a = yield* worker(redisUrl ?? "", prefix, { budget: 10 })
      const b = yield* worker(redisUrl ?? "", prefix)
      const first = yield* a.reserve(6, "alpha")
      const refused = yield* Effect.flip(b.reserve(6, "beta"))
      expect(refused).toMatchObject({ _tag: "BudgetExceeded", spent: 0, reserved: 6, budget: 10 })
      yield* first.settle(5, 95)
      const second = yield* b.reserve(5, "beta")
      yield* second.settle(4)
      const snapshot = yield* a.snapshot
      expect(snapshot).toMatchObject({ spent: 9, reserved: 0, budget: 10, balance: 91, spentByTag: { alpha: 5, beta: 4 } })
      // a task's charge counts once, whichever worker settles it
      const held = yield* a.reserve(1, "gamma")
      yield* held.holdForTask("task-1")
      yield* b.settleTask("task-1", 1)
      yield* a.settleTask("task-1", 1)
      expect(yield* b.snapshot).toMatchObject({ spent: 10, reserved: 0, spentByTag: { gamma: 1 }, pendingTasks: 0 })
    }))

  it.scopedLive("fails closed with LimiterUnavailable when Redis cannot be reached", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const ledger = yield* worker(`redis://127.0.0.1:${port}`, freshPrefix())
      const error = yield* Effect.flip(ledger.reserve(1))
      expect(error).toMatchObject({ _tag: "LimiterUnavailable", limiter: "credits" })
      const limiter = yield* Layer.build(
        RedisConcurrencyLimiter.layer({ limit: 2 }).pipe(
          Layer.provide(RedisStore.layer({ url: `redis://127.0.0.1:${port}`, prefix: freshPrefix() }))
        )
      )
      const slots = Context.get(limiter, ConcurrencyLimiter.ConcurrencyLimiter)
      const refused = yield* Effect.flip(slots.withPermit(Effect.succeed(1)))
      expect(refused).toMatchObject({ _tag: "LimiterUnavailable", limiter: "concurrency" })
    }))
})

describe.skipIf(redisUrl === undefined)("RedisAsyncTasks", () => {
  it.scopedLive("workers reading the same inputs take each once, and find each other's tasks in the journal", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const store = (p: string) => Layer.build(RedisStore.layer({ url: redisUrl ?? "", prefix: p }))
      const [one, two] = [yield* store(prefix), yield* store(prefix)]
      const inputs = Stream.range(1, 50).pipe(Stream.map((n) => ({ id: `q-${n}` })))
      const take = (context: Context.Context<RedisStore.RedisStore>) =>
        RedisAsyncTasks.claimed("job-1", inputs).pipe(Stream.runCollect, Effect.provide(context))
      const [a, b] = yield* Effect.all([take(one), take(two)], { concurrency: 2 })
      const ids = [...a, ...b].map((input) => input.id).sort()
      expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => `q-${i + 1}`).sort())
      const journalOne = yield* Effect.provide(RedisAsyncTasks.journal("job-1"), one)
      const journalTwo = yield* Effect.provide(RedisAsyncTasks.journal("job-1"), two)
      yield* journalOne.record([{ id: "q-1", index: 0, idempotencyKey: "k-1", taskId: "task-1" }])
      expect(yield* journalTwo.lookup({ id: "q-1", index: 0, idempotencyKey: "k-1" })).toEqual(Option.some("task-1"))
      expect(yield* journalTwo.lookup({ id: "q-2", index: 1, idempotencyKey: "k-2" })).toEqual(Option.none())
    }))
})
