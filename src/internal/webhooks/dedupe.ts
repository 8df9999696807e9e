/**
 * The task ids a webhook receiver has already accepted, so that cloro's
 * redeliveries are acknowledged without being handled twice.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

/**
 * `New` the first time an id is claimed; `Pending` while its first hand-over
 * is still running (it may yet fail, so the redelivery must not be
 * acknowledged); `Handled` once it was handed over.
 *
 * @internal
 */
export type Claim = "New" | "Pending" | "Handled"

/** @internal */
export interface WebhookDedupe {
  readonly claim: (id: string) => Effect.Effect<Claim>
  /** Marks a claimed id as handed over, so that its redeliveries are acknowledged. */
  readonly confirm: (id: string) => Effect.Effect<void>
  /** Forgets an id whose handling failed, so that cloro's next attempt is handled. */
  readonly release: (id: string) => Effect.Effect<void>
}

/**
 * Remembers at most `capacity` ids, forgetting the oldest first. cloro retries
 * a delivery for about 30 minutes (attempts ~2, 4, 8, 16 min apart), so the
 * capacity only has to cover the deliveries of that window.
 *
 * @internal
 */
export const make = (capacity: number): Effect.Effect<WebhookDedupe> =>
  Effect.map(
    // The Map is owned by the Ref and only mutated inside its update
    // functions. A persistent map would need a second structure to know which
    // id is oldest; a JS Map keeps insertion order, so claiming and evicting
    // are O(1) per delivery. The value is whether the hand-over finished.
    Ref.make(new Map<string, boolean>()),
    (ref) => ({
      claim: (id) =>
        Ref.modify(ref, (seen): [Claim, Map<string, boolean>] => {
          const handled = seen.get(id)
          if (handled !== undefined) return [handled ? "Handled" : "Pending", seen]
          seen.set(id, false)
          if (seen.size > capacity) {
            const oldest = seen.keys().next()
            if (!oldest.done) seen.delete(oldest.value)
          }
          return ["New", seen]
        }),
      confirm: (id) =>
        Ref.update(ref, (seen) => {
          if (seen.has(id)) seen.set(id, true)
          return seen
        }),
      release: (id) =>
        Ref.update(ref, (seen) => {
          seen.delete(id)
          return seen
        })
    })
  )

/**
 * Signed deliveries already accepted, remembered for as long as their
 * timestamp is inside the tolerance, so that a replay is refused however many
 * other deliveries came in between. Past that time `verify` refuses the
 * delivery as stale, so forgetting it then opens nothing. Memory is the
 * deliveries of one tolerance window, whatever the traffic.
 *
 * @internal
 */
export interface ReplayGuard {
  /** `true` the first time a delivery is seen; `false` for a replay. */
  readonly claim: (key: string, expiresAtMillis: number, nowMillis: number) => Effect.Effect<boolean>
  /** Forgets a delivery whose hand-over failed. */
  readonly release: (key: string) => Effect.Effect<void>
  readonly size: Effect.Effect<number>
}

/** @internal */
export const makeReplayGuard: Effect.Effect<ReplayGuard> = Effect.map(
  // Owned by the Ref and only mutated inside its update functions (a fresh Map
  // per guard: suspended, not built once at import). Insertion order follows
  // arrival, so expired entries are dropped from the front; an entry behind
  // one still valid lingers at most one tolerance longer.
  Effect.suspend(() => Ref.make(new Map<string, number>())),
  (ref) => ({
    claim: (key, expiresAtMillis, nowMillis) =>
      Ref.modify(ref, (seen): [boolean, Map<string, number>] => {
        for (const [oldest, expiresAt] of seen) {
          if (expiresAt > nowMillis) break
          seen.delete(oldest)
        }
        const known = seen.get(key)
        if (known !== undefined && known > nowMillis) return [false, seen]
        seen.set(key, expiresAtMillis)
        return [true, seen]
      }),
    release: (key) =>
      Ref.update(ref, (seen) => {
        seen.delete(key)
        return seen
      }),
    size: Effect.map(Ref.get(ref), (seen) => seen.size)
  })
)
