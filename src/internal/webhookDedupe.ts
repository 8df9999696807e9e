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
