/**
 * The errors a webhook delivery is refused with, and the one a receiver's
 * settings are refused with (all re-exported by `Webhooks`), here so that
 * verification and the receiver, in `internal/webhooks/`, can raise them.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import * as ConfigIssues from "../configIssues.js"

/**
 * The delivery is not signed by any of the secrets: a header is missing or
 * malformed (`reason`), or no signature matches (`Mismatch`).
 *
 * @since 0.1.0
 */
export class WebhookSignatureInvalid extends Schema.TaggedError<WebhookSignatureInvalid>()(
  "WebhookSignatureInvalid",
  {
    message: Schema.String,
    reason: Schema.Literal("MissingSignature", "MalformedSignature", "MissingTimestamp", "MalformedTimestamp", "Mismatch"),
    webhookId: Schema.optional(Schema.String)
  }
) {}

/**
 * The delivery is signed, but its timestamp is further from now (in the past
 * or the future) than the tolerance: a replay, or a badly wrong clock.
 *
 * @since 0.1.0
 */
export class WebhookTimestampStale extends Schema.TaggedError<WebhookTimestampStale>()("WebhookTimestampStale", {
  message: Schema.String,
  /** The delivery's timestamp, unix seconds. */
  timestamp: Schema.Number,
  /** The receiver's clock, unix seconds. */
  now: Schema.Number,
  toleranceSeconds: Schema.Number,
  webhookId: Schema.optional(Schema.String)
}) {}

/**
 * The body is not a finished cloro task; `description` says what did not match.
 *
 * @since 0.1.0
 */
export class WebhookPayloadInvalid extends Schema.TaggedError<WebhookPayloadInvalid>()("WebhookPayloadInvalid", {
  message: Schema.String,
  description: Schema.String,
  webhookId: Schema.optional(Schema.String)
}) {}

/**
 * A receiver or handler was given settings it cannot work with: one issue
 * per bad setting (`field` its name) and a message listing them.
 *
 * @since 0.1.0
 */
export class WebhookConfigError extends Schema.TaggedError<WebhookConfigError>()("WebhookConfigError", ConfigIssues.fields) {
  /**
   * The name of the first bad setting.
   *
   * @deprecated Read `issues[0].field`; every config error now lists its issues. Removed in a later version.
   * @since 0.1.0
   */
  get setting(): string {
    return this.issues[0]?.field ?? "options"
  }
}
