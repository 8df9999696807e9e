/**
 * Which failures are retried, and when: a declarative `Schedule` (exponential,
 * jittered, capped, bounded in attempts and in total time) that honours
 * `Retry-After`, plus a retry budget that stops retry storms.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { CloroError } from "./CloroError.js"
import * as ConfigIssues from "./internal/configIssues.js"
import * as DurationHelper from "./internal/duration.js"
import * as Input from "./internal/request/input.js"

/**
 * The tags of errors that a retry can cure. `InvalidRequest`, `Unauthorized`,
 * `InsufficientCredits`, `Conflict`, `NotFound`, `BudgetExceeded` and the
 * admission errors are never retried: sending again cannot change them.
 *
 * @since 0.1.0
 * @category Constants
 */
export const retryableTags: ReadonlySet<CloroError["_tag"]> = new Set<CloroError["_tag"]>([
  "ConcurrentLimitExceeded",
  "RateLimitExceeded",
  "ServiceUnavailable",
  "ServerError",
  "TransportError",
  "Timeout"
])

/**
 * Whether an error is worth another attempt.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isRetryable = (error: CloroError): boolean => retryableTags.has(error._tag)

/**
 * The delay the server asked for, if any.
 *
 * @since 0.1.0
 * @category Functions
 */
export const retryAfterOf = (error: CloroError): Duration.Duration | undefined =>
  "retryAfter" in error ? error.retryAfter : undefined

/**
 * A retry budget in the manner of the AWS SDKs' retry quota: retries spend
 * tokens, successes earn them back, and when the bucket is empty errors surface
 * at once instead of multiplying the load on a server that is already down.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RetryBudgetOptions {
  /** Tokens when full (default 500). */
  readonly capacity: number
  /** Cost of one retry (default 5). */
  readonly retryCost: number
  /** Cost of retrying a timeout or a transport failure, which signal an unhealthy path (default 10). */
  readonly timeoutCost: number
  /** Tokens a successful call earns back (default 1). */
  readonly successRefund: number
}

/**
 * The settings of a retry policy.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RetryOptions {
  /** Retries after the first attempt (default 4; 0 disables retrying). */
  readonly maxRetries: number
  /** First delay (default 500 ms). */
  readonly base: Duration.Duration
  /** Growth per retry (default 2). */
  readonly factor: number
  /** Longest computed delay (default 20 s). */
  readonly maxDelay: Duration.Duration
  /** Longest total time spent retrying one call (default 2 minutes). */
  readonly maxElapsed: Duration.Duration
  /** Randomise each delay between half and all of its value (default true). */
  readonly jitter: boolean
  /** A `Retry-After` longer than this surfaces the error instead (default 60 s). */
  readonly retryAfterCap: Duration.Duration
  /** `undefined` for no budget. */
  readonly budget: RetryBudgetOptions | undefined
  /**
   * How many times one attempt refused by a concurrency 429 that the client's
   * own limiter explains (cloro's limit is below the size the limiter used)
   * goes straight back into the limiter's line, which it first shrinks, instead
   * of sleeping (default 3; 0 leaves every such 429 to the delay schedule).
   * Each requeue is a resend: it is charged to the budget like a retry, and
   * happens only when the limiter really shrank.
   */
  readonly slotRequeues: number
  /**
   * Resend a sync monitor call (`/v1/monitor/*`) that timed out or lost its
   * connection (default false). cloro keeps running an abandoned sync attempt
   * and may bill it (a client hang-up stops nothing), and a sync call has no
   * idempotency key, so a resend can be billed twice. Other calls are resent
   * after such failures only when idempotent (reads, keyed submissions).
   */
  readonly resendSyncTimeouts: boolean
}

/**
 * The default retry budget.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultBudget: RetryBudgetOptions = { capacity: 500, retryCost: 5, timeoutCost: 10, successRefund: 1 }

/**
 * The default settings.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaults: RetryOptions = {
  maxRetries: 4,
  base: Duration.millis(500),
  factor: 2,
  maxDelay: Duration.seconds(20),
  maxElapsed: Duration.minutes(2),
  jitter: true,
  retryAfterCap: Duration.seconds(60),
  budget: defaultBudget,
  slotRequeues: 3,
  resendSyncTimeouts: false
}

/**
 * Options as a caller writes them: any subset, durations in any form.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RetryOptionsInput {
  readonly maxRetries?: number | undefined
  readonly base?: Duration.DurationInput | undefined
  readonly factor?: number | undefined
  readonly maxDelay?: Duration.DurationInput | undefined
  readonly maxElapsed?: Duration.DurationInput | undefined
  readonly jitter?: boolean | undefined
  readonly retryAfterCap?: Duration.DurationInput | undefined
  readonly budget?: Partial<RetryBudgetOptions> | false | undefined
  readonly slotRequeues?: number | undefined
  readonly resendSyncTimeouts?: boolean | undefined
}

/**
 * A retry policy was configured with nonsense (a negative count, a factor
 * below 1...): one issue per bad option (`field` its name or dotted path) and
 * a message listing them.
 *
 * @since 0.1.0
 * @category Errors
 */
