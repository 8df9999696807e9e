/**
 * cloro-effect: an Effect client for the cloro API.
 *
 * @since 0.1.0
 */

/** The free account endpoints' schemas: credits balance, countries, US states. @since 0.3.0 */
export * as Account from "./Account.js"

/** Waiting for async tasks, and running any number of them through batches, polls or webhooks. @since 0.1.0 */
export * as AsyncTasks from "./AsyncTasks.js"

/** One-line set-up of the client with every service. @since 0.1.0 */
export * as Cloro from "./Cloro.js"

/** The typed client: every endpoint, typed errors, usage on every answer. @since 0.1.0 */
export * as CloroClient from "./CloroClient.js"

/** API key, base URL, timeouts. @since 0.1.0 */
export * as CloroConfig from "./CloroConfig.js"

/** Debug logging of each attempt, wait and retry (`CLORO_LOG=debug`). @since 0.1.0 */
export * as CloroLog from "./CloroLog.js"

/** Every failure as a tagged error in one union. @since 0.1.0 */
export * as CloroError from "./CloroError.js"

/** The concurrency-slot service for `/v1/monitor/*`. @since 0.1.0 */
export * as ConcurrencyLimiter from "./ConcurrencyLimiter.js"

/** The credit ledger: balance, spend per tag, reservations and budgets. @since 0.1.0 */
export * as Credits from "./Credits.js"

/** The engines, their request and result schemas, and local validation. @since 0.1.0 */
export * as Engine from "./Engine.js"

/** Google AI Mode (`/v1/monitor/aimode`): request and result schemas. @since 0.1.0 */
export * as AiMode from "./engines/AiMode.js"

/** ChatGPT (`/v1/monitor/chatgpt`): request and result schemas. @since 0.1.0 */
export * as ChatGPT from "./engines/ChatGPT.js"

/** Shapes every engine shares: `CountryCode`, `UsState`, prompts, sources, citation pills, prices. @since 0.1.0 */
export * as Common from "./engines/Common.js"

/** Microsoft Copilot (`/v1/monitor/copilot`): request and result schemas. @since 0.1.0 */
export * as Copilot from "./engines/Copilot.js"

/** Google Gemini (`/v1/monitor/gemini`): request and result schemas. @since 0.1.0 */
export * as Gemini from "./engines/Gemini.js"

/** Google Search with AI Overview (`/v1/monitor/google`): request and result schemas. @since 0.1.0 */
export * as Google from "./engines/Google.js"

/** Google redirect resolution (`/v1/monitor/google/goto`): request and response schemas. @since 0.1.0 */
export * as GoogleGoto from "./engines/GoogleGoto.js"

/** Google News (`/v1/monitor/google/news`): request and result schemas. @since 0.1.0 */
export * as GoogleNews from "./engines/GoogleNews.js"

/** Grok (`/v1/monitor/grok`): request and result schemas. @since 0.1.0 */
export * as Grok from "./engines/Grok.js"

/** Perplexity (`/v1/monitor/perplexity`): request and result schemas. @since 0.1.0 */
export * as Perplexity from "./engines/Perplexity.js"

/** The credit price table and pre-flight estimates. @since 0.1.0 */
export * as Pricing from "./Pricing.js"

/** Per-second admission for every `/v1/*` call. @since 0.1.0 */
export * as RateLimiter from "./RateLimiter.js"

/** Declarative retry schedules and the errors they retry. @since 0.1.0 */
export * as RetryPolicy from "./RetryPolicy.js"

/** The async task API's schemas. @since 0.1.0 */
export * as Task from "./Task.js"

/** Usage headers (rate, credits, concurrency) of one answer. @since 0.1.0 */
export * as Usage from "./Usage.js"

/** Early warnings, metrics and a stream of usage events. @since 0.1.0 */
export * as UsageMonitor from "./UsageMonitor.js"

/** Webhook signature verification and a ready receiver. @since 0.1.0 */
export * as Webhooks from "./Webhooks.js"
