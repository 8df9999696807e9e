/**
 * Fault injection: which fault a request or task draws (the script first,
 * then the random rate), the answers that replace a response (5xx, 429s,
 * a stall), and the faults that mangle an answer already produced and
 * charged (garbled or missing headers, a garbage body).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { FaultKind, FaultRate, FaultScriptEntry } from "./config.js"
import type { Context } from "./context.js"
import type * as Prng from "./prng.js"
import * as State from "./state.js"
import { type Answer, failure, type SimResponse } from "./wire.js"

/** Faults that replace the answer. @internal */
export type AnswerFault = "500" | "502" | "503" | "429" | "stall"

/** Faults that mangle an answer that was otherwise produced (and charged) normally. @internal */
export type MangleFault = "malformedHeaders" | "missingHeaders" | "garbageBody"

/** @internal */
export type Classified =
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Answer"; readonly kind: AnswerFault }
  | { readonly _tag: "Mangle"; readonly kind: MangleFault }

/** @internal */
export const classify = (kind: FaultKind): Classified => {
  switch (kind) {
    case "reset":
      return { _tag: "Reset" }
    case "500":
    case "502":
    case "503":
    case "429":
    case "stall":
      return { _tag: "Answer", kind }
    case "malformedHeaders":
    case "missingHeaders":
    case "garbageBody":
      return { _tag: "Mangle", kind }
  }
}

/** @internal */
export interface Fault {
  readonly kind: FaultKind
  readonly rule: Pick<FaultScriptEntry, "retryAfter" | "stallMillis" | "code">
}

const rateFault = (rate: FaultRate | undefined, target: State.FaultTarget, prng: Prng.Prng): Fault | undefined =>
  rate !== undefined && State.faultMatches(rate, target) && prng.chance("fault", rate.rate)
    ? { kind: prng.pick("fault.kind", rate.faults), rule: rate }
    : undefined

/** The script first (consuming one of its entries), then the random rate. @internal */
export const takeFault = (
  state: State.State,
  target: State.FaultTarget,
  prng: Prng.Prng
): [Fault | undefined, State.State] => {
  const [scripted, next] = State.takeScripted(state, target)
  return [scripted !== undefined ? { kind: scripted.fault, rule: scripted } : rateFault(next.faultRate, target, prng), next]
}

/** The answer an injected fault gives in place of the endpoint's. @internal */
export const injected = (
  ctx: Context,
  kind: AnswerFault,
  rule: Fault["rule"],
  now: number,
  rateHeaders: Readonly<Record<string, string>>,
  accountId: string
): Effect.Effect<Answer> => {
  switch (kind) {
    case "500":
      return Effect.succeed(failure(500, "INTERNAL_SERVER_ERROR", "Internal server error", now))
    case "502":
      return Effect.succeed(
        failure(502, "EXTERNAL_SERVICE_ERROR", "The upstream provider failed", now, { details: { service: "OpenAI" } })
      )
    case "503":
      return Effect.succeed(
        failure(503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable", now, {
          headers: { "Retry-After": String(rule.retryAfter ?? 1) }
        })
      )
    case "429": {
      const code = rule.code ?? "RATE_LIMIT_EXCEEDED"
      if (code === "RATE_LIMIT_EXCEEDED") {
        return Effect.succeed(
          failure(429, code, "Too many requests", now, { headers: { ...rateHeaders, "X-RateLimit-Remaining": "0" } })
        )
      }
      if (code === "QUEUE_LIMIT_EXCEEDED") {
        return Effect.succeed(failure(429, code, "Too many requests", now, { details: { limit: ctx.config.queueLimit } }))
      }
      // An injected concurrency 429 says what a real one would: the plan's limit, every slot taken.
      return Ref.get(ctx.state).pipe(Effect.map((s) => {
        const limit = State.account(s, accountId)?.concurrency ?? 1
        return failure(429, code, "Too many requests", now, {
          details: { limit },
          headers: ctx.concurrencyHeaders(limit, limit)
        })
      }))
    }
    case "stall":
      // cloro gives up on a sync request after 5 minutes; the caller has usually given up long before.
      return Effect.sleep(Duration.millis(rule.stallMillis ?? 300_000)).pipe(
        Effect.zipRight(Clock.currentTimeMillis),
        Effect.map((later) => failure(500, "INTERNAL_SERVER_ERROR", "Maximum timeout (5 minutes) exceeded", later))
      )
  }
}

const garble = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const garbage = ["lots", "-1", "1e3", "", "12abc", "NaN"] as const
  return Object.fromEntries(
    Object.entries(headers).map(([name, value], i) =>
      name.toLowerCase().startsWith("x-") ? [name, garbage[i % garbage.length] ?? ""] : [name, value]
    )
  )
}

const stripCustomHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !name.toLowerCase().startsWith("x-")))

/** The response as sent, after a mangling fault (if any) has had its way. @internal */
export const mangled = (response: SimResponse, mangle: MangleFault | undefined): SimResponse => {
  switch (mangle) {
    case "malformedHeaders":
      return { ...response, headers: garble(response.headers) }
    case "missingHeaders":
      return { ...response, headers: stripCustomHeaders(response.headers) }
    case "garbageBody":
      return {
        ...response,
        body: `${response.body.slice(0, Math.floor(response.body.length / 2))}\u0000<html>502 Bad Gateway`
      }
    case undefined:
      return response
  }
}
