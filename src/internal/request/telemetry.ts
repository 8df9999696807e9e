/**
 * Spans, metrics and debug logs of a call, after the OpenTelemetry HTTP client
 * conventions: the library's span around a whole call (limits, retries) is
 * INTERNAL and named after the public function called (`CloroClient.monitor.chatgpt`,
 * as `AsyncTasks.wait` and `Webhooks.verify` are), and the platform's span
 * around each HTTP attempt is CLIENT, named `{method} {route}`; names use
 * route templates, never task ids; attributes that have no value are left
 * out; failures carry `error.type`; each attempt is measured in the
 * `http.client.request.duration` histogram, in seconds.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { CloroLogLevel } from "../../CloroLog.js"
import { clockOf } from "../fiberClock.js"
import { joinedLabels } from "../metricLabels.js"

/** What telemetry needs to know of a call. */
export interface CallInfo {
  readonly method: string
  readonly path: string
  readonly route?: string | undefined
}

/** The route template of a call (`/v1/async/task/{taskId}`), or its path when it has no parameters. */
export const routeOf = (call: CallInfo): string => call.route ?? call.path

/**
 * Seconds per HTTP attempt. The buckets are the conventions' advice, extended
 * to two minutes because an engine answer routinely takes 10 to 60 seconds.
 */
export const requestDuration = Metric.histogram(
  "http.client.request.duration",
  MetricBoundaries.fromIterable([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 15, 30, 60, 120]),
  "Duration of HTTP client requests to cloro"
)

// ---------------------------------------------------------------------------
// debug logging

/** Whether debug logging is on for the current call; set once per call by `span`. */
const currentDebug = FiberRef.unsafeMake(false)

/**
 * Whether `CLORO_LOG` asks for debug logging (any case, surrounding spaces
 * ignored). A client reads it once, when it is built, not on every call: a
 * config read per call cost more than the rest of the call's telemetry.
 */
export const envDebug: Effect.Effect<boolean> = Config.option(Config.string("CLORO_LOG")).pipe(
  Effect.map(Option.exists((value) => value.trim().toLowerCase() === "debug")),
  Effect.orElseSucceed(() => false)
)

/** Logs at Debug level, visible whatever the application's minimum level. */
const debugNow = (message: string): Effect.Effect<void> =>
  Effect.logDebug(message).pipe(Effect.locally(FiberRef.currentMinimumLogLevel, LogLevel.Debug))

/** Logs at Debug level, visible whatever the application's minimum level, only when debug logging is on. */
export const debug = (message: string): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => fiber.getFiberRef(currentDebug) ? debugNow(message) : Effect.void)

const formatMillis = (millis: number) => millis <= 0 ? "0ms" : Duration.format(Duration.millis(Math.round(millis)))

/**
 * Runs `body` with an `admitted` effect to call at the moment the wait for
 * `what` ends; with debug logging on, it logs how long the wait took when it
 * took any time. Off, no clock is read.
 */
export const waitFor = <A, E, R>(
  call: CallInfo,
  what: string,
  body: (admitted: Effect.Effect<void>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) =>
    fiber.getFiberRef(currentDebug)
      ? Effect.flatMap(Clock.currentTimeMillis, (start) =>
        body(Effect.flatMap(Clock.currentTimeMillis, (now) =>
          now > start
            ? debug(`cloro ${call.method} ${routeOf(call)}: waited ${formatMillis(now - start)} for ${what}`)
            : Effect.void)))
      : body(Effect.void))

/** Logs a retry the schedule decided on, with the error that caused it and the delay before it. */
export const logRetry = (call: CallInfo, error: { readonly _tag: string }, delay: Duration.Duration) =>
  debug(`cloro ${call.method} ${routeOf(call)}: retrying after ${error._tag} in ${Duration.format(delay)}`)

/** Logs a concurrency 429 that the client's own limiter explains, sending the call back to its line. */
export const logRequeue = (call: CallInfo, serverLimit: number, sizeAdmitted: number) =>
  debug(
    `cloro ${call.method} ${routeOf(call)}: concurrency 429 with the server's limit ${serverLimit} below ` +
      `the limiter's ${sizeAdmitted}; back to the limiter's line`
  )

