/**
 * Watches what the responses say about the account and warns early: credits
 * running low, concurrency nearly used up, the per-second allowance nearly
 * spent. Each warning fires once per crossing of its threshold, as an Effect
 * log line, as a typed event on a `Stream`, and through `Metric`s (credits
 * remaining, slots in use, 429s by code, retries, spend).
 *
 * @since 0.1.0
 */
import * as Arr from "effect/Array"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Either from "effect/Either"
import { type CloroError, FieldIssue } from "./CloroError.js"
import * as ConfigIssues from "./internal/configIssues.js"
import * as DurationHelper from "./internal/duration.js"
import { clockOf } from "./internal/fiberClock.js"
import { withLabel } from "./internal/metricLabels.js"
import * as Input from "./internal/request/input.js"
import type { Usage } from "./Usage.js"

/**
 * The balance fell below the threshold.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class LowCredits extends Schema.TaggedClass<LowCredits>()("LowCredits", {
  remaining: Schema.Number,
  threshold: Schema.Number
}) {}

/**
 * More of the plan's concurrent slots are in use than the threshold allows.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class HighConcurrency extends Schema.TaggedClass<HighConcurrency>()("HighConcurrency", {
  current: Schema.Number,
  limit: Schema.Number,
  threshold: Schema.Number
}) {}

/**
 * The per-second allowance left fell below the threshold.
 *
 * @since 0.1.0
 * @category Schemas
 */
export class LowRateRemaining extends Schema.TaggedClass<LowRateRemaining>()("LowRateRemaining", {
  remaining: Schema.Number,
  limit: Schema.optional(Schema.Number),
  threshold: Schema.Number
}) {}

/**
 * A request failed with a 429 (any code).
 *
 * @since 0.1.0
 * @category Schemas
 */
export class LimitHit extends Schema.TaggedClass<LimitHit>()("LimitHit", {
  errorTag: Schema.String,
  path: Schema.String
}) {}

/**
 * Every event the monitor publishes.
 *
 * @since 0.1.0
 * @category Models
 */
export type UsageEvent = LowCredits | HighConcurrency | LowRateRemaining | LimitHit

/**
 * When to warn.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Thresholds {
  /** Warn when the balance falls below this (default 100). */
  readonly lowCredits: number
  /** Warn when slots in use exceed this fraction of the limit (default 0.8). */
  readonly highConcurrency: number
  /** Warn when the per-second allowance left falls below this (default 50). */
  readonly lowRateRemaining: number
}

/**
 * The default thresholds.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultThresholds: Thresholds = { lowCredits: 100, highConcurrency: 0.8, lowRateRemaining: 50 }

/**
 * The monitor service.
 *
 * @since 0.1.0
 * @category Models
 */
export interface UsageMonitorShape {
  /** Feeds the usage of one response to `path`. */
  readonly observe: (path: string, usage: Usage) => Effect.Effect<void>
  /** Counts a failure (429s by code are published as `LimitHit`); its headers go to `observe`, like any answer's. */
  readonly recordError: (path: string, error: CloroError) => Effect.Effect<void>
  /** Counts a retry about to happen. */
  readonly recordRetry: (path: string, error: CloroError) => Effect.Effect<void>
  /** Counts credits charged. */
  readonly recordSpend: (engine: string, credits: number) => Effect.Effect<void>
  /**
   * Events as a stream: the last `replay` events published before it starts
   * running (default 100), then every event from then on. Prefer
   * `subscribe` in a scope opened before the work starts: it misses nothing.
   */
  readonly events: Stream.Stream<UsageEvent>
  /**
   * A subscription for as long as the scope lasts: the last `replay` events
   * published before it, then every event from now on.
   */
  readonly subscribe: Effect.Effect<Queue.Dequeue<UsageEvent>, never, Scope.Scope>
  /** The last `maxWarnings` warnings raised (default 100), oldest first (LimitHit excluded). */
  readonly warnings: Effect.Effect<ReadonlyArray<UsageEvent>>
}

/**
 * The usage monitor service.
 *
 * @example
 * ```ts
 * import { UsageMonitor } from "cloro-effect"
 * import { Effect, Stream } from "effect"
 *
 * const alerts = Effect.flatMap(UsageMonitor.UsageMonitor, (monitor) =>
 *   monitor.events.pipe(Stream.runForEach((event) => Effect.log(event._tag))))
 * ```
 *
 * @since 0.1.0
 * @category Tags
 */