export class RetryPolicyError extends Schema.TaggedError<RetryPolicyError>()("RetryPolicyError", ConfigIssues.fields) {
  /**
   * The name of the first bad option.
   *
   * @deprecated Read `issues[0].field`; every config error now lists its issues. Removed in a later version.
   * @since 0.1.0
   */
  get setting(): string {
    return this.issues[0]?.field ?? "options"
  }
}

/**
 * A retry policy: its settings, its `Schedule`, and its budget.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RetryPolicyShape {
  readonly options: RetryOptions
  /**
   * The schedule over the failures of one call. It stops on errors that are
   * not retryable, on a `Retry-After` beyond the cap, after `maxRetries`, after
   * `maxElapsed`, and when the budget is spent.
   */
  readonly schedule: Schedule.Schedule<unknown, CloroError>
  /**
   * `schedule` without the budget: the delays and every stop but the budget's.
   * `CloroClient` composes it with its own conditions and charges the budget
   * (`spend`) last, so that only retries that really happen cost tokens.
   */
  readonly delays: Schedule.Schedule<unknown, CloroError>
  /** Takes the tokens of one resend caused by `error`; false (and nothing taken) when the budget cannot pay. */
  readonly spend: (error: CloroError) => Effect.Effect<boolean>
  /** Gives budget back after a success. */
  readonly onSuccess: Effect.Effect<void>
  /**
   * Tokens left in the budget; `undefined` without one (not `Infinity`,
   * which JSON would turn into `null`).
   */
  readonly budgetLeft: Effect.Effect<number | undefined>
}

/**
 * The retry policy service. `CloroClient` reads it once per call; a call can
 * override it with `CloroClient.withRetry`.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "cloro-effect"
 *
 * // Three quick retries, no jitter, no budget:
 * const Quick = RetryPolicy.layer({ maxRetries: 3, base: "100 millis", jitter: false, budget: false })
 * ```
 *
 * @since 0.1.0
 * @category Tags
 */
export class RetryPolicy extends Context.Tag("cloro-effect/RetryPolicy")<RetryPolicy, RetryPolicyShape>() {}

const validate = (raw: unknown): Effect.Effect<RetryOptions, RetryPolicyError> =>
  Effect.gen(function*() {
    const refuse = (setting: string, message: string) =>
      Effect.fail(new RetryPolicyError(ConfigIssues.one("RetryPolicy", setting, message)))
    const input = yield* ConfigIssues.options("RetryPolicy", raw, (fields) => new RetryPolicyError(fields))
    const duration = (setting: string, allow: DurationHelper.Allow, fallback: Duration.Duration) =>
      Either.match(DurationHelper.decodeOptional(setting, input[setting], allow), {
        onLeft: (issue) => Effect.fail(new RetryPolicyError(ConfigIssues.fromIssues("RetryPolicy", [issue]))),
        onRight: (value) => Effect.succeed(value ?? fallback)
      })
    const wholeNumber = (setting: string, fallback: number) => {
      const value = input[setting] ?? fallback
      return typeof value === "number" && Number.isInteger(value) && value >= 0
        ? Effect.succeed(value)
        : refuse(setting, `must be a whole number ≥ 0, got ${Input.show(value)}`)
    }
    const flag = (setting: string, fallback: boolean) => {
      const value = input[setting] ?? fallback
      return typeof value === "boolean" ? Effect.succeed(value) : refuse(setting, `must be true or false, got ${Input.show(value)}`)
    }
    const maxRetries = yield* wholeNumber("maxRetries", defaults.maxRetries)
    const slotRequeues = yield* wholeNumber("slotRequeues", defaults.slotRequeues)
    const factor = input.factor ?? defaults.factor
    if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
      return yield* refuse("factor", `must be a number ≥ 1, got ${Input.show(factor)}`)
    }
    const budgetInput = input.budget
    let budget: RetryBudgetOptions | undefined = undefined
    if (budgetInput !== false) {
      if (budgetInput !== undefined && !Input.isRecord(budgetInput)) {
        return yield* refuse("budget", `must be an object or false, got ${Input.show(budgetInput)}`)
      }
      const merged: Record<string, unknown> = { ...defaultBudget }
      for (const key of Object.keys(defaultBudget)) {
        const value = budgetInput?.[key] ?? merged[key]
        if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
          return yield* refuse(`budget.${key}`, `must be a number ≥ 0, got ${Input.show(value)}`)
        }
        merged[key] = value
      }
      budget = {
        capacity: Number(merged.capacity),
        retryCost: Number(merged.retryCost),
        timeoutCost: Number(merged.timeoutCost),
        successRefund: Number(merged.successRefund)
      }
    }
    return {
      maxRetries,
      factor,
      base: yield* duration("base", { zero: false, infinite: false }, defaults.base),
      maxDelay: yield* duration("maxDelay", { zero: true, infinite: true }, defaults.maxDelay),
      maxElapsed: yield* duration("maxElapsed", { zero: true, infinite: true }, defaults.maxElapsed),
      retryAfterCap: yield* duration("retryAfterCap", { zero: true, infinite: true }, defaults.retryAfterCap),
      jitter: yield* flag("jitter", defaults.jitter),
      budget,
      slotRequeues,
      resendSyncTimeouts: yield* flag("resendSyncTimeouts", defaults.resendSyncTimeouts)
    }
  })

