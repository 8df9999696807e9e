import * as Headers from "@effect/platform/Headers"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Crypto from "node:crypto"
import * as Webhooks from "../src/Webhooks.js"

const secret = "whsec_5f0b2c1e9d"
const otherSecret = "whsec_rotated_77"
const signedAt = 1_767_225_600 // 2026-01-01T00:00:00Z

const taskId = (n: number) => `b27a21e1-7c39-4aa2-a347-23e828c4${String(n).padStart(4, "0")}`

const completedBody = (n = 1) =>
  JSON.stringify({
    task: {
      id: taskId(n),
      taskType: "CHATGPT",
      status: "COMPLETED",
      priority: 1,
      createdAt: "2026-01-01T00:00:00.000Z",
      latencyMs: 41250,
      idempotencyKey: null
    },
    credits: { creditsToCharge: 5, creditsCharged: 5 },
    response: { text: `answer ${n}`, sources: [{ position: 1, url: "https://acme.example" }] }
  })

const failedBody = JSON.stringify({
  task: { id: taskId(9), taskType: "GOOGLE", status: "FAILED", priority: 3, createdAt: "2026-01-01T00:00:00.000Z" },
  credits: { creditsToCharge: 3, creditsCharged: 0 },
  response: { error: { code: "INTERNAL_SERVER_ERROR", message: "Maximum retries exceeded" } }
})

const headersFor = (body: string, options: { readonly n?: number; readonly attempt?: number; readonly key?: string } = {}) =>
  Webhooks.signedHeaders({
    secret: options.key ?? secret,
    // cloro signs each attempt when it sends it, so a redelivery carries a later timestamp
    timestampSeconds: signedAt + (options.attempt ?? 1) - 1,
    rawBody: body,
    webhookId: `${taskId(options.n ?? 1)}-${options.attempt ?? 1}`
  })

const atSigningTime = TestClock.setTime(signedAt * 1000)

describe("Webhooks.sign", () => {
  it("is v1=<hex HMAC-SHA256(secret, \"<timestamp>.<body>\")>", () => {
    const body = completedBody()
    const expected = Crypto.createHmac("sha256", secret).update(`${signedAt}.${body}`).digest("hex")
    expect(Webhooks.sign(secret, signedAt, body)).toBe(`v1=${expected}`)
  })

  it("signs bytes like the equivalent string, and a Redacted secret like its value", () => {
    const body = completedBody()
    const signature = Webhooks.sign(secret, signedAt, body)
    expect(Webhooks.sign(secret, signedAt, new TextEncoder().encode(body))).toBe(signature)
    expect(Webhooks.sign(Redacted.make(secret), signedAt, body)).toBe(signature)
    expect(Webhooks.sign(otherSecret, signedAt, body)).not.toBe(signature)
    expect(Webhooks.sign(secret, signedAt + 1, body)).not.toBe(signature)
  })
})

