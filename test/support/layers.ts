/**
 * The layers tests share, written once: a client's config, the bare client
 * (every pipeline service opted out by `Cloro.layerBare`) over a fake
 * `HttpClient`, and the full client in front of the in-memory simulator.
 * A test file adds only what it is about (a `RetryPolicy`, a ledger, a fault
 * script) on top.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Cloro from "../../src/Cloro.js"
import * as CloroClient from "../../src/CloroClient.js"
import * as CloroConfig from "../../src/CloroConfig.js"
import * as CloroSimulator from "../../src/testing/CloroSimulator.js"
import * as MockHttp from "./mockHttp.js"

/** A client's connection settings: the key as `Redacted`, the real base URL. */
export const config = (apiKey: string, connection: Partial<CloroConfig.CloroConfigOptions> = {}) =>
  CloroConfig.layer({ apiKey: Redacted.make(apiKey), baseUrl: CloroConfig.DEFAULT_BASE_URL, ...connection })

/**
 * The bare client on `http`: sends each call once, no limits, a ledger
 * without budget. `services` (a `RetryPolicy`, a `Credits` ledger…) take the
 * place of the bare ones.
 */
export const bareClient = <ROut = never>(options: {
  readonly apiKey: string
  readonly http: HttpClient.HttpClient
  readonly connection?: Partial<CloroConfig.CloroConfigOptions>
  readonly services?: Layer.Layer<ROut>
}): Layer.Layer<CloroClient.CloroClient, CloroConfig.CloroConfigError> =>
  Layer.effect(CloroClient.CloroClient, CloroClient.make).pipe(
    Layer.provide(Layer.mergeAll(
      config(options.apiKey, options.connection),
      Layer.succeed(HttpClient.HttpClient, options.http),
      options.services ?? Layer.empty
    )),
    Layer.provide(Cloro.layerBare)
  )

/** The bare client's service itself, for tests that call it directly. */
export const bareClientOf = <ROut = never>(options: Parameters<typeof bareClient<ROut>>[0]) =>
  Effect.provide(CloroClient.CloroClient, bareClient(options))

/**
 * The full client (every pipeline service, as `Cloro.layer` builds it) in
 * front of an in-memory simulator; both services are in the context.
 */
export const simulated = (options: {
  readonly apiKey: string
  readonly sim?: CloroSimulator.ConfigInput
  readonly connection?: Omit<CloroConfig.CloroConfigOptions, "apiKey">
  readonly options?: Cloro.CloroOptions
}) =>
  Cloro.layer({ apiKey: options.apiKey, ...options.connection }, options.options ?? {}).pipe(
    Layer.provideMerge(CloroSimulator.layer(options.sim ?? { accounts: [{ apiKey: options.apiKey }] }))
  )

/** What a recording client has sent so far. */
export class SentRequests extends Context.Tag("test/SentRequests")<
  SentRequests,
  Effect.Effect<ReadonlyArray<MockHttp.SentRequest>>
>() {}

/**
 * The bare client on a fake `HttpClient` answering with `handler`, and the
 * log of what it sent: for a `describe` block whose tests share one client
 * through `it.layer` (the log then spans the block's tests).
 */
export const recordingClient = (apiKey: string, handler: MockHttp.Handler) =>
  Layer.unwrapEffect(Effect.map(MockHttp.make(handler), ({ client, sent }) =>
    Layer.merge(bareClient({ apiKey, http: client }), Layer.succeed(SentRequests, sent))))