/**
 * The declarative delay schedule of a policy, without the budget: exponential
 * from `base` by `factor`, jittered, capped at `maxDelay`, then lengthened to
 * `Retry-After` when the server asked for longer. Useful on its own to show or
 * test the delays a policy produces.
 *
 * @since 0.1.0
 * @category Functions
 */
export const delaySchedule = (options: RetryOptions): Schedule.Schedule<unknown, CloroError> =>
  Schedule.exponential(options.base, options.factor).pipe(
    // Capped before jitter: jittering first would make every delay past the cap exactly maxDelay.
    Schedule.modifyDelay((_, delay) => Duration.min(delay, options.maxDelay)),
    options.jitter ? Schedule.jitteredWith({ min: 0.5, max: 1 }) : identity,
    // Whole milliseconds: a fractional sleep leaves TestClock at a fractional instant, and its
    // currentTimeNanos (read by every span) then throws a RangeError from BigInt, a defect in users' tests.
    Schedule.modifyDelay((_, delay) => Duration.millis(Math.ceil(Duration.toMillis(delay)))),
    Schedule.intersect(Schedule.recurs(options.maxRetries)),
    Schedule.intersect(Schedule.identity<CloroError>()),
    Schedule.whileInput(isRetryable),
    Schedule.whileInput((error: CloroError) => {
      const retryAfter = retryAfterOf(error)
      return retryAfter === undefined || Duration.lessThanOrEqualTo(retryAfter, options.retryAfterCap)
    }),
    // Retry-After wins when it is longer than our own delay: the server knows when it recovers.
    Schedule.modifyDelay(([, error], delay) => {
      const retryAfter = retryAfterOf(error)
      return retryAfter === undefined ? delay : Duration.max(delay, retryAfter)
    }),
    // Bounded by the end of the sleep, not its start (as `Schedule.upTo` would
    // be): a last delay or Retry-After must not carry the call past maxElapsed.
    Schedule.delays,
    Schedule.intersect(Schedule.elapsed),
    Schedule.whileOutput(([delay, elapsed]) =>
      Duration.lessThanOrEqualTo(Duration.sum(elapsed, delay), options.maxElapsed)
    )
  )

const costOf = (budget: RetryBudgetOptions, error: CloroError): number =>
  error._tag === "Timeout" || error._tag === "TransportError" ? budget.timeoutCost : budget.retryCost

/**
 * Builds a policy (with its own budget) from options.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (input: RetryOptionsInput = {}): Effect.Effect<RetryPolicyShape, RetryPolicyError> =>
  Input.guard(() =>
    Effect.gen(function*() {
      const options = yield* validate(input)
      const delays = delaySchedule(options)
      const budget = options.budget
      if (budget === undefined) {
        return {
          options,
          schedule: delays,
          delays,
          spend: () => Effect.succeed(true),
          onSuccess: Effect.void,
          budgetLeft: Effect.succeed(undefined)
        }
      }
      const tokens = yield* Ref.make(budget.capacity)
      const spend = (error: CloroError) =>
        Ref.modify(tokens, (left) => {
          const cost = costOf(budget, error)
          return left >= cost ? [true, left - cost] : [false, left]
        })
      return {
        options,
        schedule: delays.pipe(Schedule.checkEffect((error: CloroError) => spend(error))),
        delays,
        spend,
        onSuccess: Ref.update(tokens, (left) => Math.min(budget.capacity, left + budget.successRefund)),
        budgetLeft: Ref.get(tokens)
      }
    }), (cause) => new RetryPolicyError(ConfigIssues.unreadable("RetryPolicy", cause)))

/**
 * The policy that never resends: each call is sent exactly once (no retry,
 * no requeue after a concurrency 429).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const none: RetryPolicyShape = {
  options: { ...defaults, maxRetries: 0, budget: undefined, slotRequeues: 0, resendSyncTimeouts: false },
  schedule: Schedule.stop,
  delays: Schedule.stop,
  spend: () => Effect.succeed(false),
  onSuccess: Effect.void,
  budgetLeft: Effect.succeed(undefined)
}

/**
 * A layer with a policy built from options.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (input: RetryOptionsInput = {}): Layer.Layer<RetryPolicy, RetryPolicyError> =>
  Layer.effect(RetryPolicy, make(input))

/**
 * The default policy: 4 retries from 500 ms doubling, half-to-full jitter,
 * capped at 20 s per delay and 2 minutes in all, `Retry-After` honoured up to
 * 60 s, with a retry budget.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerDefault: Layer.Layer<RetryPolicy> = Layer.effect(RetryPolicy, Effect.orDie(make()))

/**
 * A layer that never retries.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerNone: Layer.Layer<RetryPolicy> = Layer.succeed(RetryPolicy, none)
