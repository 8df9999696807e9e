/**
 * Authentication and the per-second rate limit, as cloro applies them before
 * any endpoint runs: the bearer key's shape, its account, then one rate
 * bucket per account (shared mode) or per account and endpoint.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import { apiKeyPattern } from "./config.js"
import type { Context } from "./context.js"
import * as State from "./state.js"
import { type Answer, failure, type SimRequest } from "./wire.js"

/** @internal */
export interface Authenticated {
  readonly accountId: string
  /** The `X-RateLimit-*` headers every answer to this request carries. */
  readonly rateHeaders: Readonly<Record<string, string>>
}

/** @internal */
export const authenticate = (
  ctx: Context,
  request: SimRequest,
  endpoint: string,
  now: number
): Effect.Effect<Either.Either<Authenticated, Answer>> =>
  Effect.gen(function*() {
    const { config, rateLimit } = ctx
    const header = request.headers["authorization"]
    // cloro reads only the exact `Bearer ` prefix; `bearer x` counts as no key at all.
    if (header === undefined || !header.startsWith("Bearer ") || header.slice(7).trim().length === 0) {
      return Either.left(
        failure(401, "MISSING_API_KEY", "Missing API key: send Authorization: Bearer <your API key>", now)
      )
    }
    const key = header.slice(7).trim()
    if (!apiKeyPattern.test(key)) {
      return Either.left(failure(401, "INVALID_API_KEY_FORMAT", "The API key is malformed", now))
    }
    const id = ctx.keys.get(key)
    if (id === undefined) {
      return Either.left(failure(401, "INVALID_OR_EXPIRED_API_KEY", "The API key is invalid or expired", now))
    }
    const bucket = config.rateLimit.mode === "shared" ? id : `${id} ${endpoint}`
    const decision = yield* Ref.modify(
      ctx.state,
      (s) => State.takeRate(s, bucket, now, rateLimit, config.rateLimit.window)
    )
    const rateHeaders = {
      "X-RateLimit-Limit": String(rateLimit),
      "X-RateLimit-Remaining": String(decision.remaining)
    }
    if (!decision.allowed) {
      return Either.left(
        failure(
          429,
          "RATE_LIMIT_EXCEEDED",
          `Rate limit exceeded: at most ${rateLimit} requests per second${
            config.rateLimit.mode === "shared" ? "" : " per endpoint"
          }`,
          now,
          { headers: rateHeaders }
        )
      )
    }
    return Either.right({ accountId: id, rateHeaders })
  })
