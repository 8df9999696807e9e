/**
 * Where `AsyncTasks.run` and `submit` write down what they send and the task
 * ids they were given (re-exported by `AsyncTasks`), and the journal kept in
 * memory. `RedisAsyncTasks.journal` is the shared one.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"

/**
 * A task accepted by cloro, as `Journal.record` receives it.
 *
 * @since 0.1.0
 */
export interface Submitted {
  readonly id: string | undefined
  readonly index: number
  readonly idempotencyKey: string
  readonly taskId: string
}

/**
 * An input about to be sent, as `Journal.intend` receives it.
 *
 * @since 0.2.0
 */
export interface Intent {
  readonly id: string | undefined
  readonly index: number
  readonly idempotencyKey: string
}

/**
 * Where a run writes down what it sends and the task ids it was given, so
 * that a later run can follow tasks it finds already submitted. cloro's 409
 * for a reused key does not say which task holds the key, and there is no way
 * to list tasks, so without a journal such a task can only be reported as
 * `SubmittedUnfollowable` (or, with webhooks, recognised when its delivery
 * arrives). Make both writes durable before they return: a run that is
 * killed between sending and `record` leaves tasks only `intend` knows of.
 *
 * @since 0.1.0
 */
export interface Journal {
  /** Called once per batch, before it is sent, with the keys it carries. */
  readonly intend: (items: ReadonlyArray<Intent>) => Effect.Effect<void>
  /** Called once per submitted batch with its accepted tasks. */
  readonly record: (submitted: ReadonlyArray<Submitted>) => Effect.Effect<void>
  /** The task id recorded for a key, when a submission finds the key taken. */
  readonly lookup: (
    item: { readonly id: string | undefined; readonly index: number; readonly idempotencyKey: string }
  ) => Effect.Effect<Option.Option<string>>
}

/**
 * A journal in memory, for resuming within one process (after an interrupted
 * run, say). It keeps every entry; back a long-lived one by a database.
 *
 * @since 0.1.0
 */
export const memoryJournal: Effect.Effect<Journal> = Effect.map(
  Ref.make(HashMap.empty<string, Option.Option<string>>()),
  (ref): Journal => ({
    intend: (items) =>
      Ref.update(ref, (known) =>
        items.reduce((map, item) => HashMap.has(map, item.idempotencyKey) ? map : HashMap.set(map, item.idempotencyKey, Option.none()), known)),
    record: (submitted) =>
      Ref.update(ref, (known) => submitted.reduce((map, s) => HashMap.set(map, s.idempotencyKey, Option.some(s.taskId)), known)),
    lookup: (item) => Effect.map(Ref.get(ref), (known) => Option.flatten(HashMap.get(known, item.idempotencyKey)))
  })
)