export class UsageMonitor extends Context.Tag("cloro-effect/UsageMonitor")<UsageMonitor, UsageMonitorShape>() {}

/**
 * The metrics the monitor keeps up to date.
 *
 * @since 0.1.0
 * @category Constants
 */
export const metrics = {
  creditsRemaining: Metric.gauge("cloro.credits.remaining", { description: "Credit balance last reported by cloro" }),
  slotsInUse: Metric.gauge("cloro.concurrency.in_use", { description: "Concurrent monitor requests cloro reported" }),
  rateRemaining: Metric.gauge("cloro.rate_limit.remaining", { description: "Requests left in the current second" }),
  // Counters only go up: `incremental` makes them monotonic sums (OpenTelemetry counters), not up-down counters.
  limitHits: Metric.counter("cloro.limit_hits", { description: "429 answers, by error.type", incremental: true }),
  retries: Metric.counter("cloro.retries", { description: "Retries scheduled, by error.type", incremental: true }),
  errors: Metric.counter("cloro.errors", { description: "Failed attempts, by error.type", incremental: true }),
  creditsSpent: Metric.counter("cloro.credits.spent", {
    description: "Credits charged, by cloro.engine",
    incremental: true
  })
}

/**
 * The monitor's options were nonsense: one issue per bad option (`field` its
 * name or dotted path) and a message listing them.
 *
 * @since 0.1.0
 * @category Errors
 */
export class UsageMonitorConfigError extends Schema.TaggedError<UsageMonitorConfigError>()(
  "UsageMonitorConfigError",
  ConfigIssues.fields
) {}

/** Whether a value has the parts of a `Usage` that `observe` reads (a plain predicate, not a narrowing). */
const looksLikeUsage = (usage: unknown): boolean =>
  Input.isRecord(usage) && Input.isRecord(usage.credits) && Input.isRecord(usage.concurrency) &&
  Input.isRecord(usage.rateLimit)

type WarningKind = "lowCredits" | "highConcurrency" | "lowRateRemaining"

/** Per warning: whether it may fire, and when it last did. */
type Armed = { readonly [K in WarningKind]: { readonly armed: boolean; readonly firedAt: number } }

const describe = (event: UsageEvent): string => {
  switch (event._tag) {
    case "LowCredits":
      return `cloro credits low: ${event.remaining} left (warning below ${event.threshold})`
    case "HighConcurrency":
      return `cloro concurrency high: ${event.current} of ${event.limit} slots in use (warning above ${
        Math.round(event.threshold * 100)
      } %)`
    case "LowRateRemaining":
      return `cloro rate limit nearly spent: ${event.remaining} requests left this second (warning below ${event.threshold})`
    case "LimitHit":
      return `cloro answered 429 (${event.errorTag}) on ${event.path}`
  }
}

/**
 * Options of the monitor.
 *
 * @since 0.1.0
 * @category Models
 */
export interface UsageMonitorOptions {
  readonly thresholds?: Partial<Thresholds> | undefined
  /** Log warnings (default true). */
  readonly log?: boolean | undefined
  /** Least time between two warnings of one kind (default 1 minute). */
  readonly cooldown?: Duration.DurationInput | undefined
  /** How many past events a new subscriber (`subscribe`, `events`) receives first (default 100). */
  readonly replay?: number | undefined
  /** How many warnings `warnings` keeps, the newest (default 100). */
  readonly maxWarnings?: number | undefined
}

