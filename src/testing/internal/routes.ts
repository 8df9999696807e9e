/**
 * Routing: a method and path to one of the simulator's endpoints and the
 * endpoint template (used for rate buckets, the request log and fault
 * matching), and the dispatch of a matched, authenticated request to its
 * endpoint module.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Engine from "../../Engine.js"
import * as GoogleGoto from "../../engines/GoogleGoto.js"
import * as AccountEndpoints from "./accountEndpoints.js"
import * as AsyncEndpoints from "./asyncEndpoints.js"
import type { Authenticated } from "./auth.js"
import type { EngineName } from "./config.js"
import type { Context } from "./context.js"
import * as MonitorEndpoints from "./monitorEndpoints.js"
import type { Answer, SimRequest } from "./wire.js"

/** @internal */
export type Route =
  | { readonly _tag: "Monitor"; readonly engine: EngineName }
  | { readonly _tag: "Goto" }
  | { readonly _tag: "Submit" }
  | { readonly _tag: "Batch" }
  | { readonly _tag: "GetTask"; readonly taskId: string }
  | { readonly _tag: "Status" }
  | { readonly _tag: "ClearQueue" }
  | { readonly _tag: "Credits" }
  | { readonly _tag: "Countries" }
  | { readonly _tag: "States" }

/** @internal */
export interface Matched {
  readonly route: Route
  /** The template, used for rate buckets, counters and fault matching. */
  readonly endpoint: string
}

const monitorPaths: ReadonlyMap<string, EngineName> = new Map(
  Engine.names.map((name) => [Engine.engines[name].path, name] as const)
)

const taskPath = /^\/v1\/async\/task\/([^/]+)$/

/** A malformed escape is an id that matches no task, not a crash. */
const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** @internal */
export const matchRoute = (method: string, path: string): Matched | undefined => {
  if (method === "POST") {
    const engine = monitorPaths.get(path)
    if (engine !== undefined) return { route: { _tag: "Monitor", engine }, endpoint: path }
    if (path === GoogleGoto.path) return { route: { _tag: "Goto" }, endpoint: path }
    if (path === "/v1/async/task") return { route: { _tag: "Submit" }, endpoint: path }
    if (path === "/v1/async/task/batch") return { route: { _tag: "Batch" }, endpoint: path }
    return undefined
  }
  if (method === "GET") {
    const task = taskPath.exec(path)
    if (task !== null && task[1] !== undefined && task[1] !== "batch") {
      return { route: { _tag: "GetTask", taskId: safeDecode(task[1]) }, endpoint: "/v1/async/task/{taskId}" }
    }
    if (path === "/v1/async/status") return { route: { _tag: "Status" }, endpoint: path }
    if (path === "/v1/credits") return { route: { _tag: "Credits" }, endpoint: path }
    if (path === "/v1/countries") return { route: { _tag: "Countries" }, endpoint: path }
    if (path === "/v1/states") return { route: { _tag: "States" }, endpoint: path }
    return undefined
  }
  if (method === "DELETE" && path === "/v1/async/queue") return { route: { _tag: "ClearQueue" }, endpoint: path }
  return undefined
}

/** @internal */
export const serve = (
  ctx: Context,
  route: Route,
  request: SimRequest,
  auth: Authenticated,
  seq: number,
  now: number
): Effect.Effect<Answer> => {
  switch (route._tag) {
    case "Monitor":
      return MonitorEndpoints.monitor(ctx, route.engine, request, auth, seq)
    case "Goto":
      return MonitorEndpoints.goto(ctx, request, seq)
    case "Submit":
      return AsyncEndpoints.submit(ctx, request, auth)
    case "Batch":
      return AsyncEndpoints.batch(ctx, request, auth)
    case "GetTask":
      return AsyncEndpoints.getTask(ctx, route.taskId, auth)
    case "Status":
      return AsyncEndpoints.status(ctx, auth)
    case "ClearQueue":
      return AsyncEndpoints.clear(ctx, auth)
    case "Credits":
      return AccountEndpoints.credits(ctx, auth)
    case "Countries":
      return Effect.succeed(AccountEndpoints.countries(request, now))
    case "States":
      return Effect.succeed(AccountEndpoints.states(request, now))
  }
}
