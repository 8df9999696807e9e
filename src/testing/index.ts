/**
 * Testing tools that ship with cloro-effect (`cloro-effect/testing`).
 *
 * @since 0.1.0
 */

/**
 * A faithful local cloro: every endpoint, limits, credits, the async queue,
 * webhooks, latency and faults, in memory or on loopback.
 *
 * @since 0.1.0
 */
export * as CloroSimulator from "./CloroSimulator.js"
