import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import * as CloroError from "../src/CloroError.js"
import * as Usage from "../src/Usage.js"

const usage = Usage.fromHeaders({ "x-credits-charged": "7", "x-credits-remaining": "93", "x-request-id": "req-1" })
const response = { message: "m", status: 429, requestId: "req-1", usage }

/** One instance of every error class, each with its optional facts set. */
const samples: ReadonlyArray<CloroError.CloroError> = [
  new CloroError.ConcurrentLimitExceeded({
    ...response,
    code: "CONCURRENT_LIMIT_EXCEEDED",
    limit: 5,
    current: 5,
    retryAfter: Duration.seconds(2)
  }),
  new CloroError.RateLimitExceeded({ ...response, limit: 10, retryAfter: Duration.millis(1500.5) }),
  new CloroError.QueueLimitExceeded({ ...response, limit: 1000, retryAfter: Duration.infinity }),
  new CloroError.InsufficientCredits({ ...response, status: 403 }),
  new CloroError.Unauthorized({ ...response, status: 401, code: "INVALID_API_KEY_FORMAT" }),
  new CloroError.InvalidRequest({
    ...response,
    status: 400,
    source: "server",
    issues: [new CloroError.FieldIssue({ field: "prompt", message: "Prompt cannot be empty" })]
  }),
  new CloroError.NotFound({ ...response, status: 404, id: "task-1" }),
  new CloroError.Conflict({ ...response, status: 409, code: "RESOURCE_ALREADY_EXISTS", field: "idempotencyKey", value: "k" }),
  new CloroError.RequestCanceled({ ...response, status: 499 }),
  new CloroError.ServerError({ ...response, status: 502, code: "EXTERNAL_SERVICE_ERROR", service: "openai" }),
  new CloroError.ServiceUnavailable({ ...response, status: 503, retryAfter: Duration.seconds(30) }),
  new CloroError.UnexpectedStatus({ ...response, status: 418, code: "TEAPOT" }),
  new CloroError.TransportError({ message: "reset", method: "POST", path: "/v1/monitor/chatgpt" }),
  new CloroError.Timeout({ message: "slow", method: "POST", path: "/v1/monitor/chatgpt", timeout: Duration.minutes(3), mayBeCharged: true }),
  new CloroError.ResponseDecodeError({
    ...response,
    status: 200,
    path: "/v1/monitor/chatgpt",
    description: "result.text: Expected string",
    body: "{\"success\":true}",
    bodyTruncated: false
  }),
  new CloroError.BudgetExceeded({ message: "b", estimate: 7, spent: 95, reserved: 0, budget: 100, balance: 50, tag: "acme" }),
  new CloroError.AdmissionTimeout({ message: "t", limiter: "concurrency", waited: Duration.seconds(10) }),
  new CloroError.AdmissionQueueFull({ message: "q", limiter: "rate", maxWaiting: 100 }),
  new CloroError.LimiterUnavailable({ message: "redis down", limiter: "concurrency", reason: "ECONNREFUSED" })
]

describe("CloroError", () => {
  it("has one sample per member of the union", () => {
    expect(new Set(samples.map((e) => e._tag)).size).toBe(CloroError.CloroError.members.length)
  })

  it.each(samples.map((error) => [error._tag, error] as const))("%s encodes to JSON and decodes back", (_, error) => {
    const encoded = Schema.encodeSync(CloroError.CloroError)(error)
    const json: unknown = JSON.parse(JSON.stringify(encoded))
    expect(json).toEqual(encoded) // nothing was lost on the way through JSON
    const decoded = Schema.decodeUnknownEither(CloroError.CloroError)(json)
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isRight(decoded)) {
      expect(decoded.right).toBeInstanceOf(error.constructor)
      expect(decoded.right).toEqual(error)
      expect(Schema.encodeSync(CloroError.CloroError)(decoded.right)).toEqual(encoded)
    }
  })

  it("durations travel as milliseconds, or \"Infinity\"", () => {
    const encoded = Schema.encodeSync(CloroError.DurationMillis)
    expect(encoded(Duration.seconds(2))).toBe(2000)
    expect(encoded(Duration.infinity)).toBe("Infinity")
    expect(Schema.decodeUnknownSync(CloroError.DurationMillis)(250)).toEqual(Duration.millis(250))
    expect(Either.isLeft(Schema.decodeUnknownEither(CloroError.DurationMillis)(-1))).toBe(true)
  })

  it("every error class and the union have a JSON Schema", () => {
    for (const member of CloroError.CloroError.members) {
      expect(() => JSONSchema.fromAST(member.ast, { definitions: {} })).not.toThrow()
    }
    expect(() => JSONSchema.make(CloroError.CloroError)).not.toThrow()
  })
})
