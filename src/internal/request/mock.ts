/**
 * `CloroClient.makeMock`: a client answered by scripted handlers, whose
 * monitor methods (one per registry engine) validate as the real client does.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { CloroClientShape, MonitorMethod } from "../../CloroClient.js"
import * as Engine from "../../Engine.js"
import * as Engines from "../engines.js"
import { fromEither } from "./callOptions.js"

/** `MonitorMethod` as a function of the engine, for the registry's `perEngine`. */
interface MonitorMethodOf extends Engines.PerEngine {
  readonly Out: MonitorMethod<Engines.EngineOf<this>>
}

/**
 * Handlers for `layerMock`: any subset of the client's methods.
 *
 * @since 0.1.0
 * @category Models
 */
export interface MockHandlers {
  readonly monitor?: Partial<CloroClientShape["monitor"]> | undefined
  readonly tasks?: Partial<CloroClientShape["tasks"]> | undefined
  readonly account?: Partial<CloroClientShape["account"]> | undefined
}

const notMocked = (name: string) => () =>
  Effect.dieMessage(`CloroClient.layerMock: ${name} was called but the mock has no handler for it`)

/**
 * Wraps a monitor handler so the mock refuses what the real client refuses:
 * a test written against the mock sees the same `InvalidRequest`.
 */
const validatedMonitor = <N extends Engine.EngineName>(
  name: N,
  handler: MonitorMethod<N> | undefined
): MonitorMethod<N> =>
(request, options) =>
  Effect.flatMap(
    fromEither(Engine.validate(name, request)),
    (valid) => handler === undefined ? notMocked(`monitor.${name}`)() : handler(valid, options)
  )

/**
 * A client answered by scripted handlers, for unit tests of code that uses
 * `CloroClient`: monitor requests are validated as the real client does, and
 * a method without a handler dies with a message naming it.
 *
 * @example
 * ```ts
 * import { CloroClient, Usage } from "cloro-effect"
 * import { Effect } from "effect"
 *
 * const ClientTest = CloroClient.layerMock({
 *   monitor: {
 *     chatgpt: () => Effect.succeed({ result: { text: "Acme", sources: [] }, usage: Usage.empty })
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeMock = (handlers: MockHandlers): CloroClientShape => {
  const { account = {}, monitor = {}, tasks = {} } = handlers
  // without `googleGoto`, so that indexing with a generic engine keeps the handler's type
  const mocked: { readonly [N in Engine.EngineName]?: MonitorMethod<N> | undefined } = monitor
  return {
    monitor: {
      ...Engines.perEngine<MonitorMethodOf>((name) => validatedMonitor(name, mocked[name])),
      googleGoto: monitor.googleGoto ?? notMocked("monitor.googleGoto")
    },
    tasks: {
      submit: tasks.submit ?? notMocked("tasks.submit"),
      submitBatch: tasks.submitBatch ?? notMocked("tasks.submitBatch"),
      get: tasks.get ?? notMocked("tasks.get"),
      status: tasks.status ?? notMocked("tasks.status"),
      clearQueue: tasks.clearQueue ?? notMocked("tasks.clearQueue"),
      settle: tasks.settle ?? (() => Effect.void)
    },
    account: {
      credits: account.credits ?? notMocked("account.credits"),
      countries: account.countries ?? notMocked("account.countries"),
      states: account.states ?? notMocked("account.states")
    }
  }
}
