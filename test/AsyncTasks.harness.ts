/**
 * A client wired to an in-memory simulator with a ledger, and helpers to
 * drive `TestClock` until a forked workflow is done, for the AsyncTasks tests.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as Credits from "../src/Credits.js"
import * as CloroSimulator from "../src/testing/CloroSimulator.js"

export const KEY = "sk_test_async_tasks"

export interface Harness {
  readonly sim: CloroSimulator.Service
  readonly client: CloroClient.CloroClientShape
  readonly ledger: Credits.CreditsShape
}

/** A simulator with one account (`KEY`) and a client with a ledger in front of it. */
export const start = (
  config: CloroSimulator.ConfigInput & { readonly plan?: { readonly concurrency?: number; readonly credits?: number } },
  options: CloroSimulator.Options = {}
): Effect.Effect<Harness, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { plan, ...rest } = config
    const sim = yield* CloroSimulator.make({ accounts: [{ apiKey: KEY, plan: plan ?? {} }], ...rest }, options)
    const ledger = yield* Credits.make()
    const client = yield* CloroClient.make.pipe(
      Effect.provideService(Credits.Credits, ledger),
      Effect.provide(
        Layer.merge(
          CloroConfig.layer({ apiKey: KEY, baseUrl: sim.url }),
          Layer.succeed(HttpClient.HttpClient, CloroSimulator.httpClient(sim.handle))
        )
      ), Effect.provide(Cloro.layerBare))
    return { sim, client, ledger }
  }).pipe(Effect.orDie)

/** Provides the client and its ledger, as `Cloro.layer` would. */
export const provide = (h: Harness) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provideService(CloroClient.CloroClient, h.client),
    Effect.provideService(Credits.Credits, h.ledger)
  )

/** Runs `effect` in the background, moving `TestClock` by `step` until it is done. */
export const drive = <A, E>(
  effect: Effect.Effect<A, E>,
  step: Duration.DurationInput = Duration.seconds(1),
  maxSteps = 5_000
): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < maxSteps; i++) {
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return yield* exit.value
      yield* TestClock.adjust(step)
    }
    yield* Fiber.interrupt(fiber)
    return yield* Effect.dieMessage(`still running after ${maxSteps} steps of ${Duration.format(Duration.decode(step))}`)
  })

/** GETs of tasks the simulator answered, in order. */
export const polls = (sim: CloroSimulator.Service) =>
  Effect.map(sim.counters, (c) => c.requestLog.filter((entry) => entry.endpoint === "/v1/async/task/{taskId}"))

/**
 * An `HttpClient` that hands each request to an `HttpApp` in memory, as a
 * server would (for the simulator's webhook deliveries). `rewrite` may change
 * a delivery on its way, as a proxy or an attacker could.
 */
export const appClient = <R>(
  app: HttpApp.Default<never, R>,
  rewrite: (delivery: { readonly headers: Record<string, string>; readonly body: string }) => {
    readonly headers: Record<string, string>
    readonly body: string
  } = (delivery) => delivery
): Effect.Effect<HttpClient.HttpClient, never, R> =>
  Effect.map(Effect.context<R>(), (context) =>
    HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
        const delivery = rewrite({ headers: { ...request.headers }, body })
        const web = new Request(url.href, { method: request.method, headers: delivery.headers, body: delivery.body })
        const response = yield* app.pipe(
          Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(web)),
          Effect.provide(context)
        )
        return HttpClientResponse.fromWeb(request, HttpServerResponse.toWeb(response))
      })
    ))
