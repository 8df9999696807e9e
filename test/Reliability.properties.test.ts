/**
 * Property tests (RELIABILITY.md) over what the server sends: any headers and
 * any answer, in any case and shape, become a Usage of plain counts and one
 * typed outcome. Each prints how many cases it tried.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Cause from "effect/Cause"
import fc from "fast-check"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as Usage from "../src/Usage.js"
import * as MockHttp from "./support/mockHttp.js"

const knownHeaders = [
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-Credits-Charged",
  "X-Credits-Remaining",
  "X-Concurrency-Limit",
  "X-Concurrency-Current",
  "X-Concurrency-Remaining",
  "X-Concurrent-Limit",
  "X-Concurrent-Current",
  "X-Concurrent-Remaining",
  "X-Request-Id",
  "X-Latency-Ms",
  "Retry-After"
]

/** A header name in any case: a known one with its letters flipped at random, or any token. */
const headerName = fc.oneof(
  fc.tuple(fc.constantFrom(...knownHeaders), fc.array(fc.boolean(), { minLength: 24, maxLength: 24 })).map(
    ([name, flips]) => [...name].map((c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join("")
  ),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/)
)

/** Values a broken proxy or a future server might send. */
const headerValue = fc.oneof(
  fc.nat().map(String),
  fc.integer({ min: -1_000_000, max: -1 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.constantFrom("", " ", "1e3", "0x10", "12abc", "Infinity", "NaN", "  42  ", "9".repeat(40), "-0", "1.5"),
  fc.string({ maxLength: 30 }).filter((s) => !/[\r\n\0]/.test(s))
)

const counts = (usage: Usage.Usage): ReadonlyArray<number | undefined> => [
  usage.rateLimit.limit,
  usage.rateLimit.remaining,
  usage.credits.charged,
  usage.credits.remaining,
  usage.concurrency.limit,
  usage.concurrency.current,
  usage.concurrency.remaining,
  usage.latencyMs
]

const knownTags = new Set([
  "ConcurrentLimitExceeded",
  "RateLimitExceeded",
  "QueueLimitExceeded",
  "InsufficientCredits",
  "Unauthorized",
  "InvalidRequest",
  "NotFound",
  "Conflict",
  "RequestCanceled",
  "ServerError",
  "ServiceUnavailable",
  "UnexpectedStatus",
  "TransportError",
  "Timeout",
  "ResponseDecodeError"
])

const knownCodes = [
  "CONCURRENT_LIMIT_EXCEEDED",
  "CONCURRENCY_LIMIT_EXCEEDED",
  "RATE_LIMIT_EXCEEDED",
  "QUEUE_LIMIT_EXCEEDED",
  "INSUFFICIENT_CREDITS",
  "UNAUTHORIZED",
  "INVALID_API_KEY",
  "VALIDATION_ERROR",
  "NOT_FOUND",
  "RESOURCE_ALREADY_EXISTS",
  "INTERNAL_SERVER_ERROR",
  "SERVICE_UNAVAILABLE",
  "REQUEST_CANCELED"
]

/** Any body: text, any JSON, and envelopes of every shape with known or unknown codes. */
const body = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc.record({
    success: fc.boolean(),
    error: fc.oneof(
      fc.record(
        {
          code: fc.oneof(fc.constantFrom(...knownCodes), fc.string({ maxLength: 20 }), fc.integer()),
          message: fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null)),
          details: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ limit: fc.oneof(fc.integer(), fc.string()) }))
        },
        { requiredKeys: [] }
      ),
      fc.string({ maxLength: 40 }),
      fc.constant(null)
    )
  }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
  fc.record({ code: fc.constantFrom(...knownCodes), message: fc.string({ maxLength: 20 }) }).map((value) =>
    JSON.stringify(value)
  ),
  // A real answer of the endpoint under test, so that 2xx cases also reach the result.
  fc.record({ remaining: fc.nat(), perCycle: fc.oneof(fc.nat(), fc.constant(null)), cycleResetsAt: fc.constant(null) })
    .map((value) => JSON.stringify(value))
)

