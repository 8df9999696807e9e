/**
 * cloro's price table, in credits: what a request is estimated to cost before
 * it is sent (for budgets and reservations) and what it is actually charged
 * once it succeeds (for the simulator and the ledger).
 *
 * Only successful requests are charged (sync 200, async COMPLETED); errors,
 * queued and failed tasks cost nothing.
 *
 * @example
 * ```ts
 * import { Pricing } from "cloro-effect"
 *
 * Pricing.estimate("google", { query: "best crm", gl: "us", pages: 3, include: { aioverview: true } }, { mode: "async" })
 * // 3 + 2 * 2 (pages 2 and 3) + 2 (AI Overview) = 9; 11 in sync mode
 * ```
 *
 * @since 0.1.0
 */
import type * as Task from "./Task.js"
import * as Engine from "./Engine.js"
import type { EngineName, Request } from "./Engine.js"
import * as Engines from "./internal/engines.js"
import * as Prices from "./internal/prices.js"

/**
 * Whether the request goes through `/v1/monitor/*` (sync, surcharged) or
 * `/v1/async/*`.
 *
 * @since 0.1.0
 * @category Models
 */
export type Mode = "sync" | "async"

/**
 * The base price of one request per engine, async. Perplexity rose from 3 to
 * 4 on 2026-08-25; Copilot is 5 (older pages say 3).
 *
 * @since 0.1.0
 * @category Constants
 */
export const basePrices: { readonly [N in EngineName]: number } = Engines.perEngine<BasePrice>((name) =>
  Engines.registry[name].pricing.base
)

interface BasePrice extends Engines.PerEngine {
  readonly Out: number
}

/**
 * Added to every sync request (`/v1/monitor/*`); async requests are exempt.
 *
 * @since 0.1.0
 * @category Constants
 */
export const SYNC_SURCHARGE: number = Prices.SYNC_SURCHARGE

/**
 * ChatGPT's paid group: one flat charge for any of `include.rawResponse`,
 * `searchQueries`, `ads` and `shopping`.
 *
 * @since 0.1.0
 * @category Constants
 */
export const CHATGPT_PAID_GROUP: number = Prices.CHATGPT_PAID_GROUP

/**
 * US `state` targeting, on every engine that accepts `state`.
 *
 * @since 0.1.0
 * @category Constants
 */
export const STATE_TARGETING: number = Prices.STATE_TARGETING

/**
 * Google Search and News: each page after the first.
 *
 * @since 0.1.0
 * @category Constants
 */
export const EXTRA_PAGE: number = Prices.EXTRA_PAGE

/**
 * Google Search's AI Overview add-on (`include.aioverview`, `include.paaAioverview`).
 *
 * @since 0.1.0
 * @category Constants
 */
export const AI_OVERVIEW: number = Prices.AI_OVERVIEW

/**
 * How the AI Overview add-on is counted. The newest OpenAPI says one flat
 * charge covers `aioverview` and `paaAioverview`, alone or together
 * (`"flat"`); cloro's providers page says each costs it (`"each"`, so +4 for
 * both). Unverified which the server bills; the newest spec wins until a real
 * `X-Credits-Charged` says otherwise.
 *
 * @since 0.1.0
 * @category Constants
 */
export const AI_OVERVIEW_BILLING: "flat" | "each" = Prices.AI_OVERVIEW_BILLING

/**
 * AI Mode `include.expandProducts`: charged per product cluster returned,
 * after the fact, so it is not in the estimate.
 *
 * @since 0.1.0
 * @category Constants
 */
export const EXPAND_PRODUCTS_PER_CLUSTER: number = Prices.EXPAND_PRODUCTS_PER_CLUSTER

/**
 * The most product clusters AI Mode expands per request.
 *
 * @since 0.1.0
 * @category Constants
 */
export const MAX_PRODUCT_CLUSTERS: number = Prices.MAX_PRODUCT_CLUSTERS

/**
 * What cloro reports as `creditsToCharge`: base price, add-ons known before
 * sending and, in sync mode, the sync surcharge. Pass a validated request.
 *
 * @example
 * ```ts
 * import { Pricing } from "cloro-effect"
 *
 * Pricing.estimate("chatgpt", { prompt: "hi", country: "US", include: { shopping: true } }, { mode: "sync" }) // 9
 * ```
 *
 * @since 0.1.0
 * @category Functions
 */
export const estimate = <N extends EngineName>(
  engine: N,
  request: Request<N>,
  options: { readonly mode: Mode }
): number => {
  const pricing = Engines.registry[engine].pricing
  return pricing.base + pricing.addOns(request) + (options.mode === "sync" ? SYNC_SURCHARGE : 0)
}

/**
 * What a successful request is actually charged: the estimate plus, for AI
 * Mode with `include.expandProducts`, one credit per product cluster
 * returned (`result.productResults.length`), at most 6.
 *
 * @since 0.1.0
 * @category Functions
 */
export const charge = <N extends EngineName>(
  engine: N,
  request: Request<N>,
  options: { readonly mode: Mode; readonly productClusters?: number | undefined }
): number => {
  const clusters = Engines.registry[engine].pricing.perProductCluster?.(request) === true
    ? Math.min(MAX_PRODUCT_CLUSTERS, Math.max(0, Math.trunc(options.productClusters ?? 0)))
    : 0
  return estimate(engine, request, options) + clusters * EXPAND_PRODUCTS_PER_CLUSTER
}

/**
 * The most a request can be charged: the estimate, plus the full product
 * expansion for AI Mode with `include.expandProducts`. Reserve this much when
 * a budget must never be overrun.
 *
 * @since 0.1.0
 * @category Functions
 */
export const maxCharge = <N extends EngineName>(
  engine: N,
  request: Request<N>,
  options: { readonly mode: Mode }
): number => charge(engine, request, { mode: options.mode, productClusters: MAX_PRODUCT_CLUSTERS })

/**
 * The estimated price of an async task (no sync surcharge), by its
 * `taskType`.
 *
 * @example
 * ```ts
 * import { Pricing, Task } from "cloro-effect"
 *
 * Pricing.estimateTask(Task.make("chatgpt", { prompt: "hi", country: "US" })) // 5
 * ```
 *
 * @since 0.1.0
 * @category Functions
 */
export const estimateTask = (task: Task.SubmitTask): number =>
  estimate(Engine.fromTaskType(task.taskType).name, task.payload, { mode: "async" })

/**
 * The most an async task can be charged: `estimateTask`, plus the full
 * product expansion for AI Mode with `include.expandProducts`. What the
 * client reserves for a task, so a budget is never overrun.
 *
 * @since 0.2.0
 * @category Functions
 */
export const maxChargeTask = (task: Task.SubmitTask): number =>
  maxCharge(Engine.fromTaskType(task.taskType).name, task.payload, { mode: "async" })
