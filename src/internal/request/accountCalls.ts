/**
 * The client's free reference calls (`account.countries`, `account.states`,
 * `account.credits`) and `monitor.googleGoto`: each input checked locally
 * before it is sent, the balance read fed to the ledger.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Account from "../../Account.js"
import type { CallOptions, CountriesModel } from "../../CloroClient.js"
import * as GoogleGoto from "../../engines/GoogleGoto.js"
import { fromEither, gotoWithUnknownFields, invalid, validateGoto } from "./callOptions.js"
import * as Input from "./input.js"
import type { Context } from "./taskCalls.js"

const countriesModels: ReadonlySet<string> = new Set<CountriesModel>([
  "aimode",
  "aioverview",
  "chatgpt",
  "copilot",
  "gemini",
  "google",
  "grok",
  "perplexity"
])

/** @internal */
export const make = ({ credits, execute, free, method, referenceCall }: Context) => {
const countries = (model?: CountriesModel, options?: CallOptions) =>
  method("account.countries", options, (checked) =>
    model !== undefined && !(typeof model === "string" && countriesModels.has(model))
      ? Effect.fail(invalid("model", `must be one of ${[...countriesModels].join(", ")}, got ${Input.show(model)}`))
      : execute(
        referenceCall("GET", "/v1/countries", Account.Countries, model === undefined ? {} : { urlParams: { model } }),
        checked,
        free
      ))

const states = (country: string = "US", options?: CallOptions) =>
  method("account.states", options, (checked) =>
    typeof country === "string" && /^[A-Z]{2}$/.test(country)
      ? execute(referenceCall("GET", "/v1/states", Account.States, { urlParams: { country } }), checked, free)
      : Effect.fail(invalid("country", `must be two uppercase letters (ISO 3166-1 alpha-2), got ${Input.show(country)}`)))

const accountCredits = (options?: CallOptions) =>
  method("account.credits", options, (checked) =>
    execute(referenceCall("GET", "/v1/credits", Account.CreditsBalance), checked, free).pipe(
      Effect.tap((response) => credits.observeBalance(response.result.remaining))
    ))

const googleGoto = (request: GoogleGoto.Request, options?: CallOptions) =>
  method("monitor.googleGoto", options, (checked) =>
    Effect.gen(function*() {
      const valid = yield* fromEither(validateGoto(request))
      const body = yield* fromEither(gotoWithUnknownFields(valid, checked.unknownFields))
      return yield* execute(referenceCall("POST", GoogleGoto.path, GoogleGoto.Response, { body }), checked, free)
    }))

  return { countries, states, credits: accountCredits, googleGoto }
}