// ---------------------------------------------------------------------------
// the span around a call

/**
 * The library's span around one call, through its limits and retries. It is
 * INTERNAL: the CLIENT span of each HTTP attempt is the platform's, inside it.
 * Also decides, once per call, whether debug logging is on.
 */
export const span = (call: CallInfo, tag: string | undefined, operation: string | undefined, fromEnv = false) =>
<A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  // `Effect.withSpan` would cost two acquire/use/release regions (the span, then its parent context);
  // this is one: the span opened, made the parent, and on any exit the context put back and the span ended.
  withDebug(fromEnv)(Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(openSpan(call, tag, operation), (span) =>
      Effect.flatMap(
        FiberRef.modify(FiberRef.currentContext, (outer) => [outer, Context.add(outer, Tracer.ParentSpan, span)]),
        (outer) => {
          const close = (exit: Exit.Exit<A, E>) =>
            Effect.zipRight(
              FiberRef.set(FiberRef.currentContext, outer),
              Effect.withFiberRuntime<A, E>((fiber) => {
                endSpanNow(span, exit, clockOf(fiber).unsafeCurrentTimeNanos())
                return exit
              })
            )
          return Effect.matchCauseEffect(restore(self), {
            onFailure: (cause) => close(Exit.failCause(cause)),
            onSuccess: (value) => close(Exit.succeed(value))
          })
        }
      ))
  ))

const spanName = (call: CallInfo, operation: string | undefined): string =>
  operation === undefined ? `CloroClient ${call.method} ${routeOf(call)}` : `CloroClient.${operation}`

const spanOptions = (call: CallInfo, tag: string | undefined): Tracer.SpanOptions => {
  const attributes: Record<string, string> = { "http.request.method": call.method, "url.template": routeOf(call) }
  if (tag !== undefined) attributes["cloro.tag"] = tag
  // The call site is always the same line, so a captured stack would only cost time.
  return { captureStackTrace: false, kind: "internal", attributes }
}

/**
 * Decides, once per call, whether debug logging is on for `self`; `fromEnv`
 * is the client's `envDebug`. The fiber ref is set only when it would change
 * (nearly never: debug logging is off by default), because setting one for a
 * region costs more operations than the rest of the call's telemetry.
 */
export const withDebug = (fromEnv: boolean) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const level = Context.get(fiber.currentContext, CloroLogLevel)
    const on = level !== undefined ? level === "debug" : fromEnv
    return on === fiber.getFiberRef(currentDebug) ? self : Effect.locally(self, currentDebug, on)
  })

/**
 * The same span as `span`, opened by hand, for a call that opens it only
 * once admitted and ends it after its last attempt (`endSpan`); its children
 * are run under it with `Effect.withParentSpan`.
 */
export const openSpan = (call: CallInfo, tag: string | undefined, operation: string | undefined) =>
  Effect.makeSpan(spanName(call, operation), spanOptions(call, tag))

/** Ends a span opened by `openSpan` with the call's outcome, marking a failure's `error.type`. */
export const endSpan = (
  span: Tracer.Span,
  exit: Exit.Exit<unknown, { readonly _tag: string }>
): Effect.Effect<void> => Effect.map(Clock.currentTimeNanos, (now) => endSpanNow(span, exit, now))

const endSpanNow = (span: Tracer.Span, exit: Exit.Exit<unknown, { readonly _tag: string }>, now: bigint): void => {
  if (span.status._tag === "Ended") return
  if (Exit.isFailure(exit)) {
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) span.attribute("error.type", failure.value._tag)
  }
  span.end(now, exit)
}

// ---------------------------------------------------------------------------
// one HTTP attempt

/** The facts of one answered exchange that telemetry reads. */
export interface Exchange {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
}

/** `server.address` and `server.port` of a base URL: parsed once per client, not on every attempt. */
export const serverOf = (baseUrl: string): ReadonlyArray<MetricLabel.MetricLabel> => {
  try {
    const url = new URL(baseUrl)
    const port = url.port !== "" ? url.port : url.protocol === "http:" ? "80" : "443"
    return [MetricLabel.make("server.address", url.hostname), MetricLabel.make("server.port", port)]
  } catch {
    return []
  }
}

