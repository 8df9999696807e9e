/**
 * Counts what happens on the wire, under the client: attempts per input
 * (the retries the client made for it) and 429 answers. The client's retries
 * happen inside one call, so the only place to see each attempt without
 * reaching into the library is the `HttpClient` it is given.
 *
 * @since 0.2.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Clock from "effect/Clock"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"

/**
 * What one input's calls did on the wire.
 *
 * @since 0.2.0
 */
export interface Attempts {
  readonly attempts: number
  readonly rejected429: number
  /** When the first attempt went out (the input may have waited for a slot before). */
  readonly firstAt: number | undefined
}

/**
 * Counters for the whole run.
 *
 * @since 0.2.0
 */
export interface Counters {
  readonly requests: Ref.Ref<number>
  readonly rejected429: Ref.Ref<number>
}

/**
 * The attempts of the input being processed by the current fiber, if any.
 */
const current = FiberRef.unsafeMake<Option.Option<Ref.Ref<Attempts>>>(Option.none())

/**
 * Fresh run counters.
 *
 * @since 0.2.0
 */
export const makeCounters: Effect.Effect<Counters> = Effect.all({ requests: Ref.make(0), rejected429: Ref.make(0) })

/**
 * A fresh count for one input.
 *
 * @since 0.2.0
 */
export const makeAttempts: Effect.Effect<Ref.Ref<Attempts>> = Ref.make<Attempts>({
  attempts: 0,
  rejected429: 0,
  firstAt: undefined
})

/**
 * Runs `effect` counting the HTTP attempts it makes into `ref`.
 *
 * @since 0.2.0
 */
export const track = <A, E, R>(ref: Ref.Ref<Attempts>, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locally(effect, current, Option.some(ref))

const bump = (f: (a: Attempts) => Attempts) =>
  Effect.flatMap(FiberRef.get(current), Option.match({ onNone: () => Effect.void, onSome: (ref) => Ref.update(ref, f) }))

/**
 * Wraps an `HttpClient` so that every request and every 429 is counted.
 *
 * @since 0.2.0
 */
export const counting = (client: HttpClient.HttpClient, counters: Counters): HttpClient.HttpClient =>
  HttpClient.transform(client, (effect) =>
    Effect.zipRight(
      Effect.zipRight(
        Ref.update(counters.requests, (n) => n + 1),
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          bump((a) => ({ ...a, attempts: a.attempts + 1, firstAt: a.firstAt ?? now })))
      ),
      Effect.tap(effect, (response) =>
        response.status === 429
          ? Effect.zipRight(
            Ref.update(counters.rejected429, (n) => n + 1),
            bump((a) => ({ ...a, rejected429: a.rejected429 + 1 }))
          )
          : Effect.void)
    ))
