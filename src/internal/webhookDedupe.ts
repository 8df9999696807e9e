/**
 * The task ids a webhook receiver has already accepted, so that cloro's
 * redeliveries are acknowledged without being handled twice.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

/** @internal */
export interface WebhookDedupe {
  /** `true` the first time an id is claimed, `false` while it is remembered. */
  readonly claim: (id: string) => Effect.Effect<boolean>
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
    // The Set is owned by the Ref and only mutated inside its update
    // functions. A persistent set would need a second structure to know which
    // id is oldest; a JS Set keeps insertion order, so claiming and evicting
    // are O(1) per delivery.
    Ref.make(new Set<string>()),
    (ref) => ({
      claim: (id) =>
        Ref.modify(ref, (seen) => {
          if (seen.has(id)) return [false, seen]
          seen.add(id)
          if (seen.size > capacity) {
            const oldest = seen.values().next()
            if (!oldest.done) seen.delete(oldest.value)
          }
          return [true, seen]
        }),
      release: (id) =>
        Ref.update(ref, (seen) => {
          seen.delete(id)
          return seen
        })
    })
  )
