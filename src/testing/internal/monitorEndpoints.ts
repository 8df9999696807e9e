/**
 * The sync endpoints: `POST /v1/monitor/<engine>` (validate, admit into a
 * concurrency slot with the most the call can cost, answer after the
 * engine's latency, charge the actual price) and Google's `goto` redirect
 * resolver.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Engine from "../../Engine.js"
import * as GoogleGoto from "../../engines/GoogleGoto.js"
import * as Pricing from "../../Pricing.js"
import type { Authenticated } from "./auth.js"
import type { EngineName } from "./config.js"
import { type Context, sample } from "./context.js"
import { generate, resolveRedirect } from "./generators.js"
import * as Prng from "./prng.js"
import * as State from "./state.js"
import {
  type Answer,
  failure,
  invalidJson,
  invalidRequest,
  issueDetails,
  json,
  parseIssues,
  parseJson,
  type SimRequest
} from "./wire.js"

/** @internal */
export const monitor = (
  ctx: Context,
  engine: EngineName,
  request: SimRequest,
  auth: Authenticated,
  seq: number
): Effect.Effect<Answer> =>
  Effect.gen(function*() {
    const { concurrencyHeaders, config, state } = ctx
    const now = yield* Clock.currentTimeMillis
    const parsed = parseJson(request.body)
    if (Either.isLeft(parsed)) return invalidJson(parsed.left, now)
    const validated = Engine.validate(engine, parsed.right)
    if (Either.isLeft(validated)) return invalidRequest(issueDetails(validated.left.issues), now)
    const body = validated.right
    const estimate = Pricing.estimate(engine, body, { mode: "sync" })
    const serve = (account: State.Account) =>
      Effect.gen(function*() {
        const slotHeaders = concurrencyHeaders(account.concurrency, account.inFlight)
        yield* Effect.sleep(Duration.millis(sample(ctx.latencyOf(engine), Prng.make(config.seed, `latency:${seq}`))))
        const generated = generate(engine, ctx.resultPrng(engine, body), body)
        const price = Pricing.charge(engine, body, { mode: "sync", productClusters: generated.productClusters })
        const charged = yield* Ref.modify(state, (s) => State.charge(s, auth.accountId, price))
        const done = yield* Clock.currentTimeMillis
        if (charged === undefined) {
          return failure(403, "INSUFFICIENT_CREDITS", `Insufficient credits: this request costs ${price}`, done, {
            headers: slotHeaders
          })
        }
        return json(200, { success: true, result: generated.result }, {
          ...slotHeaders,
          "X-Credits-Charged": String(price),
          "X-Credits-Remaining": String(charged.balance)
        })
      })
    const release = Ref.update(state, (s) => State.release(s, auth.accountId)).pipe(Effect.zipRight(ctx.wake))
    // Taking the slot and arming its release happen without a gap an interruption could fall into.
    return yield* Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Ref.modify(state, (s) => State.admit(s, auth.accountId, estimate)), (admission) => {
        switch (admission._tag) {
          case "UnknownAccount":
            return Effect.succeed(
              failure(401, "INVALID_OR_EXPIRED_API_KEY", "The API key is invalid or expired", now)
            )
          case "ConcurrencyExceeded":
            return Effect.succeed(failure(
              429,
              config.concurrencyCode,
              `Concurrent request limit reached: your plan allows ${admission.account.concurrency} at once`,
              now,
              {
                details: { limit: admission.account.concurrency },
                headers: concurrencyHeaders(admission.account.concurrency, admission.account.inFlight)
              }
            ))
          case "InsufficientCredits":
            return Effect.succeed(
              failure(403, "INSUFFICIENT_CREDITS", `Insufficient credits: this request costs ${estimate}`, now, {
                details: { required: estimate, remaining: admission.account.balance },
                headers: concurrencyHeaders(admission.account.concurrency, admission.account.inFlight)
              })
            )
          case "Admitted":
            return restore(serve(admission.account)).pipe(Effect.ensuring(release))
        }
      })
    )
  })

/** @internal */
export const goto = (ctx: Context, request: SimRequest, seq: number): Effect.Effect<Answer> =>
  Effect.gen(function*() {
    const { config } = ctx
    const now = yield* Clock.currentTimeMillis
    const parsed = parseJson(request.body)
    if (Either.isLeft(parsed)) return invalidJson(parsed.left, now)
    const decoded = Schema.decodeUnknownEither(GoogleGoto.Request, { errors: "all", onExcessProperty: "error" })(
      parsed.right
    )
    if (Either.isLeft(decoded)) return invalidRequest(parseIssues(decoded.left), now)
    yield* Effect.sleep(Duration.millis(sample(config.latency.goto, Prng.make(config.seed, `latency:${seq}`))))
    const url = new URL(decoded.right.url)
    return json(200, { url: resolveRedirect(url, Prng.make(config.seed, `goto:${decoded.right.url}`)) })
  })
