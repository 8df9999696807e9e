/**
 * The client's sync monitor calls, one per engine of the registry: the
 * request validated against its engine's schema, priced (its estimate and the
 * most it can cost, with the sync surcharge) and sent as a slot-using call.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { MonitorMethod } from "../../CloroClient.js"
import type { CloroConfigShape } from "../../CloroConfig.js"
import * as Engine from "../../Engine.js"
import * as Pricing from "../../Pricing.js"
import * as Http from "./http.js"
import type { Context as CallContext } from "./taskCalls.js"

/** What the monitor calls need from the client. @internal */
export interface Context extends Pick<CallContext, "execute" | "method"> {
  readonly config: CloroConfigShape
}

/** @internal */
export const make = ({ config, execute, method }: Context) =>
<N extends Engine.EngineName>(name: N): MonitorMethod<N> => {
  const spec = Engine.engines[name]
  const decodeBody = Http.decodeWith(Schema.Struct({ result: spec.result }))
  // The answer's `result`, taken as it is decoded: no step after the call to unwrap it.
  const decode = (json: unknown) => Either.map(decodeBody(json), (body) => body.result)
  return (request, options) =>
    method(`monitor.${name}`, options, (checked) => {
      // Checked while the call is built: a bad request costs no effect to refuse.
      const valid = Engine.validate(name, request)
      if (Either.isLeft(valid)) return Effect.fail(valid.left)
      const body = Engine.withUnknownFields(name, valid.right, checked.unknownFields)
      if (Either.isLeft(body)) return Effect.fail(body.left)
      return execute(
        {
          method: "POST",
          path: spec.path,
          kind: "monitor",
          body: body.right,
          decode,
          timeout: config.monitorTimeout
        },
        checked,
        {
          estimate: Pricing.estimate(name, valid.right, { mode: "sync" }),
          maxCost: Pricing.maxCharge(name, valid.right, { mode: "sync" }),
          tag: checked.tag,
          engine: name
        }
      )
    })
}