describe("Webhooks.verify", () => {
  it.effect("round-trips a signed delivery into a typed event", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const body = completedBody()
      const event = yield* Webhooks.verify(Redacted.make(secret), headersFor(body, { attempt: 2 }), body)
      expect(event.verified).toBe(true)
      expect(event.webhookId).toBe(`${taskId(1)}-2`)
      expect(event.attempt).toBe(2)
      expect(event.timestamp).toBe(signedAt + 1)
      const state = event.state
      if (state.status !== "COMPLETED" || state.taskType !== "CHATGPT") throw new Error("expected a ChatGPT completion")
      expect(state.result.text).toBe("answer 1")
      expect(state.result.sources[0]?.url).toBe("https://acme.example")
    }))

  it.effect("decodes a FAILED delivery with its error, from raw bytes", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const bytes = new TextEncoder().encode(failedBody)
      const event = yield* Webhooks.verify(secret, headersFor(failedBody, { n: 9 }), bytes)
      expect(event.state.status === "FAILED" && event.state.error.message).toBe("Maximum retries exceeded")
    }))

  it.effect("reads the headers case-insensitively, from a record or Headers", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const body = completedBody()
      const signed = headersFor(body)
      const lower = Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toLowerCase(), v]))
      const upper = Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toUpperCase(), v]))
      for (const headers of [lower, upper, Headers.fromInput(signed)]) {
        const event = yield* Webhooks.verify(secret, headers, body)
        expect(event.state.task.id).toBe(taskId(1))
      }
    }))

  it.effect("refuses a wrong secret, a tampered body and a tampered timestamp", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const body = completedBody()
      const wrongSecret = yield* Effect.flip(Webhooks.verify(otherSecret, headersFor(body), body))
      const tampered = yield* Effect.flip(Webhooks.verify(secret, headersFor(body), body.replace("answer 1", "answer 2")))
      const retimed = yield* Effect.flip(
        Webhooks.verify(secret, { ...headersFor(body), "X-Cloro-Timestamp": String(signedAt + 1) }, body)
      )
      for (const error of [wrongSecret, tampered, retimed]) {
        expect(error._tag).toBe("WebhookSignatureInvalid")
        expect(error._tag === "WebhookSignatureInvalid" && error.reason).toBe("Mismatch")
        expect(error._tag === "WebhookSignatureInvalid" && error.webhookId).toBe(`${taskId(1)}-1`)
      }
    }))

  it.effect("never accepts a signature made with an empty secret (an unset environment variable)", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const body = completedBody()
      // anyone can compute HMAC-SHA256 under an empty key, so such a "signature" proves nothing
      const forged = headersFor(body, { key: "" })
      for (const configured of ["", Redacted.make(""), ["", ""]] as const) {
        const error = yield* Effect.flip(Webhooks.verify(configured, forged, body))
        expect(error._tag).toBe("WebhookSignatureInvalid")
      }
      // an empty entry beside a real secret is skipped; the real one still verifies
      expect((yield* Webhooks.verify(["", secret], headersFor(body), body)).verified).toBe(true)
      expect(yield* Effect.flip(Webhooks.verify(["", secret], forged, body))).toMatchObject({ reason: "Mismatch" })
    }))

  it.effect("names a missing or malformed header", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const body = completedBody()
      const { "X-Cloro-Signature": signature, "X-Cloro-Timestamp": timestamp } = headersFor(body)
      const reasonOf = (headers: Record<string, string>) =>
        Effect.flip(Webhooks.verify(secret, headers, body)).pipe(
          Effect.map((e) => (e._tag === "WebhookSignatureInvalid" ? e.reason : e._tag))
        )
      expect(yield* reasonOf({ "X-Cloro-Timestamp": timestamp ?? "" })).toBe("MissingSignature")
      expect(yield* reasonOf({ "X-Cloro-Signature": signature ?? "" })).toBe("MissingTimestamp")
      expect(yield* reasonOf({ "X-Cloro-Signature": signature ?? "", "X-Cloro-Timestamp": "yesterday" })).toBe(
        "MalformedTimestamp"
      )
      expect(yield* reasonOf({ "X-Cloro-Signature": signature ?? "", "X-Cloro-Timestamp": "-1" })).toBe(
        "MalformedTimestamp"
      )
      for (const malformed of ["", "v1=", "v1=zz", "v1 abc", "sha256=" + "a".repeat(64), (signature ?? "").slice(0, 40)]) {
        expect(yield* reasonOf({ "X-Cloro-Signature": malformed, "X-Cloro-Timestamp": timestamp ?? "" })).toBe(
          "MalformedSignature"
        )
      }
    }))

  it.effect("refuses a timestamp older than the tolerance", () =>
    Effect.gen(function*() {
      const body = completedBody()
      yield* TestClock.setTime((signedAt + 300) * 1000)
      yield* Webhooks.verify(secret, headersFor(body), body) // exactly at the edge: accepted
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Webhooks.verify(secret, headersFor(body), body))
      expect(error).toMatchObject({
        _tag: "WebhookTimestampStale",
        timestamp: signedAt,
        now: signedAt + 301,
        toleranceSeconds: 300,
        webhookId: `${taskId(1)}-1`
      })
      expect(error.message).toContain("301s ago")
      // a wider tolerance accepts it
      yield* Webhooks.verify(secret, headersFor(body), body, { toleranceSeconds: 600 })
    }))

  it.effect("refuses a timestamp too far in the future", () =>
    Effect.gen(function*() {
      const body = completedBody()
      yield* TestClock.setTime((signedAt - 301) * 1000)
      const error = yield* Effect.flip(Webhooks.verify(secret, headersFor(body), body))
      expect(error._tag).toBe("WebhookTimestampStale")
      expect(error.message).toContain("in the future")
      yield* Webhooks.verify(secret, headersFor(body), body, { toleranceSeconds: 301 })
    }))

  it.effect("accepts any matching signature of several (secret rotation)", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const body = completedBody()
      const oldSig = Webhooks.sign(otherSecret, signedAt, body)
      const newSig = Webhooks.sign(secret, signedAt, body)
      const withSignature = (value: string) => ({ ...headersFor(body), "X-Cloro-Signature": value })
      for (const value of [`${oldSig},${newSig}`, `${oldSig}, ${newSig}`, `${newSig} ${oldSig}`, `v0=abc, ${newSig}`]) {
        const event = yield* Webhooks.verify(secret, withSignature(value), body)
        expect(event.verified).toBe(true)
      }
      // several secrets on our side: the old one still verifies while rotating
      yield* Webhooks.verify([Redacted.make(secret), Redacted.make(otherSecret)], withSignature(oldSig), body)
      const none = yield* Effect.flip(Webhooks.verify([secret], withSignature(`${oldSig}, v1=zz`), body))
      expect(none._tag === "WebhookSignatureInvalid" && none.reason).toBe("Mismatch")
      // many v1= entries (issue 14): 1,000 wrong ones are refused with the typed error, not a crash or a hang;
      // the right one among them still verifies
      const wrong = Array.from({ length: 1_000 }, (_, i) => Webhooks.sign(`${otherSecret}${i}`, signedAt, body)).join(", ")
      const many = yield* Effect.flip(Webhooks.verify(secret, withSignature(wrong), body))
      expect(many._tag).toBe("WebhookSignatureInvalid")
      console.log(`webhook signature with 1,000 v1= entries, none ours: refused as ${many._tag}`)
      const event = yield* Webhooks.verify(secret, withSignature(`${wrong}, ${newSig}`), body)
      expect(event.verified).toBe(true)
    }))

  it.effect("refuses a signed body that is not a finished task", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      for (
        const body of [
          "not json",
          JSON.stringify({ task: { id: "x" } }),
          completedBody().replace("\"COMPLETED\"", "\"QUEUED\"")
        ]
      ) {
        const error = yield* Effect.flip(Webhooks.verify(secret, headersFor(body), body))
        expect(error._tag).toBe("WebhookPayloadInvalid")
        expect(error._tag === "WebhookPayloadInvalid" && error.description.length).toBeGreaterThan(0)
      }
    }))

  it.effect("never puts the secret in an error", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const body = completedBody()
      const error = yield* Effect.flip(Webhooks.verify(Redacted.make(otherSecret), headersFor(body), body))
      expect(JSON.stringify(error)).not.toContain(otherSecret)
      expect(String(error)).not.toContain(otherSecret)
    }))
})

