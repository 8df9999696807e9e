/**
 * The account and reference endpoints: `GET /v1/credits` (the balance and
 * cycle), `GET /v1/countries` (per model, without the engine's blocked
 * countries) and `GET /v1/states`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { blockedCountries, countryCodes } from "../../engines/Common.js"
import type { Authenticated } from "./auth.js"
import type { Context } from "./context.js"
import * as State from "./state.js"
import { usStateNames } from "./states.js"
import { type Answer, invalidRequest, json, type SimRequest } from "./wire.js"

const allowedCountryModels = ["aimode", "aioverview", "chatgpt", "copilot", "gemini", "google", "grok", "perplexity"] as const

/** `aioverview` is served by Google Search, so it shares Google's countries. */
const blockedByModel: ReadonlyMap<string, ReadonlyArray<string>> = new Map<string, ReadonlyArray<string>>([
  ...Object.entries(blockedCountries),
  ["aioverview", blockedCountries.google]
])

const countriesFor = (model: string | undefined): ReadonlyArray<string> => {
  const blocked = (model === undefined ? undefined : blockedByModel.get(model)) ?? []
  return countryCodes.filter((code) => !blocked.includes(code))
}

/** @internal */
export const credits = (ctx: Context, auth: Authenticated): Effect.Effect<Answer> =>
  Ref.get(ctx.state).pipe(Effect.map((s) => {
    const account = State.account(s, auth.accountId)
    return json(200, {
      remaining: account?.balance ?? 0,
      perCycle: account?.perCycle ?? null,
      cycleResetsAt: account?.cycleResetsAt ?? null
    })
  }))

/** @internal */
export const countries = (request: SimRequest, now: number): Answer => {
  const model = request.query["model"]
  if (model !== undefined && !allowedCountryModels.some((m) => m === model)) {
    return invalidRequest([{ field: "model", message: `model must be one of ${allowedCountryModels.join(", ")}` }], now)
  }
  return json(200, countriesFor(model))
}

/** @internal */
export const states = (request: SimRequest, now: number): Answer => {
  const country = request.query["country"]
  if (country === undefined || !/^[A-Z]{2}$/.test(country)) {
    return invalidRequest([{ field: "country", message: "country is required: two uppercase letters, e.g. US" }], now)
  }
  return json(200, country === "US" ? usStateNames.map(([code, name]) => ({ code, name })) : [])
}