/**
 * The labels of `requestDuration` for each outcome (method, route template,
 * server and outcome, so there are few), joined with the fiber's own once per
 * set: the metric then finds its state by the array, without building its key
 * again on every attempt (`metricLabels.ts`).
 */
const durationLabels = joinedLabels()

/** The name of the platform's CLIENT span of one attempt: `{method} {url.template}`. */
export const clientSpanName = (call: CallInfo): string => `${call.method} ${routeOf(call)}`

/**
 * `context` with the platform's CLIENT span named for `call`
 * (`clientSpanName`): for a fiber started with its context set, where
 * providing the name would cost a region of its own.
 */
export const namingClientSpan = (call: CallInfo) => {
  const name = clientSpanName(call)
  const generator = () => name
  return (context: Context.Context<never>): Context.Context<never> =>
    Context.add(context, HttpClient.SpanNameGenerator, generator)
}

/**
 * Measures one HTTP attempt: names the platform's CLIENT span
 * (`clientSpanName`; not when `named`, where the exchange's fiber was started
 * with the name in its context), records its duration with its status code
 * or `error.type`, and logs it when debug logging is on.
 *
 * The recording is one step run in the fiber (clock read, histogram update,
 * debug check): this runs on every attempt.
 */
export const exchange = (call: CallInfo, server: ReadonlyArray<MetricLabel.MetricLabel>, named = false) => {
  const route = routeOf(call)
  const name = clientSpanName(call)
  const prefix = `${name} ${server.map((label) => label.value).join(" ")} `
  /** One outcome's labels, built only the first time the outcome is seen (`durationLabels` keeps them). */
  const labelsOf = (extra: () => ReadonlyArray<MetricLabel.MetricLabel>) => (): ReadonlyArray<MetricLabel.MetricLabel> => [
    MetricLabel.make("http.request.method", call.method),
    MetricLabel.make("url.template", route),
    MetricLabel.make("unit", "s"),
    ...server,
    ...extra()
  ]
  const statusLabels = (status: number) => () => {
    const labels = [MetricLabel.make("http.response.status_code", String(status))]
    if (status >= 400) labels.push(MetricLabel.make("error.type", String(status)))
    return labels
  }
  /** Records the attempt that began at `start`; `message` is built only when debug logging is on. */
  const record = (
    start: number,
    outcome: string,
    labels: () => ReadonlyArray<MetricLabel.MetricLabel>,
    message: (millis: number) => string
  ): Effect.Effect<void> =>
    Effect.withFiberRuntime((fiber) => {
      const millis = clockOf(fiber).unsafeCurrentTimeMillis() - start
      const joined = durationLabels(prefix + outcome, labels, fiber.getFiberRef(FiberRef.currentMetricLabels))
      requestDuration.unsafeUpdate(Math.max(0, millis) / 1000, joined)
      return fiber.getFiberRef(currentDebug) ? debugNow(message(millis)) : Effect.void
    })
  return <A extends Exchange, E extends { readonly _tag: string }, R>(
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, R> =>
    Effect.flatMap(Clock.currentTimeMillis, (start) =>
      Effect.matchEffect(named ? self : Effect.provideService(self, HttpClient.SpanNameGenerator, () => name), {
        onSuccess: (answer) =>
          Effect.as(
            record(start, String(answer.status), labelsOf(statusLabels(answer.status)), (millis) => {
              const requestId = answer.headers["x-request-id"]
              return `cloro ${name}: ${answer.status} in ${formatMillis(millis)}` +
                (requestId === undefined ? "" : ` (request id ${requestId})`)
            }),
            answer
          ),
        onFailure: (error) =>
          Effect.zipRight(
            record(
              start,
              `error ${error._tag}`,
              labelsOf(() => [MetricLabel.make("error.type", error._tag)]),
              (millis) => `cloro ${name}: ${error._tag} after ${formatMillis(millis)}`
            ),
            Effect.fail(error)
          )
      }))
}