const answerable = (status: number) => status >= 200 && status < 300 && status !== 204 && status !== 205

/** Whether a body is the credits endpoint's own answer shape (as the last body generator builds it). */
const isCreditsAnswer = (body: string): boolean => {
  try {
    const json: unknown = JSON.parse(body)
    return typeof json === "object" && json !== null && !Array.isArray(json) &&
      Object.keys(json).sort().join(",") === "cycleResetsAt,perCycle,remaining"
  } catch {
    return false
  }
}

describe("properties of what the server sends", () => {
  it("any headers, in any case, give a Usage of absent or non-negative whole counts and never throw", () => {
    let cases = 0
    fc.assert(
      fc.property(fc.dictionary(headerName, headerValue, { maxKeys: 14 }), (headers) => {
        cases++
        const usage = Usage.fromHeaders(headers)
        for (const count of counts(usage)) {
          expect(count === undefined || (Number.isSafeInteger(count) && count >= 0)).toBe(true)
        }
        const retryAfter = Usage.retryAfterMillis(headers, 1_700_000_000_000)
        expect(retryAfter === undefined || (Number.isFinite(retryAfter) && retryAfter >= 0)).toBe(true)
      }),
      { numRuns: 5_000, seed: 14 }
    )
    console.log(`header parsing: ${cases} cases, 0 throws, 0 negative or fractional counts`)
    expect(cases).toBe(5_000)
  })

  it.effect("any status and body map to exactly one outcome: a result on 2xx, one known CloroError tag otherwise", () =>
    Effect.gen(function*() {
      const samples = fc.sample(
        fc.record({
          status: fc.oneof(fc.integer({ min: 200, max: 599 }), fc.constantFrom(200, 400, 401, 403, 404, 409, 422, 429, 499, 500, 503)),
          body,
          headers: fc.dictionary(headerName, headerValue, { maxKeys: 6 })
        }),
        { numRuns: 800, seed: 14 }
      )
      const byTag: Record<string, number> = {}
      for (const sample of samples) {
        const { layer } = yield* MockHttp.layer(() =>
          Effect.succeed({ status: sample.status, headers: sample.headers, body: sample.body })
        )
        const context = yield* Layer.build(
          Cloro.layer({ apiKey: "sk_test_properties" }, {
            retry: "none",
            monitor: "silent",
            concurrency: "unlimited",
            rateLimit: "unlimited"
          }).pipe(Layer.provide(layer))
        ).pipe(Effect.scoped)
        const client = Context.get(context, CloroClient.CloroClient)
        const exit = yield* Effect.exit(client.account.credits())
        if (Exit.isSuccess(exit)) {
          expect(sample.status).toBeGreaterThanOrEqual(200)
          expect(sample.status).toBeLessThan(300)
          byTag["ok"] = (byTag["ok"] ?? 0) + 1
        } else {
          const failure = Cause.failureOption(exit.cause)
          if (Cause.isDie(exit.cause)) console.log(JSON.stringify(sample), Cause.pretty(exit.cause))
          expect(Cause.isDie(exit.cause)).toBe(false)
          expect(failure._tag).toBe("Some")
          if (failure._tag === "Some") {
            expect(knownTags.has(failure.value._tag)).toBe(true)
            // A real credits answer with a 2xx status is never refused (204 and 205 cannot carry one).
            expect(answerable(sample.status) && isCreditsAnswer(sample.body)).toBe(false)
            byTag[failure.value._tag] = (byTag[failure.value._tag] ?? 0) + 1
          }
        }
      }
      console.log(`error envelopes: ${samples.length} cases, outcomes ${JSON.stringify(byTag)}`)
      expect(Object.values(byTag).reduce((a, b) => a + b, 0)).toBe(samples.length)
    }), { timeout: 120_000 })
})
