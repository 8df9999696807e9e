/**
 * Plausible answers for every engine, shaped as cloro documents them
 * (cloro-api.md §5): text, sources and citation pills always; markdown, the
 * HTML link, search queries, shopping, ads, AI Overview and extra pages when
 * the request's flags ask for them. Every value comes from a `Prng` keyed by
 * the seed and the request, so answers are reproducible.
 *
 * This file owns the engine-to-generator map; the generators are in
 * `answers/` (`assistants.ts`, `google.ts`, over `common.ts`).
 *
 * @internal
 */
import { chatgpt, copilot, gemini, grok, perplexity } from "./answers/assistants.js"
import { sites } from "./answers/common.js"
import { aimode, google, googleNews } from "./answers/google.js"
import * as Engine from "../../Engine.js"
import type { EngineName } from "./config.js"
import type { Prng } from "./prng.js"
import * as SchemaAnswer from "./schemaAnswer.js"

/** A JSON object as the simulator sends it. @internal */
export type Json = Record<string, unknown>

/** @internal */
export interface Generated {
  readonly result: Json
  /** AI Mode: product clusters returned for `expandProducts` (+1 credit each). */
  readonly productClusters: number
}

/**
 * An answer for a validated request body of the engine.
 *
 * @internal
 */
export const generate = <N extends EngineName>(engine: N, prng: Prng, body: unknown): Generated =>
  generators[engine]?.(prng, body) ??
    { result: SchemaAnswer.fromSchema(Engine.engines[engine].result, prng) ?? {}, productClusters: 0 }

/** Hand-written answers; an engine without one is answered from its result schema (`schemaAnswer.ts`). */
const generators: { readonly [N in EngineName]?: (prng: Prng, body: unknown) => Generated } = {
  chatgpt,
  perplexity,
  gemini,
  copilot,
  grok,
  aimode,
  google,
  googleNews
}

/**
 * Where a Google `/goto` or `/url` link points: its `url` or `q` parameter,
 * or, for a link the simulator did not mint, a stable made-up destination.
 *
 * @internal
 */
export const resolveRedirect = (link: URL, prng: Prng): string => {
  const target = link.searchParams.get("url") ?? link.searchParams.get("q")
  if (target !== null && /^https?:\/\//.test(target)) return target
  const site = prng.pick("goto.site", sites)
  return `https://${site.domain}/${prng.hex("goto.path", 10)}`
}
