/**
 * The shapes of cloro's free account endpoints: `GET /v1/credits`,
 * `GET /v1/countries` and `GET /v1/states`. `Task` re-exports them, where
 * they were first published.
 *
 * @since 0.3.0
 */
import * as Schema from "effect/Schema"

/**
 * The answer to `GET /v1/credits`. `perCycle` and `cycleResetsAt` (ISO) are
 * `null` on the free tier; the balance may lag by up to 60 s.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CreditsBalance = Schema.Struct({
  remaining: Schema.Number,
  perCycle: Schema.NullOr(Schema.Number),
  cycleResetsAt: Schema.NullOr(Schema.String)
}).annotations({ identifier: "CreditsBalance" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface CreditsBalance extends Schema.Schema.Type<typeof CreditsBalance> {}

/**
 * The answer to `GET /v1/countries`: ISO 3166-1 alpha-2 codes.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Countries = Schema.Array(Schema.String).annotations({ identifier: "Countries" })

/**
 * @since 0.1.0
 * @category Models
 */
export type Countries = typeof Countries.Type

/**
 * A US state for `state` targeting.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const State = Schema.Struct({
  code: Schema.String,
  name: Schema.String
}).annotations({ identifier: "State" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface State extends Schema.Schema.Type<typeof State> {}

/**
 * The answer to `GET /v1/states?country=US` (`[]` for other countries).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const States = Schema.Array(State).annotations({ identifier: "States" })

/**
 * @since 0.1.0
 * @category Models
 */
export type States = typeof States.Type