describe("Webhooks.decode", () => {
  it.effect("decodes an unsigned delivery", () =>
    Effect.gen(function*() {
      const event = yield* Webhooks.decode({ "x-cloro-webhook-id": `${taskId(9)}-3` }, failedBody)
      expect(event).toMatchObject({ verified: false, attempt: 3, webhookId: `${taskId(9)}-3` })
      expect(event).not.toHaveProperty("timestamp")
    }))
})

// ---------------------------------------------------------------------------
// receiver
// ---------------------------------------------------------------------------

const post = (body: string, headers: Record<string, string>, path = "/hooks/cloro") =>
  new Request(`http://localhost${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } })

const call = <R>(app: HttpApp.Default<never, R>, request: Request) =>
  app.pipe(
    Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(request)),
    Effect.flatMap((response) => {
      const web = HttpServerResponse.toWeb(response)
      return Effect.promise(() => web.json()).pipe(Effect.map((body) => ({ status: web.status, body })))
    })
  )

describe("Webhooks.makeReceiver", () => {
  it.scoped("accepts a delivery once and acknowledges its redelivery", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const receiver = yield* Webhooks.makeReceiver({ secret: Redacted.make(secret), path: "/hooks/cloro" })
      const collected = yield* receiver.events.pipe(Stream.take(2), Stream.runCollect, Effect.fork)

      const first = yield* call(receiver.app, post(completedBody(1), headersFor(completedBody(1))))
      expect(first).toEqual({ status: 200, body: { received: true, duplicate: false } })
      const again = yield* call(receiver.app, post(completedBody(1), headersFor(completedBody(1), { attempt: 2 })))
      expect(again).toEqual({ status: 200, body: { received: true, duplicate: true } })
      const other = yield* call(receiver.app, post(completedBody(2), headersFor(completedBody(2), { n: 2 })))
      expect(other.status).toBe(200)

      const events = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      expect(events.map((e) => [e.state.task.id, e.attempt])).toEqual([[taskId(1), 1], [taskId(2), 1]])
    }))

  it.scoped("answers 401 for a bad signature or a stale timestamp, 400 for a bad body", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const receiver = yield* Webhooks.makeReceiver({ secret, path: "/hooks/cloro" })
      const body = completedBody()

      const forged = yield* call(receiver.app, post(body, headersFor(body, { key: otherSecret })))
      expect(forged.status).toBe(401)
      expect(forged.body).toMatchObject({ error: { code: "WebhookSignatureInvalid" } })
      const unsigned = yield* call(receiver.app, post(body, {}))
      expect(unsigned.status).toBe(401)

      const garbage = "{\"task\": 1}"
      const bad = yield* call(receiver.app, post(garbage, headersFor(garbage)))
      expect(bad.status).toBe(400)
      expect(bad.body).toMatchObject({ error: { code: "WebhookPayloadInvalid" } })

      yield* TestClock.adjust("10 minutes")
      const stale = yield* call(receiver.app, post(body, headersFor(body)))
      expect(stale.status).toBe(401)
      expect(stale.body).toMatchObject({ error: { code: "WebhookTimestampStale" } })

      // none of the refusals claimed the task: a good delivery is still accepted
      yield* TestClock.setTime(signedAt * 1000)
      const good = yield* call(receiver.app, post(body, headersFor(body)))
      expect(good.body).toEqual({ received: true, duplicate: false })
      const [event] = Chunk.toReadonlyArray(yield* receiver.events.pipe(Stream.take(1), Stream.runCollect))
      expect(event?.state.task.id).toBe(taskId(1))
    }))

  it.scoped("answers 405 for another method and 404 for another path", () =>
    Effect.gen(function*() {
      const receiver = yield* Webhooks.makeReceiver({ secret, path: "/hooks/cloro" })
      const get = yield* call(receiver.app, new Request("http://localhost/hooks/cloro", { method: "GET" }))
      expect(get.status).toBe(405)
      const elsewhere = yield* call(receiver.app, post(completedBody(), headersFor(completedBody()), "/other"))
      expect(elsewhere.status).toBe(404)
      const withQuery = yield* call(receiver.app, post("x", {}, "/hooks/cloro?source=cloro"))
      expect(withQuery.status).toBe(401)
    }))

  it.scoped("refuses to start without a secret; with the loudly named opt-out, decodes unsigned deliveries", () =>
    Effect.gen(function*() {
      for (const options of [{}, { secret: undefined }, { secret: "" }, { secret: [] }, { secret: ["whsec_x", ""] }]) {
        const error = yield* Effect.flip(Webhooks.makeReceiver(options))
        expect(error).toMatchObject({ _tag: "WebhookConfigError", issues: [{ field: "secret" }] })
      }
      const receiver = yield* Webhooks.makeReceiver({ dangerouslyAcceptUnsignedDeliveries: true })
      const response = yield* call(receiver.app, post(failedBody, {}, "/anywhere"))
      expect(response.status).toBe(200)
      const [event] = Chunk.toReadonlyArray(yield* receiver.events.pipe(Stream.take(1), Stream.runCollect))
      expect(event?.verified).toBe(false)
      expect(event?.state.status).toBe("FAILED")
      expect((yield* call(receiver.app, post("[]", {}))).status).toBe(400)
    }))

  it.scoped("refuses with 503 while its buffer is full, and accepts the retry once drained", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const receiver = yield* Webhooks.makeReceiver({ secret, bufferSize: 1 })
      expect((yield* call(receiver.app, post(completedBody(1), headersFor(completedBody(1))))).status).toBe(200)
      const full = yield* call(receiver.app, post(completedBody(2), headersFor(completedBody(2), { n: 2 })))
      expect(full.status).toBe(503)
      yield* receiver.events.pipe(Stream.take(1), Stream.runDrain)
      const retried = yield* call(receiver.app, post(completedBody(2), headersFor(completedBody(2), { n: 2, attempt: 2 })))
      expect(retried.body).toEqual({ received: true, duplicate: false })
    }))

  it.scoped("forgets the oldest task ids beyond its dedupe capacity", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const receiver = yield* Webhooks.makeReceiver({ secret, dedupeCapacity: 1 })
      const deliver = (n: number, attempt: number) =>
        call(receiver.app, post(completedBody(n), headersFor(completedBody(n), { n, attempt }))).pipe(
          Effect.map((response) => response.body)
        )
      expect(yield* deliver(1, 1)).toEqual({ received: true, duplicate: false })
      expect(yield* deliver(1, 2)).toEqual({ received: true, duplicate: true })
      expect(yield* deliver(2, 1)).toEqual({ received: true, duplicate: false })
      // task 1 was evicted to make room for task 2
      expect(yield* deliver(1, 3)).toEqual({ received: true, duplicate: false })
    }))

  it.scoped("refuses a replay for the whole tolerance window, however many deliveries came in between", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      // a dedupe capacity of 2 once let a replay through after two other deliveries
      const receiver = yield* Webhooks.makeReceiver({ secret, dedupeCapacity: 2 })
      const events = yield* receiver.events.pipe(Stream.runCollect, Effect.fork)
      const deliver = (n: number) =>
        call(receiver.app, post(completedBody(n), headersFor(completedBody(n), { n }))).pipe(
          Effect.map((response) => response.body)
        )
      expect(yield* deliver(1)).toEqual({ received: true, duplicate: false })
      for (let n = 2; n <= 50; n++) expect(yield* deliver(n)).toEqual({ received: true, duplicate: false })
      // the same signed request again, 4 minutes later: still inside the 300 s tolerance
      yield* TestClock.adjust("4 minutes")
      expect(yield* deliver(1)).toEqual({ received: true, duplicate: true })
      yield* TestClock.adjust("59 seconds")
      expect(yield* deliver(2)).toEqual({ received: true, duplicate: true })
      // past the window `verify` refuses it as stale
      yield* TestClock.adjust("2 seconds")
      expect((yield* call(receiver.app, post(completedBody(3), headersFor(completedBody(3), { n: 3 })))).status).toBe(401)
      yield* Fiber.interrupt(events)
    }))

  it.effect("ends its stream and answers 503 once its scope is closed", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const receiver = yield* Effect.scoped(Webhooks.makeReceiver({ secret }))
      expect(Chunk.size(yield* Stream.runCollect(receiver.events))).toBe(0)
      expect((yield* call(receiver.app, post(completedBody(), headersFor(completedBody())))).status).toBe(503)
    }))
})

describe("Webhooks.makeHandler", () => {
  it.effect("calls the handler once per task, and again after it failed", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const failNext = yield* Ref.make(true)
      const app = yield* Webhooks.makeHandler({
        secret,
        onEvent: (event) =>
          Ref.update(seen, (ids) => [...ids, `${event.state.task.id}#${event.attempt}`]).pipe(
            Effect.zipRight(Ref.getAndSet(failNext, false)),
            Effect.flatMap((fail) => (fail ? Effect.fail("database down") : Effect.void))
          )
      })
      const body = completedBody()
      const failed = yield* call(app, post(body, headersFor(body, { attempt: 1 })))
      expect(failed.status).toBe(500)
      const retried = yield* call(app, post(body, headersFor(body, { attempt: 2 })))
      expect(retried.body).toEqual({ received: true, duplicate: false })
      const duplicate = yield* call(app, post(body, headersFor(body, { attempt: 3 })))
      expect(duplicate.body).toEqual({ received: true, duplicate: true })
      expect(yield* Ref.get(seen)).toEqual([`${taskId(1)}#1`, `${taskId(1)}#2`])
    }))

  it.effect("does not acknowledge a redelivery while the first hand-over is still running, so its failure loses nothing", () =>
    Effect.gen(function*() {
      yield* atSigningTime
      const started = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const calls = yield* Ref.make(0)
      const app = yield* Webhooks.makeHandler({
        secret,
        onEvent: () =>
          Ref.getAndUpdate(calls, (n) => n + 1).pipe(
            Effect.flatMap((n) =>
              n === 0
                ? Deferred.succeed(started, undefined).pipe(
                  Effect.zipRight(Deferred.await(gate)),
                  Effect.zipRight(Effect.fail("database down"))
                )
                : Effect.void
            )
          )
      })
      const body = completedBody()
      const first = yield* Effect.fork(call(app, post(body, headersFor(body, { attempt: 1 }))))
      yield* Deferred.await(started)
      // cloro timed the first attempt out and retries while it is still being handled
      const concurrent = yield* call(app, post(body, headersFor(body, { attempt: 2 })))
      expect(concurrent.status).toBeGreaterThanOrEqual(300)
      yield* Deferred.succeed(gate, undefined)
      expect((yield* Fiber.join(first)).status).toBe(500)
      const retried = yield* call(app, post(body, headersFor(body, { attempt: 3 })))
      expect(retried.body).toEqual({ received: true, duplicate: false })
      expect(yield* Ref.get(calls)).toBe(2)
    }))
})

