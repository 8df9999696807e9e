/**
 * The add-on prices and the rules that read them from a request. They live
 * apart from `Pricing.ts` so that the engine registry, which `Pricing` reads,
 * can name each engine's rule without an import cycle.
 *
 * @internal
 */

/** @internal */
export const SYNC_SURCHARGE = 2
/** @internal */
export const CHATGPT_PAID_GROUP = 2
/** @internal */
export const STATE_TARGETING = 2
/** @internal */
export const EXTRA_PAGE = 2
/** @internal */
export const AI_OVERVIEW = 2
/** @internal */
export const AI_OVERVIEW_BILLING: "flat" | "each" = "flat"
/** @internal */
export const EXPAND_PRODUCTS_PER_CLUSTER = 1
/** @internal */
export const MAX_PRODUCT_CLUSTERS = 6

/** US `state` targeting. @internal */
export const stateAddOn = (request: { readonly state?: string | undefined }): number =>
  request.state === undefined ? 0 : STATE_TARGETING

/** Each page after the first. @internal */
export const pagesAddOn = (request: { readonly pages?: number | undefined }): number =>
  Math.max(0, Math.trunc(request.pages ?? 1) - 1) * EXTRA_PAGE

/** ChatGPT's paid group (one flat charge) plus state targeting. @internal */
export const chatgptAddOns = (
  request: {
    readonly state?: string | undefined
    readonly include?: {
      readonly rawResponse?: boolean | undefined
      readonly searchQueries?: boolean | undefined
      readonly ads?: boolean | undefined
      readonly shopping?: boolean | undefined
    } | undefined
  }
): number => {
  const include = request.include
  const paidGroup = include !== undefined &&
    (include.rawResponse === true || include.searchQueries === true || include.ads === true ||
      include.shopping === true)
  return (paidGroup ? CHATGPT_PAID_GROUP : 0) + stateAddOn(request)
}

/** Extra pages plus the AI Overview add-on, counted as `AI_OVERVIEW_BILLING` says. @internal */
export const googleAddOns = (
  request: {
    readonly pages?: number | undefined
    readonly include?: { readonly aioverview?: unknown; readonly paaAioverview?: boolean | undefined } | undefined
  }
): number => {
  const aioverview = request.include?.aioverview !== undefined ? 1 : 0
  const paa = request.include?.paaAioverview === true ? 1 : 0
  const overviews = AI_OVERVIEW_BILLING === "flat" ? Math.min(1, aioverview + paa) : aioverview + paa
  return pagesAddOn(request) + overviews * AI_OVERVIEW
}

/** Whether a request asks for AI Mode's product expansion (charged per cluster, after the fact). @internal */
export const expandsProducts = (request: { readonly include?: { readonly expandProducts?: boolean | undefined } | undefined }): boolean =>
  request.include?.expandProducts === true
