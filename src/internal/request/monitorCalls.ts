/**
 * The client's sync monitor calls, one per engine of the registry: the
 * request validated against its engine's schema, priced (its estimate and the
 * most it can cost, with the sync surcharge) and sent as a slot-using call.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { MonitorMethod } from "../../CloroClient.js"
import type { CloroConfigShape } from "../../CloroConfig.js"
import * as Engine from "../../Engine.js"
import * as Pricing from "../../Pricing.js"
import { fromEither } from "./callOptions.js"
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
  const decode = Http.decodeWith(Schema.Struct({ result: spec.result }))
  return (request, options) =>
    method(`monitor.${name}`, options, (checked) =>
      Effect.flatMap(fromEither(Engine.validate(name, request)), (valid) =>
        Effect.flatMap(fromEither(Engine.withUnknownFields(name, valid, checked.unknownFields)), (body) =>
        Effect.map(
          execute(
            {
              method: "POST",
              path: spec.path,
              kind: "monitor",
              body,
              decode,
              timeout: config.monitorTimeout
            },
            checked,
            {
              estimate: Pricing.estimate(name, valid, { mode: "sync" }),
              maxCost: Pricing.maxCharge(name, valid, { mode: "sync" }),
              tag: checked.tag,
              engine: name
            }
          ),
          (response) => ({ result: response.result.result, usage: response.usage, raw: response.raw })
        ))))
}

