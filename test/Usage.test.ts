import { describe, expect, it } from "@effect/vitest"
import * as Usage from "../src/Usage.js"

describe("Usage.fromHeaders", () => {
  it("reads every header, case-insensitively", () => {
    const usage = Usage.fromHeaders({
      "X-RateLimit-Limit": "1000",
      "x-ratelimit-remaining": "998",
      "X-CREDITS-CHARGED": "7",
      "X-Credits-Remaining": "4993",
      "X-Concurrency-Limit": "10",
      "x-concurrency-current": "3",
      "X-Concurrency-Remaining": "7",
      "X-Request-ID": "req_1",
      "X-Latency-Ms": "1234"
    })
    expect(usage.rateLimit).toEqual({ limit: 1000, remaining: 998 })
    expect(usage.credits).toEqual({ charged: 7, remaining: 4993 })
    expect(usage.concurrency).toEqual({ limit: 10, current: 3, remaining: 7 })
    expect(usage.requestId).toBe("req_1")
    expect(usage.latencyMs).toBe(1234)
  })

  it("reads the older X-Concurrent-* spelling", () => {
    const usage = Usage.fromHeaders({ "x-concurrent-limit": "20", "X-Concurrent-Current": "20", "X-CONCURRENT-REMAINING": "0" })
    expect(usage.concurrency).toEqual({ limit: 20, current: 20, remaining: 0 })
  })

  it("prefers the newer spelling when both are present", () => {
    const usage = Usage.fromHeaders({ "x-concurrent-limit": "20", "x-concurrency-limit": "50" })
    expect(usage.concurrency.limit).toBe(50)
  })

  it("turns garbage into absent fields, never a failure", () => {
    const usage = Usage.fromHeaders({
      "x-ratelimit-limit": "lots",
      "x-ratelimit-remaining": "-1",
      "x-credits-charged": "1e3",
      "x-credits-remaining": "",
      "x-concurrency-limit": "12abc",
      "x-latency-ms": "NaN",
      "x-request-id": "   "
    })
    expect(usage.rateLimit.limit).toBeUndefined()
    expect(usage.rateLimit.remaining).toBeUndefined()
    expect(usage.credits.charged).toBeUndefined()
    expect(usage.credits.remaining).toBeUndefined()
    expect(usage.concurrency.limit).toBeUndefined()
    expect(usage.latencyMs).toBeUndefined()
    expect(usage.requestId).toBeUndefined()
  })

  it("gives an empty usage for no headers", () => {
    expect(Usage.fromHeaders({})).toEqual(Usage.empty)
  })
})

describe("Usage.retryAfterMillis", () => {
  it("reads delta-seconds", () => {
    expect(Usage.retryAfterMillis({ "Retry-After": "30" }, 0)).toBe(30_000)
  })
  it("reads an HTTP date relative to now", () => {
    const now = Date.parse("2026-11-28T10:00:00Z")
    expect(Usage.retryAfterMillis({ "retry-after": "Sat, 28 Nov 2026 10:00:05 GMT" }, now)).toBe(5_000)
  })
  it("ignores garbage", () => {
    expect(Usage.retryAfterMillis({ "retry-after": "soon" }, 0)).toBeUndefined()
    expect(Usage.retryAfterMillis({}, 0)).toBeUndefined()
  })
})
