/**
 * The simulator's one core: `handle` turns a plain request into a plain
 * response, whichever way it arrived (the in-memory `HttpClient` or the
 * loopback server), and background fibers run the async queue and deliver
 * webhooks. Time is Effect's `Clock`, so `TestClock` drives it in memory.
 *
 * This file owns the order of one request (route, authenticate and rate,
 * draw a fault, serve, log, add the common headers, mangle); each step lives
 * in its own module as a function of the shared `Context` (`context.ts`):
 * `routes.ts`, `auth.ts`, `faults.ts`, the endpoints in
 * `monitorEndpoints.ts`, `asyncEndpoints.ts` and `accountEndpoints.ts`, the
 * background queue in `worker.ts` and `webhookDelivery.ts`.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { authenticate } from "./auth.js"
import type { Config } from "./config.js"
import * as Context from "./context.js"
import { classify, injected, mangled, type MangleFault, takeFault } from "./faults.js"
import * as Prng from "./prng.js"
import { matchRoute, serve } from "./routes.js"
import * as State from "./state.js"
import { type Answer, failure, type SimRequest, type SimResponse } from "./wire.js"
import { dispatcher } from "./worker.js"

export type { SimRequest, SimResponse } from "./wire.js"

/**
 * The connection was dropped without an answer (an injected `reset`). The
 * in-memory client turns it into a transport `RequestError`; the server
 * destroys the socket.
 *
 * @internal
 */
export class ConnectionReset extends Data.TaggedError("ConnectionReset")<{ readonly requestId: string }> {}

/** @internal */
export interface Core {
  readonly config: Config
  readonly state: Ref.Ref<State.State>
  readonly handle: (request: SimRequest) => Effect.Effect<SimResponse, ConnectionReset>
  readonly accountIdOf: (apiKeyOrId: string) => string | undefined
  /** Starts any QUEUED task that has a free slot. */
  readonly wake: Effect.Effect<void>
}

interface Outcome {
  readonly answer: Answer | "reset"
  readonly accountId: string | undefined
  readonly mangle: MangleFault | undefined
}

const outcome = (answer: Answer | "reset", accountId?: string, mangle?: MangleFault): Outcome => ({
  answer,
  accountId,
  mangle
})

const handle = (ctx: Context.Context, request: SimRequest): Effect.Effect<SimResponse, ConnectionReset> =>
  Effect.gen(function*() {
    const { config, state } = ctx
    const startedAt = yield* Clock.currentTimeMillis
    const seq = yield* Ref.modify(state, State.nextRequestSeq)
    const requestId = Prng.make(config.seed, `request:${seq}`).uuid("id")
    const matched = matchRoute(request.method, request.path)
    const endpoint = matched?.endpoint ?? "(unmatched)"
    const log = (status: number, code: string | undefined, accountId: string | undefined) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.update(state, (s) =>
          State.record(s, {
            requestId,
            method: request.method,
            path: request.path,
            endpoint,
            status,
            code,
            accountId,
            startedAt,
            durationMs: now - startedAt
          }, config.requestLogLimit)))
    const { answer, accountId: accountLogged, mangle } = yield* Effect.gen(function*() {
      if (matched === undefined) {
        return outcome(
          failure(404, "RESOURCE_NOT_FOUND", `No route for ${request.method} ${request.path}`, startedAt, {
            details: { id: request.path }
          })
        )
      }
      const auth = yield* authenticate(ctx, request, endpoint, startedAt)
      if (Either.isLeft(auth)) return outcome(auth.left)
      const { accountId, rateHeaders } = auth.right
      const target: State.FaultTarget = {
        on: "request",
        method: request.method,
        endpoint,
        engine: matched.route._tag === "Monitor" ? matched.route.engine : undefined
      }
      const fault = yield* Ref.modify(state, (s) => takeFault(s, target, Prng.make(config.seed, `fault:${seq}`)))
      const classified = fault === undefined ? undefined : classify(fault.kind)
      if (classified?._tag === "Reset") return outcome("reset", accountId)
      const base = classified?._tag === "Answer" && fault !== undefined
        ? yield* injected(ctx, classified.kind, fault.rule, startedAt, rateHeaders, accountId)
        : yield* serve(ctx, matched.route, request, auth.right, seq, startedAt)
      return outcome(
        { ...base, headers: { ...rateHeaders, ...base.headers } },
        accountId,
        classified?._tag === "Mangle" ? classified.kind : undefined
      )
    }).pipe(
      // the caller hung up (cloro's 499): nothing is charged, but the request is counted
      Effect.onInterrupt(() => log(499, "REQUEST_CANCELED", undefined))
    )

    const latency = (yield* Clock.currentTimeMillis) - startedAt
    yield* answer === "reset" ? log(0, "CONNECTION_RESET", accountLogged) : log(answer.status, answer.code, accountLogged)
    if (answer === "reset") return yield* Effect.fail(new ConnectionReset({ requestId }))
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      ...answer.headers,
      "X-Request-ID": requestId,
      "X-Latency-Ms": String(latency)
    }
    return mangled({ status: answer.status, headers, body: answer.body }, mangle)
  })

/** @internal */
export const make = (
  config: Config,
  options: { readonly webhookClient?: HttpClient.HttpClient | undefined }
): Effect.Effect<Core, never, Scope.Scope> =>
  Effect.gen(function*() {
    const ctx = yield* Context.make(config, options.webhookClient)
    yield* Effect.forkIn(dispatcher(ctx), ctx.scope)
    return {
      config,
      state: ctx.state,
      handle: (request) => handle(ctx, request),
      accountIdOf: ctx.accountIdOf,
      wake: ctx.wake
    }
  })
