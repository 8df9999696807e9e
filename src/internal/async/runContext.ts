/**
 * The one context `run`'s stages share: its checked `Settings`, the client,
 * the tracker that follows its tasks, and the current batch size (which
 * shrinks after a lost answer). Building it also starts handing webhook
 * deliveries to the tracker, for as long as the run's scope is open.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { RunError } from "../../AsyncTasks.js"
import * as CloroClient from "../../CloroClient.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import type { Settings } from "./settings.js"
import * as Tracker from "./tracker.js"

/** @internal */
export interface RunContext {
  readonly settings: Settings
  readonly client: Context.Tag.Service<typeof CloroClient.CloroClient>
  readonly tracker: Tracker.Tracker<RunError>
  /** The batch size now: `batchSizeAfterAmbiguity` after a submission whose answer was lost, doubling back per clean batch. */
  readonly currentBatchSize: Ref.Ref<number>
}

/** @internal */
export const make = (settings: Settings): Effect.Effect<RunContext, never, CloroClient.CloroClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* CloroClient.CloroClient
    const { callOptions, webhooks } = settings
    const tracker = yield* Tracker.make<RunError>({
      // without the client's retry policy: a failed poll is retried on the tracker's own schedule, until the task's timeout
      get: (taskId) =>
        Effect.map(client.tasks.get(taskId, { ...callOptions, retry: RetryPolicy.none }), (response) => response.result),
      concurrency: settings.pollConcurrency
    })
    const currentBatchSize = yield* Ref.make(settings.batchSize)
    if (webhooks !== undefined) {
      // Polls settle through the client's own ledger; deliveries are handed to it here.
      yield* Stream.runForEach(webhooks.events, (event) =>
        Effect.flatMap(tracker.deliver(event.state), (ours) => (ours ? client.tasks.settle(event.state, callOptions?.tag) : Effect.void))).pipe(
          Effect.forkScoped
        )
    }
    return { settings, client, tracker, currentBatchSize }
  })
