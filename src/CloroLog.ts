/**
 * Debug logging of what the client does, for when there is no tracer to look
 * at: each HTTP attempt (method, route, status or error, duration, request id),
 * each wait for a concurrency slot or a rate admission, each retry and its
 * delay, and each return to the concurrency line after a 429.
 *
 * Off by default. `CLORO_LOG=debug` (read through Effect's `Config`, once per
 * call) switches it on; `CloroLog.layer("debug")` or `CloroLog.layer("off")`
 * decides in code and wins over the environment. The lines go through Effect's
 * logger at `Debug` level and are shown even when the application's minimum log
 * level is higher. They never contain the API key.
 *
 * @example
 * ```ts
 * import { Cloro, CloroLog } from "cloro-effect"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Layer } from "effect"
 *
 * const Live = Cloro.layerConfig().pipe(
 *   Layer.provide(NodeHttpClient.layerUndici),
 *   Layer.merge(CloroLog.layer("debug"))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/**
 * `"debug"` logs every attempt, wait and retry; `"off"` logs none of them.
 *
 * @since 0.1.0
 * @category models
 */
export type Level = "debug" | "off"

/**
 * The level set in code. Unset (the default), the client reads `CLORO_LOG`.
 *
 * @since 0.1.0
 * @category references
 */
export class CloroLogLevel extends Context.Reference<CloroLogLevel>()("cloro-effect/CloroLog/Level", {
  defaultValue: (): Level | undefined => undefined
}) {}

/**
 * Sets the client's debug logging in code, whatever `CLORO_LOG` says.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (level: Level): Layer.Layer<never> => Layer.succeed(CloroLogLevel, level)
