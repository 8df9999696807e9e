/**
 * Webhook delivery for a finished task: the signed POST (or only a captured
 * attempt when the simulator has no webhook client), each attempt recorded,
 * retried on the configured delays until a 2xx.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Webhooks from "../../Webhooks.js"
import { taskView } from "./asyncEndpoints.js"
import type { Context } from "./context.js"
import * as State from "./state.js"
import * as TaskQueue from "./taskQueue.js"

/** @internal */
export const deliver = (ctx: Context, taskId: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { config, state, webhookClient } = ctx
    const attempts = config.webhookRetryDelays.length + 1
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const s = yield* Ref.get(state)
      const task = Option.getOrUndefined(HashMap.get(s.tasks, taskId))
      if (task === undefined || task.webhook === null) return
      const body = JSON.stringify(taskView(task, false))
      const at = yield* Clock.currentTimeMillis
      const timestamp = Math.floor(at / 1000)
      const webhookId = `${task.id}-${attempt}`
      const headers: Record<string, string> = {
        "Content-Type": "application/json",
        "User-Agent": "cloro-simulator-webhooks/1.0",
        ...(config.webhookSecret === undefined
          ? { [Webhooks.headerNames.webhookId]: webhookId }
          : Webhooks.signedHeaders({ secret: config.webhookSecret, timestampSeconds: timestamp, rawBody: body, webhookId }))
      }
      const status = webhookClient === undefined
        ? Option.none<number>()
        : yield* webhookClient.execute(
          HttpClientRequest.post(task.webhook.url).pipe(
            HttpClientRequest.setHeaders(headers),
            HttpClientRequest.bodyText(body, "application/json")
          )
        ).pipe(
          Effect.flatMap((response) => Effect.as(Effect.ignore(response.text), response.status)),
          Effect.timeout(Duration.millis(config.webhookTimeout)),
          Effect.option
        )
      // Without a client the delivery is only captured, and counts as acknowledged.
      const ok = webhookClient === undefined || Option.exists(status, (code) => code >= 200 && code < 300)
      const done = yield* Clock.currentTimeMillis
      yield* Ref.update(state, (current) =>
        TaskQueue.updateWebhook(
          State.recordWebhook(current, {
            taskId,
            attempt,
            url: task.webhook?.url ?? "",
            at,
            status: Option.getOrUndefined(status),
            ok,
            headers,
            body
          }, config.requestLogLimit),
          taskId,
          (w) => ({ ...w, attempts: attempt, ...(ok ? { delivered: true, deliveredAt: done } : {}) })
        ))
      if (ok) return
      const delay = config.webhookRetryDelays[attempt - 1]
      if (delay !== undefined) yield* Effect.sleep(Duration.millis(delay))
    }
  })