describe("Webhooks receiver settings", () => {
  it.scoped("refuses settings that would quietly weaken it", () =>
    Effect.gen(function*() {
      const bad = [{ toleranceSeconds: -1 }, { toleranceSeconds: Number.NaN }, { dedupeCapacity: 0 }, { dedupeCapacity: 1.5 }, { bufferSize: 0 }]
      for (const options of bad) {
        const error = yield* Effect.flip(Webhooks.makeReceiver({ secret, ...options }))
        expect(error._tag).toBe("WebhookConfigError")
        expect(error.issues.map((issue) => issue.field)).toEqual(Object.keys(options))
      }
      const handlerError = yield* Effect.flip(Webhooks.makeHandler({ secret, dedupeCapacity: -3, onEvent: () => Effect.void }))
      expect(handlerError.issues.map((issue) => issue.field)).toEqual(["dedupeCapacity"])
    }))

  it.scoped("turns any JS value given to its entry points into a typed error, never a throw", () =>
    Effect.gen(function*() {
      const anything: ReadonlyArray<unknown> = [undefined, null, 42, "x", [], { secret: 7 }, { secret, path: 3 }]
      for (const value of anything) {
        const receiver: Webhooks.MakeReceiverOptions = JSON.parse(JSON.stringify(value ?? null))
        const error = yield* Effect.flip(Webhooks.makeReceiver(receiver))
        expect(error._tag).toBe("WebhookConfigError")
      }
      const noHandler: Webhooks.MakeHandlerOptions<never, never> = JSON.parse(JSON.stringify({ secret }))
      expect(yield* Effect.flip(Webhooks.makeHandler(noHandler))).toMatchObject({ issues: [{ field: "onEvent" }] })
      const body = completedBody()
      const weird: ReadonlyArray<[unknown, unknown]> = [
        [undefined, undefined],
        [{ "x-cloro-signature": 5, "x-cloro-timestamp": ["a", 1] }, body],
        [42, body],
        [[["x-cloro-signature"]], body],
        [headersFor(body), { not: "a body" }]
      ]
      for (const [headers, raw] of weird) {
        const asHeaders: Record<string, string> = JSON.parse(JSON.stringify(headers ?? {}))
        const asBody: string = JSON.parse(JSON.stringify(raw ?? null))
        const refused = yield* Effect.flip(Webhooks.verify(secret, asHeaders, asBody))
        expect(["WebhookSignatureInvalid", "WebhookPayloadInvalid"]).toContain(refused._tag)
        // decoding checks no signature: a good body decodes whatever the headers, anything else is refused
        const decoded = yield* Effect.either(Webhooks.decode(asHeaders, asBody))
        expect(decoded._tag).toBe(asBody === body ? "Right" : "Left")
      }
      const badSecret: string = JSON.parse("12")
      expect(yield* Effect.flip(Webhooks.verify(badSecret, headersFor(body), body))).toMatchObject({ reason: "Mismatch" })
    }))
})
