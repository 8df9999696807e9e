/**
 * Redis stopped mid-run, in one process against a redis-server of the test's
 * own: with `onUnavailable: { fallback: { workers } }` the work goes on under
 * local limits of `limit / workers`; without, every call is refused with a
 * typed `LimiterUnavailable`, and a caller that tries again loses nothing and
 * finishes once Redis is back. When Redis returns, calls still waiting in the
 * fallback's local line go back to Redis's, and those the fallback admitted
 * are counted there until they end: the limit holds from the moment Redis
 * is back.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Ref } from "effect"
import { ConcurrencyLimiter, RateLimiter } from "../../src/index.js"
import { RedisConcurrencyLimiter, RedisRateLimiter, RedisStore } from "../../src/redis/index.js"
import { freePort, freshPrefix, kill, redisUrl, startRedis } from "./harness.js"

const LIMIT = 8

const limits = (url: string, onUnavailable: RedisStore.OnUnavailable) =>
  Layer.build(
    Layer.mergeAll(RedisConcurrencyLimiter.layer({ limit: LIMIT }), RedisRateLimiter.layer({ limit: 1000 })).pipe(
      Layer.provide(RedisStore.layer({ url, prefix: freshPrefix(), onUnavailable, commandTimeout: "500 millis" }))
    )
  ).pipe(Effect.map((context) => ({
    slots: Context.get(context, ConcurrencyLimiter.ConcurrencyLimiter),
    rate: Context.get(context, RateLimiter.RateLimiter)
  })))

interface Figures {
  readonly inFlight: number
  /** the most in flight at once while Redis was up, and while it was down */
  readonly peakUp: number
  readonly peakDown: number
  readonly done: number
  readonly refused: Record<string, number>
}

/** `n` calls of 40 ms each, 4 at a time per "caller", through both limiters. */
const workload = (
  limiters: Effect.Effect.Success<ReturnType<typeof limits>>,
  figures: Ref.Ref<Figures>,
  phase: Ref.Ref<Phase>,
  n: number,
  retry: boolean
) => {
  const enter = Effect.flatMap(Ref.get(phase), (now) =>
    Ref.update(figures, (f) => ({
      ...f,
      inFlight: f.inFlight + 1,
      peakUp: now === "up" ? Math.max(f.peakUp, f.inFlight + 1) : f.peakUp,
      peakDown: now === "down" ? Math.max(f.peakDown, f.inFlight + 1) : f.peakDown
    })))
  const leave = Ref.update(figures, (f) => ({ ...f, inFlight: f.inFlight - 1, done: f.done + 1 }))
  const call = (): Effect.Effect<void> =>
    limiters.slots.withPermit(
      Effect.zipRight(limiters.rate.take("/v1/monitor/chatgpt"), Effect.acquireUseRelease(enter, () => Effect.sleep("40 millis"), () => leave))
    ).pipe(
      Effect.catchAll((error) =>
        Ref.update(figures, (f) => ({ ...f, refused: { ...f.refused, [error._tag]: (f.refused[error._tag] ?? 0) + 1 } })).pipe(
          Effect.zipRight(retry ? Effect.zipRight(Effect.sleep("50 millis"), Effect.suspend(call)) : Effect.void)
        )
      )
    )
  return Effect.forEach(Array.from({ length: n }), call, { concurrency: 30, discard: true })
}

/** `switching`: calls admitted under the other regime may still be in flight, so nothing is measured. */
type Phase = "up" | "switching" | "down"

const start: Figures = { inFlight: 0, peakUp: 0, peakDown: 0, done: 0, refused: {} }

describe.skipIf(redisUrl === undefined)("Redis unavailable mid-run", () => {
  it.scopedLive("with a fallback the run goes on under local limits of limit / workers; without, typed refusals and a resume", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const url = `redis://127.0.0.1:${port}`
      let server = yield* Effect.promise(() => startRedis(port))
      yield* Effect.addFinalizer(() => Effect.promise(() => kill(server, "SIGTERM")))

      // With a fallback for 4 workers: 8 / 4 = 2 at once while Redis is down.
      const withFallback = yield* limits(url, { fallback: { workers: 4 } })
      const strict = yield* limits(url, "fail")
      const [figuresA, figuresB] = [yield* Ref.make(start), yield* Ref.make(start)]
      const phase = yield* Ref.make<Phase>("up")
      const runA = yield* Effect.fork(workload(withFallback, figuresA, phase, 200, false))
      const runB = yield* Effect.fork(workload(strict, figuresB, phase, 200, true))
      yield* Effect.sleep("600 millis")
      yield* Ref.set(phase, "switching")
      yield* Effect.promise(() => kill(server, "SIGKILL"))
      const doneAtStop = (yield* Ref.get(figuresB)).done
      const doneAtStopA = (yield* Ref.get(figuresA)).done
      yield* Effect.sleep("200 millis")
      yield* Ref.set(phase, "down")
      yield* Effect.sleep("1500 millis")
      const whileDownA = (yield* Ref.get(figuresA)).done - doneAtStopA
      const whileDownB = (yield* Ref.get(figuresB)).done - doneAtStop
      const downA = yield* Ref.get(figuresA)
      server = yield* Effect.promise(() => startRedis(port))
      // Measured from the moment Redis is back: the calls the fallback admitted still run (2 at
      // most), the ones waiting in its line go back to Redis's, and Redis counts both.
      yield* Ref.set(phase, "up")
      yield* Effect.sleep("1500 millis")
      const afterA = yield* Ref.get(figuresA)
      yield* runA.await
      yield* runB.await
      const [a, b] = [yield* Ref.get(figuresA), yield* Ref.get(figuresB)]
      console.log("Redis stopped mid-run:", {
        withFallback: { ...a, whileDown: whileDownA, inFlightAtReturn: downA.inFlight, doneWithin1500msOfReturn: afterA.done - downA.done },
        strict: { ...b, whileDown: whileDownB }
      })

      // fallback: every call done, none refused, at most limit / workers at once while Redis was down
      expect(a).toMatchObject({ done: 200, refused: {}, inFlight: 0 })
      expect(whileDownA).toBeGreaterThan(0)
      expect(a.peakDown).toBeGreaterThan(0)
      expect(a.peakDown).toBeLessThanOrEqual(LIMIT / 4)
      // from the moment Redis was back too (with the fallback's line draining beside Redis, 8 + 2)
      expect(a.peakUp).toBeLessThanOrEqual(LIMIT)
      // and work went on at Redis's width, not the fallback's: more than limit / workers ran at once
      // (a count, not a rate in wall-clock time, which a busy machine cannot promise)
      expect(a.peakUp).toBeGreaterThan(LIMIT / 4)
      // strict: refused typed while down (calls already admitted finish), and every call done once it returned
      expect(Object.keys(b.refused)).toEqual(["LimiterUnavailable"])
      expect(b.done).toBe(200)
      expect(whileDownB).toBeLessThanOrEqual(LIMIT)
      expect(b.peakUp).toBeLessThanOrEqual(LIMIT)
    }), 60_000)
})