/**
 * Builds a monitor; options of the wrong type or out of range fail with
 * `UsageMonitorConfigError`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: UsageMonitorOptions = {}): Effect.Effect<UsageMonitorShape, UsageMonitorConfigError> =>
  Input.guard(() => Effect.gen(function*() {
    const refuse = (field: string, message: string) =>
      new UsageMonitorConfigError(ConfigIssues.one("UsageMonitor", field, message))
    const given = yield* ConfigIssues.options("UsageMonitor", options, (fields) => new UsageMonitorConfigError(fields))
    const thresholdsInput = given.thresholds ?? {}
    if (!Input.isRecord(thresholdsInput)) {
      return yield* refuse("thresholds", `must be an object, got ${Input.show(thresholdsInput)}`)
    }
    const threshold = (key: keyof Thresholds, expected: string, ok: (n: number) => boolean) => {
      const value = thresholdsInput[key] ?? defaultThresholds[key]
      return typeof value === "number" && ok(value)
        ? Either.right(value)
        : Either.left(new FieldIssue({ field: `thresholds.${key}`, message: `must be ${expected}, got ${Input.show(value)}` }))
    }
    const checked = {
      lowCredits: threshold("lowCredits", "a number ≥ 0", (n) => n >= 0),
      highConcurrency: threshold("highConcurrency", "a number within (0, 1]", (n) => n > 0 && n <= 1),
      lowRateRemaining: threshold("lowRateRemaining", "a number ≥ 0", (n) => n >= 0)
    }
    // every bad threshold at once, not only the first
    const thresholds: Thresholds = yield* Either.mapLeft(
      Either.all(checked),
      () => new UsageMonitorConfigError(ConfigIssues.fromIssues("UsageMonitor", Arr.getLefts(Object.values(checked))))
    )
    const log = given.log ?? true
    if (typeof log !== "boolean") return yield* refuse("log", `must be true or false, got ${Input.show(log)}`)
    const count = (key: string, fallback: number) => {
      const value = given[key] ?? fallback
      return typeof value === "number" && Number.isSafeInteger(value) && value >= 0
        ? Effect.succeed(value)
        : Effect.fail(refuse(key, `must be a whole number ≥ 0, got ${Input.show(value)}`))
    }
    const replay = yield* count("replay", 100)
    const maxWarnings = yield* count("maxWarnings", 100)
    const hub = yield* PubSub.unbounded<UsageEvent>(replay > 0 ? { replay } : undefined)
    const raised = yield* Ref.make<ReadonlyArray<UsageEvent>>([])
    const cooldown = yield* Either.match(
      DurationHelper.decode("cooldown", given.cooldown ?? "1 minute", { zero: true, infinite: false }),
      {
        onLeft: (issue) => Effect.fail(new UsageMonitorConfigError(ConfigIssues.fromIssues("UsageMonitor", [issue]))),
        onRight: Effect.succeed
      }
    )
    const cooldownMillis = Duration.toMillis(cooldown)
    const initially = { armed: true, firedAt: Number.NEGATIVE_INFINITY }
    const armed = yield* Ref.make<Armed>({
      lowCredits: initially,
      highConcurrency: initially,
      lowRateRemaining: initially
    })

    const publish = (event: UsageEvent) =>
      Effect.zipRight(
        event._tag === "LimitHit" || maxWarnings === 0
          ? Effect.void
          : Ref.update(raised, (all) => [...(all.length >= maxWarnings ? all.slice(all.length - maxWarnings + 1) : all), event]),
        Effect.zipRight(
          log ? Effect.logWarning(describe(event)).pipe(Effect.annotateLogs("cloro.event", event._tag)) : Effect.void,
          PubSub.publish(hub, event)
        )
      )

    /**
     * The warnings one usage fires, and the armed state after it. Each fires
     * when its `bad` first holds, and re-arms only once its `recovered` holds
     * and the cooldown has passed: a value hovering at the threshold, as slots
     * in use do in a busy batch, raises one warning, not one per response.
     * One pure step for all three, so `observe` touches the state once.
     */
    const crossings = (usage: Usage, now: number) => (state: Armed): readonly [ReadonlyArray<UsageEvent>, Armed] => {
      let next = state
      const fired: Array<UsageEvent> = []
      const cross = (key: WarningKind, bad: boolean, recovered: boolean, event: () => UsageEvent) => {
        const current = next[key]
        if (bad && current.armed && now - current.firedAt >= cooldownMillis) {
          next = { ...next, [key]: { armed: false, firedAt: now } }
          fired.push(event())
        } else if (recovered && !current.armed) {
          next = { ...next, [key]: { ...current, armed: true } }
        }
      }
      const credits = usage.credits.remaining
      if (credits !== undefined) {
        cross("lowCredits", credits < thresholds.lowCredits, credits >= thresholds.lowCredits, () =>
          new LowCredits({ remaining: credits, threshold: thresholds.lowCredits }))
      }
      const { current, limit } = usage.concurrency
      if (current !== undefined && limit !== undefined && limit > 0) {
        const ratio = current / limit
        cross("highConcurrency", ratio > thresholds.highConcurrency, ratio <= thresholds.highConcurrency / 2, () =>
          new HighConcurrency({ current, limit, threshold: thresholds.highConcurrency }))
      }
      const rate = usage.rateLimit.remaining
      if (rate !== undefined) {
        cross("lowRateRemaining", rate < thresholds.lowRateRemaining, rate >= thresholds.lowRateRemaining * 2, () =>
          new LowRateRemaining({ remaining: rate, limit: usage.rateLimit.limit, threshold: thresholds.lowRateRemaining }))
      }
      return [fired, next]
    }

    // Runs on every answer: the gauges are set and the clock read in one step
    // of the fiber (with its metric labels and clock, as `Metric.set` and
    // `Clock.currentTimeMillis` would), and the warnings decided in one update.
    const observe = (_path: string, usage: Usage) =>
      Input.orWarn(() =>
        !looksLikeUsage(usage)
          ? Effect.logWarning("UsageMonitor.observe ignored a value that is not a Usage")
          : Effect.withFiberRuntime((fiber) => {
            const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
            const credits = usage.credits.remaining
            if (credits !== undefined) metrics.creditsRemaining.unsafeUpdate(credits, labels)
            const current = usage.concurrency.current
            if (current !== undefined) metrics.slotsInUse.unsafeUpdate(current, labels)
            const rate = usage.rateLimit.remaining
            if (rate !== undefined) metrics.rateRemaining.unsafeUpdate(rate, labels)
            const now = clockOf(fiber).unsafeCurrentTimeMillis()
            return Effect.flatMap(
              Ref.modify(armed, crossings(usage, now)),
              (fired) => fired.length === 0 ? Effect.void : Effect.forEach(fired, publish, { discard: true })
            )
          }), "UsageMonitor.observe")

    const isLimit = (error: CloroError) =>
      error._tag === "ConcurrentLimitExceeded" || error._tag === "RateLimitExceeded" ||
      error._tag === "QueueLimitExceeded"

    // Tagged per update, with the label arrays reused (`metricLabels.ts`).
    const errorsBy = withLabel(metrics.errors, "error.type")
    const limitHitsBy = withLabel(metrics.limitHits, "error.type")
    const retriesBy = withLabel(metrics.retries, "error.type")
    const spentBy = withLabel(metrics.creditsSpent, "cloro.engine")

    return {
      observe,
      recordError: (path, error) =>
        Input.orWarn(() => Effect.gen(function*() {
          if (!Input.isRecord(error) || typeof error._tag !== "string") {
            return yield* Effect.logWarning("UsageMonitor.recordError ignored a value that is not a CloroError")
          }
          yield* errorsBy(error._tag, 1)
          if (isLimit(error)) {
            yield* limitHitsBy(error._tag, 1)
            // Published (and logged, when logging) like every other warning.
            yield* publish(new LimitHit({ errorTag: error._tag, path: typeof path === "string" ? path : Input.show(path) }))
          }
        }), "UsageMonitor.recordError"),
      recordRetry: (_path, error) =>
        Input.orWarn(() =>
          retriesBy(Input.isRecord(error) && typeof error._tag === "string" ? error._tag : "unknown", 1), "UsageMonitor.recordRetry"),
      recordSpend: (engine, credits) =>
        typeof credits === "number" && Number.isFinite(credits) && credits > 0
          ? spentBy(typeof engine === "string" ? engine : "unknown", credits)
          : Effect.void,
      events: Stream.fromPubSub(hub),
      subscribe: PubSub.subscribe(hub),
      warnings: Ref.get(raised)
    }
  }), (cause) => new UsageMonitorConfigError(ConfigIssues.unreadable("UsageMonitor", cause)))

/**
 * The monitor with warnings logged.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: UsageMonitorOptions = {}): Layer.Layer<UsageMonitor, UsageMonitorConfigError> =>
  Layer.effect(UsageMonitor, make(options))

/**
 * The monitor without log lines; events and metrics still flow.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSilent = (
  options: Omit<UsageMonitorOptions, "log"> = {}
): Layer.Layer<UsageMonitor, UsageMonitorConfigError> =>
  Layer.effect(UsageMonitor, make(Input.isRecord(options) ? { ...options, log: false } : options))
