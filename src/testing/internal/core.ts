/**
 * The simulator's one core: `handle` turns a plain request into a plain
 * response, whichever way it arrived (the in-memory `HttpClient` or the
 * loopback server), and background fibers run the async queue and deliver
 * webhooks. Time is Effect's `Clock`, so `TestClock` drives it in memory.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { FieldIssue, InvalidRequest } from "../../CloroError.js"
import * as Engine from "../../Engine.js"
import * as Pricing from "../../Pricing.js"
import { blockedCountries, countryCodes } from "../../engines/Common.js"
import * as GoogleGoto from "../../engines/GoogleGoto.js"
import * as Task from "../../Task.js"
import * as Webhooks from "../../Webhooks.js"
import type { Config, Distribution, EngineName, FaultKind, FaultRate, FaultScriptEntry } from "./config.js"
import { accountId, apiKeyPattern, defaultRateLimit } from "./config.js"
import { generate, type Json, resolveRedirect } from "./generators.js"
import * as Prng from "./prng.js"
import * as State from "./state.js"
import { usStateNames } from "./states.js"

/** A request as both adapters hand it over. Header names are lower-case. @internal */
export interface SimRequest {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** @internal */
export interface SimResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * The connection was dropped without an answer (an injected `reset`). The
 * in-memory client turns it into a transport `RequestError`; the server
 * destroys the socket.
 *
 * @internal
 */
export class ConnectionReset extends Data.TaggedError("ConnectionReset")<{ readonly requestId: string }> {}

/** @internal */
export interface Core {
  readonly config: Config
  readonly state: Ref.Ref<State.State>
  readonly handle: (request: SimRequest) => Effect.Effect<SimResponse, ConnectionReset>
  readonly accountIdOf: (apiKeyOrId: string) => string | undefined
  /** Starts any QUEUED task that has a free slot. */
  readonly wake: Effect.Effect<void>
}

// ---------------------------------------------------------------------------
// routes
// ---------------------------------------------------------------------------

type Route =
  | { readonly _tag: "Monitor"; readonly engine: EngineName }
  | { readonly _tag: "Goto" }
  | { readonly _tag: "Submit" }
  | { readonly _tag: "Batch" }
  | { readonly _tag: "GetTask"; readonly taskId: string }
  | { readonly _tag: "Status" }
  | { readonly _tag: "ClearQueue" }
  | { readonly _tag: "Credits" }
  | { readonly _tag: "Countries" }
  | { readonly _tag: "States" }

interface Matched {
  readonly route: Route
  /** The template, used for rate buckets, counters and fault matching. */
  readonly endpoint: string
}

const monitorPaths: ReadonlyMap<string, EngineName> = new Map(
  Engine.names.map((name) => [Engine.engines[name].path, name] as const)
)

const taskPath = /^\/v1\/async\/task\/([^/]+)$/

/** A malformed escape is an id that matches no task, not a crash. */
const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

const matchRoute = (method: string, path: string): Matched | undefined => {
  if (method === "POST") {
    const engine = monitorPaths.get(path)
    if (engine !== undefined) return { route: { _tag: "Monitor", engine }, endpoint: path }
    if (path === GoogleGoto.path) return { route: { _tag: "Goto" }, endpoint: path }
    if (path === "/v1/async/task") return { route: { _tag: "Submit" }, endpoint: path }
    if (path === "/v1/async/task/batch") return { route: { _tag: "Batch" }, endpoint: path }
    return undefined
  }
  if (method === "GET") {
    const task = taskPath.exec(path)
    if (task !== null && task[1] !== undefined && task[1] !== "batch") {
      return { route: { _tag: "GetTask", taskId: safeDecode(task[1]) }, endpoint: "/v1/async/task/{taskId}" }
    }
    if (path === "/v1/async/status") return { route: { _tag: "Status" }, endpoint: path }
    if (path === "/v1/credits") return { route: { _tag: "Credits" }, endpoint: path }
    if (path === "/v1/countries") return { route: { _tag: "Countries" }, endpoint: path }
    if (path === "/v1/states") return { route: { _tag: "States" }, endpoint: path }
    return undefined
  }
  if (method === "DELETE" && path === "/v1/async/queue") return { route: { _tag: "ClearQueue" }, endpoint: path }
  return undefined
}

// ---------------------------------------------------------------------------
// answers
// ---------------------------------------------------------------------------

/** A response before the common headers and post-processing faults are applied. */
interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly code?: string | undefined
}

const json = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Answer => ({
  status,
  headers,
  body: JSON.stringify(body)
})

const iso = (millis: number): string => new Date(millis).toISOString()

const errorEnvelope = (code: string, message: string, details: unknown, now: number) => ({
  success: false,
  error: { code, message, ...(details === undefined ? {} : { details }), timestamp: iso(now) }
})

const failure = (
  status: number,
  code: string,
  message: string,
  now: number,
  options: { readonly details?: unknown; readonly headers?: Readonly<Record<string, string>> } = {}
): Answer => ({ ...json(status, errorEnvelope(code, message, options.details, now), options.headers), code })

const issueDetails = (issues: ReadonlyArray<FieldIssue>) => issues.map(({ field, message }) => ({ field, message }))

const parseJson = (body: string): Either.Either<unknown, string> => {
  if (body.trim().length === 0) return Either.left("The request body is empty; send a JSON object")
  try {
    return Either.right(JSON.parse(body))
  } catch {
    return Either.left("The request body is not valid JSON")
  }
}

const invalidJson = (message: string, now: number): Answer =>
  failure(400, "VALIDATION_ERROR", "Request validation failed", now, { details: [{ field: "(body)", message }] })

// ---------------------------------------------------------------------------
// latency
// ---------------------------------------------------------------------------

/** @internal */
export const sample = (distribution: Distribution, prng: Prng.Prng): number => {
  switch (distribution._tag) {
    case "Fixed":
      return distribution.millis
    case "Uniform":
      return Math.round(distribution.min + prng.float("u") * (distribution.max - distribution.min))
    case "LogNormal": {
      // Box-Muller: one standard normal draw from two uniforms.
      const u1 = Math.max(prng.float("u1"), Number.EPSILON)
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * prng.float("u2"))
      const value = Math.round(distribution.median * Math.exp(distribution.sigma * z))
      return distribution.max === undefined ? value : Math.min(value, distribution.max)
    }
  }
}

// ---------------------------------------------------------------------------
// faults
// ---------------------------------------------------------------------------

/** Faults that replace the answer. */
type AnswerFault = "500" | "502" | "503" | "429" | "stall"

/** Faults that mangle an answer that was otherwise produced (and charged) normally. */
type MangleFault = "malformedHeaders" | "missingHeaders" | "garbageBody"

type Classified =
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Answer"; readonly kind: AnswerFault }
  | { readonly _tag: "Mangle"; readonly kind: MangleFault }

const classify = (kind: FaultKind): Classified => {
  switch (kind) {
    case "reset":
      return { _tag: "Reset" }
    case "500":
    case "502":
    case "503":
    case "429":
    case "stall":
      return { _tag: "Answer", kind }
    case "malformedHeaders":
    case "missingHeaders":
    case "garbageBody":
      return { _tag: "Mangle", kind }
  }
}

interface Outcome {
  readonly answer: Answer | "reset"
  readonly accountId: string | undefined
  readonly mangle: MangleFault | undefined
}

const outcome = (answer: Answer | "reset", accountId?: string, mangle?: MangleFault): Outcome => ({
  answer,
  accountId,
  mangle
})

interface Fault {
  readonly kind: FaultKind
  readonly rule: Pick<FaultScriptEntry, "retryAfter" | "stallMillis" | "code">
}

const rateFault = (rate: FaultRate | undefined, target: State.FaultTarget, prng: Prng.Prng): Fault | undefined =>
  rate !== undefined && State.faultMatches(rate, target) && prng.chance("fault", rate.rate)
    ? { kind: prng.pick("fault.kind", rate.faults), rule: rate }
    : undefined

/** The script first (consuming one of its entries), then the random rate. */
const takeFault = (state: State.State, target: State.FaultTarget, prng: Prng.Prng): [Fault | undefined, State.State] => {
  const [scripted, next] = State.takeScripted(state, target)
  return [scripted !== undefined ? { kind: scripted.fault, rule: scripted } : rateFault(next.faultRate, target, prng), next]
}

const garble = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const garbage = ["lots", "-1", "1e3", "", "12abc", "NaN"] as const
  return Object.fromEntries(
    Object.entries(headers).map(([name, value], i) =>
      name.toLowerCase().startsWith("x-") ? [name, garbage[i % garbage.length] ?? ""] : [name, value]
    )
  )
}

const stripCustomHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !name.toLowerCase().startsWith("x-")))

// ---------------------------------------------------------------------------
// the core
// ---------------------------------------------------------------------------

const allowedCountryModels = ["aimode", "aioverview", "chatgpt", "copilot", "gemini", "google", "grok", "perplexity"] as const

/** `aioverview` is served by Google Search, so it shares Google's countries. */
const blockedByModel: ReadonlyMap<string, ReadonlyArray<string>> = new Map<string, ReadonlyArray<string>>([
  ...Object.entries(blockedCountries),
  ["aioverview", blockedCountries.google]
])

const countriesFor = (model: string | undefined): ReadonlyArray<string> => {
  const blocked = (model === undefined ? undefined : blockedByModel.get(model)) ?? []
  return countryCodes.filter((code) => !blocked.includes(code))
}

const parseIssues = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    field: issue.path.map(String).join(".") || "(body)",
    message: issue.message
  }))

interface Authenticated {
  readonly accountId: string
  readonly rateHeaders: Readonly<Record<string, string>>
}

/** @internal */
export const make = (
  config: Config,
  options: { readonly webhookClient?: HttpClient.HttpClient | undefined }
): Effect.Effect<Core, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const state = yield* Ref.make(State.initial(config))
    const wakeQueue = yield* Queue.sliding<void>(1)
    const wake = Queue.offer(wakeQueue, undefined).pipe(Effect.asVoid)

    const keys: ReadonlyMap<string, string> = new Map(config.accounts.map((a, i) => [a.apiKey, a.id ?? accountId(i)]))
    const ids: ReadonlySet<string> = new Set(keys.values())
    const accountIdOf = (apiKeyOrId: string): string | undefined =>
      keys.get(apiKeyOrId) ?? (ids.has(apiKeyOrId) ? apiKeyOrId : undefined)

    const rateLimit = config.rateLimit.limit ?? defaultRateLimit(config.rateLimit.mode)
    const prefix = config.concurrencyHeaderPrefix
    const concurrencyHeaders = (limit: number, current: number): Record<string, string> => ({
      [`${prefix}-Limit`]: String(limit),
      [`${prefix}-Current`]: String(current),
      [`${prefix}-Remaining`]: String(Math.max(0, limit - current))
    })
    const latencyOf = (engine: EngineName): Distribution => config.latency.engines[engine] ?? config.latency.default
    const resultPrng = (engine: EngineName, body: unknown) => Prng.make(config.seed, `${engine}:${Prng.canonical(body)}`)

    // -------------------------------------------------------------------------
    // authentication and the per-second limit
    // -------------------------------------------------------------------------

    const authenticate = (
      request: SimRequest,
      endpoint: string,
      now: number
    ): Effect.Effect<Either.Either<Authenticated, Answer>> =>
      Effect.gen(function*() {
        const header = request.headers["authorization"]
        // cloro reads only the exact `Bearer ` prefix; `bearer x` counts as no key at all.
        if (header === undefined || !header.startsWith("Bearer ") || header.slice(7).trim().length === 0) {
          return Either.left(
            failure(401, "MISSING_API_KEY", "Missing API key: send Authorization: Bearer <your API key>", now)
          )
        }
        const key = header.slice(7).trim()
        if (!apiKeyPattern.test(key)) {
          return Either.left(failure(401, "INVALID_API_KEY_FORMAT", "The API key is malformed", now))
        }
        const id = keys.get(key)
        if (id === undefined) {
          return Either.left(failure(401, "INVALID_OR_EXPIRED_API_KEY", "The API key is invalid or expired", now))
        }
        const bucket = config.rateLimit.mode === "shared" ? id : `${id} ${endpoint}`
        const decision = yield* Ref.modify(
          state,
          (s) => State.takeRate(s, bucket, now, rateLimit, config.rateLimit.window)
        )
        const rateHeaders = {
          "X-RateLimit-Limit": String(rateLimit),
          "X-RateLimit-Remaining": String(decision.remaining)
        }
        if (!decision.allowed) {
          return Either.left(
            failure(
              429,
              "RATE_LIMIT_EXCEEDED",
              `Rate limit exceeded: at most ${rateLimit} requests per second${
                config.rateLimit.mode === "shared" ? "" : " per endpoint"
              }`,
              now,
              { headers: rateHeaders }
            )
          )
        }
        return Either.right({ accountId: id, rateHeaders })
      })

    // -------------------------------------------------------------------------
    // sync monitor endpoints
    // -------------------------------------------------------------------------

    const monitor = (engine: EngineName, request: SimRequest, auth: Authenticated, seq: number) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const parsed = parseJson(request.body)
        if (Either.isLeft(parsed)) return invalidJson(parsed.left, now)
        const validated = Engine.validate(engine, parsed.right)
        if (Either.isLeft(validated)) {
          return failure(400, "VALIDATION_ERROR", "Request validation failed", now, {
            details: issueDetails(validated.left.issues)
          })
        }
        const body = validated.right
        const estimate = Pricing.estimate(engine, body, { mode: "sync" })
        const serve = (account: State.Account) =>
          Effect.gen(function*() {
            const slotHeaders = concurrencyHeaders(account.concurrency, account.inFlight)
            yield* Effect.sleep(Duration.millis(sample(latencyOf(engine), Prng.make(config.seed, `latency:${seq}`))))
            const generated = generate(engine, resultPrng(engine, body), body)
            const price = Pricing.charge(engine, body, { mode: "sync", productClusters: generated.productClusters })
            const charged = yield* Ref.modify(state, (s) => State.charge(s, auth.accountId, price))
            const done = yield* Clock.currentTimeMillis
            if (charged === undefined) {
              return failure(403, "INSUFFICIENT_CREDITS", `Insufficient credits: this request costs ${price}`, done, {
                headers: slotHeaders
              })
            }
            return json(200, { success: true, result: generated.result }, {
              ...slotHeaders,
              "X-Credits-Charged": String(price),
              "X-Credits-Remaining": String(charged.balance)
            })
          })
        const release = Ref.update(state, (s) => State.release(s, auth.accountId)).pipe(Effect.zipRight(wake))
        // Taking the slot and arming its release happen without a gap an interruption could fall into.
        return yield* Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(Ref.modify(state, (s) => State.admit(s, auth.accountId, estimate)), (admission) => {
            switch (admission._tag) {
              case "UnknownAccount":
                return Effect.succeed(
                  failure(401, "INVALID_OR_EXPIRED_API_KEY", "The API key is invalid or expired", now)
                )
              case "ConcurrencyExceeded":
                return Effect.succeed(failure(
                  429,
                  config.concurrencyCode,
                  `Concurrent request limit reached: your plan allows ${admission.account.concurrency} at once`,
                  now,
                  {
                    details: { limit: admission.account.concurrency },
                    headers: concurrencyHeaders(admission.account.concurrency, admission.account.inFlight)
                  }
                ))
              case "InsufficientCredits":
                return Effect.succeed(
                  failure(403, "INSUFFICIENT_CREDITS", `Insufficient credits: this request costs ${estimate}`, now, {
                    details: { required: estimate, remaining: admission.account.balance },
                    headers: concurrencyHeaders(admission.account.concurrency, admission.account.inFlight)
                  })
                )
              case "Admitted":
                return restore(serve(admission.account)).pipe(Effect.ensuring(release))
            }
          })
        )
      })

    const goto = (request: SimRequest, seq: number) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const parsed = parseJson(request.body)
        if (Either.isLeft(parsed)) return invalidJson(parsed.left, now)
        const decoded = Schema.decodeUnknownEither(GoogleGoto.Request, { errors: "all", onExcessProperty: "error" })(
          parsed.right
        )
        if (Either.isLeft(decoded)) {
          return failure(400, "VALIDATION_ERROR", "Request validation failed", now, {
            details: parseIssues(decoded.left)
          })
        }
        yield* Effect.sleep(Duration.millis(sample(config.latency.goto, Prng.make(config.seed, `latency:${seq}`))))
        const url = new URL(decoded.right.url)
        return json(200, { url: resolveRedirect(url, Prng.make(config.seed, `goto:${decoded.right.url}`)) })
      })

    // -------------------------------------------------------------------------
    // async tasks
    // -------------------------------------------------------------------------

    const summary = (task: State.Task) => ({
      id: task.id,
      taskType: task.taskType,
      status: task.status,
      priority: task.priority,
      createdAt: iso(task.createdAt),
      latencyMs: task.startedAt !== null && task.finishedAt !== null ? task.finishedAt - task.startedAt : null,
      idempotencyKey: task.idempotencyKey
    })

    const taskCredits = (task: State.Task) => ({
      creditsToCharge: task.creditsToCharge,
      creditsCharged: task.creditsCharged
    })

    /** The GET-task object; webhooks send it without the `webhook` block. */
    const taskView = (task: State.Task, withWebhook: boolean): Json => ({
      task: summary(task),
      credits: taskCredits(task),
      ...(withWebhook && task.webhook !== null && (task.status === "COMPLETED" || task.status === "FAILED")
        ? {
          webhook: {
            url: task.webhook.url,
            deliveredAt: task.webhook.deliveredAt === null ? null : iso(task.webhook.deliveredAt),
            delivered: task.webhook.delivered
          }
        }
        : {}),
      ...(task.response === null ? {} : { response: task.response })
    })

    type Admitted =
      | { readonly _tag: "Queued"; readonly task: State.Task }
      | { readonly _tag: "Conflict"; readonly key: string }
      | { readonly _tag: "InsufficientCredits"; readonly estimate: number; readonly balance: number }

    /** Admits one validated task into the queue; the queue cap is checked by the caller. */
    const admitTask = (s: State.State, submit: Task.SubmitTask, id: string, now: number): [Admitted, State.State] => {
      const engine = Engine.fromTaskType(submit.taskType).name
      const key = submit.idempotencyKey ?? null
      if (key !== null && State.idempotencyOwner(s, id, key, now, config.taskRetention) !== undefined) {
        return [{ _tag: "Conflict", key }, s]
      }
      const estimate = Pricing.estimate(engine, submit.payload, { mode: "async" })
      const balance = State.account(s, id)?.balance ?? 0
      if (balance < estimate) return [{ _tag: "InsufficientCredits", estimate, balance }, s]
      const [seq, s1] = State.nextTaskSeq(s)
      const task: State.Task = {
        id: Prng.make(config.seed, `task:${seq}`).uuid("id"),
        seq,
        accountId: id,
        engine,
        taskType: submit.taskType,
        payload: submit.payload,
        priority: submit.priority ?? 1,
        createdAt: now,
        idempotencyKey: key,
        status: "QUEUED",
        startedAt: null,
        finishedAt: null,
        creditsToCharge: estimate,
        creditsCharged: null,
        response: null,
        webhook: submit.webhook === undefined
          ? null
          : { url: submit.webhook.url, delivered: false, deliveredAt: null, attempts: 0 }
      }
      return [{ _tag: "Queued", task }, State.enqueue(s1, task)]
    }

    const queueFull = (now: number) =>
      failure(429, "QUEUE_LIMIT_EXCEEDED", `The async queue is full (${config.queueLimit} QUEUED tasks)`, now, {
        details: { limit: config.queueLimit }
      })

    const conflict = (key: string, now: number) =>
      failure(409, "RESOURCE_ALREADY_EXISTS", `A task with idempotencyKey ${JSON.stringify(key)} already exists`, now, {
        details: { field: "idempotencyKey", value: key }
      })

    const submit = (request: SimRequest, auth: Authenticated) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const parsed = parseJson(request.body)
        if (Either.isLeft(parsed)) return invalidJson(parsed.left, now)
        const validated = Task.validateSubmit(parsed.right)
        if (Either.isLeft(validated)) {
          return failure(400, "VALIDATION_ERROR", "Request validation failed", now, {
            details: issueDetails(validated.left.issues)
          })
        }
        const admitted = yield* Ref.modify(state, (s): [Admitted | "full", State.State] =>
          State.queuedCount(s, auth.accountId) >= config.queueLimit
            ? ["full", s]
            : admitTask(s, validated.right, auth.accountId, now))
        if (admitted === "full") return queueFull(now)
        switch (admitted._tag) {
          case "Conflict":
            return conflict(admitted.key, now)
          case "InsufficientCredits":
            return failure(
              403,
              "INSUFFICIENT_CREDITS",
              `Insufficient credits: this task is estimated at ${admitted.estimate}`,
              now,
              { details: { required: admitted.estimate, remaining: admitted.balance } }
            )
          case "Queued":
            yield* wake
            return json(200, { success: true, task: summary(admitted.task), credits: taskCredits(admitted.task) })
        }
      })

    const batch = (request: SimRequest, auth: Authenticated) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const parsed = parseJson(request.body)
        if (Either.isLeft(parsed)) return invalidJson(parsed.left, now)
        const items = parsed.right
        if (!Array.isArray(items) || items.length === 0 || items.length > Task.maxBatchSize) {
          return failure(400, "VALIDATION_ERROR", "Request validation failed", now, {
            details: [{
              field: "(body)",
              message: `Expected an array of 1 to ${Task.maxBatchSize} tasks (got ${
                Array.isArray(items) ? `${items.length} tasks` : "not an array"
              })`
            }]
          })
        }
        const validated = items.map((item) => Task.validateSubmit(item))
        const valid = validated.filter(Either.isRight).length
        type Item = Json
        const batchItem = (
          current: State.State,
          v: Either.Either<Task.SubmitTask, InvalidRequest>,
          index: number
        ): [Item, State.State] => {
          const itemFailure = (code: string, message: string, details?: unknown): Item => ({
            success: false,
            index,
            error: { code, message, ...(details === undefined ? {} : { details }), timestamp: iso(now) }
          })
          if (Either.isLeft(v)) {
            return [itemFailure("VALIDATION_ERROR", "Task validation failed", { errors: issueDetails(v.left.issues) }), current]
          }
          const [admitted, next] = admitTask(current, v.right, auth.accountId, now)
          switch (admitted._tag) {
            case "Conflict":
              return [
                itemFailure(
                  "RESOURCE_ALREADY_EXISTS",
                  `A task with idempotencyKey ${JSON.stringify(admitted.key)} already exists`,
                  { field: "idempotencyKey", value: admitted.key }
                ),
                next
              ]
            case "InsufficientCredits":
              return [
                itemFailure("INSUFFICIENT_CREDITS", `Insufficient credits: this task is estimated at ${admitted.estimate}`, {
                  required: admitted.estimate,
                  remaining: admitted.balance
                }),
                next
              ]
            case "Queued":
              return [{ success: true, index, task: summary(admitted.task), credits: taskCredits(admitted.task) }, next]
          }
        }
        const outcome = yield* Ref.modify(state, (s): [ReadonlyArray<Item> | "full", State.State] => {
          // The queue check is all or nothing: the whole batch, or none of it.
          if (State.queuedCount(s, auth.accountId) + valid > config.queueLimit) return ["full", s]
          const [results, after] = validated.reduce<[ReadonlyArray<Item>, State.State]>(
            ([done, current], v, index) => {
              const [item, next] = batchItem(current, v, index)
              return [[...done, item], next]
            },
            [[], s]
          )
          return [results, after]
        })
        if (outcome === "full") return queueFull(now)
        yield* wake
        const succeeded = outcome.filter((r) => r.success === true).length
        return json(200, {
          success: true,
          summary: { total: outcome.length, succeeded, failed: outcome.length - succeeded },
          results: outcome
        })
      })

    const getTask = (taskId: string, auth: Authenticated) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const s = yield* Ref.get(state)
        const task = State.liveTask(s, taskId, now, config.taskRetention)
        if (task === undefined || task.accountId !== auth.accountId) {
          return failure(404, "RESOURCE_NOT_FOUND", `Task ${taskId} not found`, now, { details: { id: taskId } })
        }
        return json(200, taskView(task, true))
      })

    const status = (auth: Authenticated) =>
      Effect.gen(function*() {
        const s = yield* Ref.get(state)
        const queue = Option.getOrElse(HashMap.get(s.queues, auth.accountId), () => [])
        const account = State.account(s, auth.accountId)
        const processing = Chunk.size(
          Chunk.filter(Chunk.fromIterable(HashMap.values(s.tasks)), (t) =>
            t.accountId === auth.accountId && t.status === "PROCESSING")
        )
        const breakdown = queue
          .map((level, i) => ({ priority: i + 1, count: Chunk.size(level) }))
          .filter((b) => b.count > 0)
          .reverse()
        return json(200, {
          queuedTasks: State.queuedCount(s, auth.accountId),
          processingTasks: processing,
          priorityBreakdown: breakdown,
          concurrency: account === undefined ? null : { used: account.inFlight, max: account.concurrency }
        })
      })

    const clear = (auth: Authenticated) =>
      Ref.modify(state, (s) => State.clearQueue(s, auth.accountId)).pipe(
        Effect.map((cleared) => json(200, { success: true, cleared }))
      )

    const credits = (auth: Authenticated) =>
      Ref.get(state).pipe(Effect.map((s) => {
        const account = State.account(s, auth.accountId)
        return json(200, {
          remaining: account?.balance ?? 0,
          perCycle: account?.perCycle ?? null,
          cycleResetsAt: account?.cycleResetsAt ?? null
        })
      }))

    const countries = (request: SimRequest, now: number): Answer => {
      const model = request.query["model"]
      if (model !== undefined && !allowedCountryModels.some((m) => m === model)) {
        return failure(400, "VALIDATION_ERROR", "Request validation failed", now, {
          details: [{ field: "model", message: `model must be one of ${allowedCountryModels.join(", ")}` }]
        })
      }
      return json(200, countriesFor(model))
    }

    const states = (request: SimRequest, now: number): Answer => {
      const country = request.query["country"]
      if (country === undefined || !/^[A-Z]{2}$/.test(country)) {
        return failure(400, "VALIDATION_ERROR", "Request validation failed", now, {
          details: [{ field: "country", message: "country is required: two uppercase letters, e.g. US" }]
        })
      }
      return json(200, country === "US" ? usStateNames.map(([code, name]) => ({ code, name })) : [])
    }

    // -------------------------------------------------------------------------
    // the background queue
    // -------------------------------------------------------------------------

    const webhookAttempts = config.webhookRetryDelays.length + 1

    const deliver = (taskId: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        for (let attempt = 1; attempt <= webhookAttempts; attempt++) {
          const s = yield* Ref.get(state)
          const task = Option.getOrUndefined(HashMap.get(s.tasks, taskId))
          if (task === undefined || task.webhook === null) return
          const body = JSON.stringify(taskView(task, false))
          const at = yield* Clock.currentTimeMillis
          const timestamp = Math.floor(at / 1000)
          const webhookId = `${task.id}-${attempt}`
          const headers: Record<string, string> = {
            "Content-Type": "application/json",
            "User-Agent": "cloro-simulator-webhooks/1.0",
            ...(config.webhookSecret === undefined
              ? { [Webhooks.headerNames.webhookId]: webhookId }
              : Webhooks.signedHeaders({ secret: config.webhookSecret, timestampSeconds: timestamp, rawBody: body, webhookId }))
          }
          const status = options.webhookClient === undefined
            ? Option.none<number>()
            : yield* options.webhookClient.execute(
              HttpClientRequest.post(task.webhook.url).pipe(
                HttpClientRequest.setHeaders(headers),
                HttpClientRequest.bodyText(body, "application/json")
              )
            ).pipe(
              Effect.flatMap((response) => Effect.as(Effect.ignore(response.text), response.status)),
              Effect.timeout(Duration.millis(config.webhookTimeout)),
              Effect.option
            )
          // Without a client the delivery is only captured, and counts as acknowledged.
          const ok = options.webhookClient === undefined ||
            Option.exists(status, (code) => code >= 200 && code < 300)
          const done = yield* Clock.currentTimeMillis
          yield* Ref.update(state, (current) =>
            State.updateWebhook(
              State.recordWebhook(current, {
                taskId,
                attempt,
                url: task.webhook?.url ?? "",
                at,
                status: Option.getOrUndefined(status),
                ok,
                headers,
                body
              }, config.requestLogLimit),
              taskId,
              (w) => ({ ...w, attempts: attempt, ...(ok ? { delivered: true, deliveredAt: done } : {}) })
            ))
          if (ok) return
          const delay = config.webhookRetryDelays[attempt - 1]
          if (delay !== undefined) yield* Effect.sleep(Duration.millis(delay))
        }
      })

    const taskFailure = (kind: FaultKind): State.Outcome =>
      kind === "503"
        ? { _tag: "Failed", code: "SERVICE_UNAVAILABLE", message: "Service temporarily unavailable" }
        : kind === "502"
        ? { _tag: "Failed", code: "EXTERNAL_SERVICE_ERROR", message: "The upstream provider failed" }
        : { _tag: "Failed", code: "INTERNAL_SERVER_ERROR", message: "Maximum retries exceeded" }

    const process = (task: State.Task): Effect.Effect<void> =>
      Effect.gen(function*() {
        yield* Effect.sleep(Duration.millis(sample(latencyOf(task.engine), Prng.make(config.seed, `task-latency:${task.id}`))))
        const target: State.FaultTarget = { on: "task", method: "POST", endpoint: "/v1/async/task", engine: task.engine }
        const fault = yield* Ref.modify(
          state,
          (s) => takeFault(s, target, Prng.make(config.seed, `task-fault:${task.id}`))
        )
        const outcome: State.Outcome = fault !== undefined ? taskFailure(fault.kind) : (() => {
          const generated = generate(task.engine, resultPrng(task.engine, task.payload), task.payload)
          return {
            _tag: "Completed",
            result: generated.result,
            price: Pricing.charge(task.engine, task.payload, { mode: "async", productClusters: generated.productClusters })
          }
        })()
        const now = yield* Clock.currentTimeMillis
        const done = yield* Ref.modify(state, (s) => State.finish(s, task.id, outcome, now))
        yield* wake
        if (done?.webhook != null) yield* Effect.forkIn(deliver(done.id), scope)
      })

    const dispatcher = Effect.gen(function*() {
      yield* Queue.take(wakeQueue)
      const now = yield* Clock.currentTimeMillis
      const started = yield* Ref.modify(state, (s) => State.dispatch(s, now, config.asyncWorkers))
      yield* Effect.forEach(started, (task) => Effect.forkIn(process(task), scope), { discard: true })
    }).pipe(Effect.forever)

    yield* Effect.forkIn(dispatcher, scope)

    // -------------------------------------------------------------------------
    // handle
    // -------------------------------------------------------------------------

    const route = (
      matched: Matched,
      request: SimRequest,
      auth: Authenticated,
      seq: number,
      now: number
    ): Effect.Effect<Answer> => {
      switch (matched.route._tag) {
        case "Monitor":
          return monitor(matched.route.engine, request, auth, seq)
        case "Goto":
          return goto(request, seq)
        case "Submit":
          return submit(request, auth)
        case "Batch":
          return batch(request, auth)
        case "GetTask":
          return getTask(matched.route.taskId, auth)
        case "Status":
          return status(auth)
        case "ClearQueue":
          return clear(auth)
        case "Credits":
          return credits(auth)
        case "Countries":
          return Effect.succeed(countries(request, now))
        case "States":
          return Effect.succeed(states(request, now))
      }
    }

    const injected = (
      kind: AnswerFault,
      rule: Fault["rule"],
      now: number,
      rateHeaders: Readonly<Record<string, string>>,
      accountId: string
    ): Effect.Effect<Answer> => {
      switch (kind) {
        case "500":
          return Effect.succeed(failure(500, "INTERNAL_SERVER_ERROR", "Internal server error", now))
        case "502":
          return Effect.succeed(
            failure(502, "EXTERNAL_SERVICE_ERROR", "The upstream provider failed", now, { details: { service: "OpenAI" } })
          )
        case "503":
          return Effect.succeed(
            failure(503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable", now, {
              headers: { "Retry-After": String(rule.retryAfter ?? 1) }
            })
          )
        case "429": {
          const code = rule.code ?? "RATE_LIMIT_EXCEEDED"
          if (code === "RATE_LIMIT_EXCEEDED") {
            return Effect.succeed(
              failure(429, code, "Too many requests", now, { headers: { ...rateHeaders, "X-RateLimit-Remaining": "0" } })
            )
          }
          if (code === "QUEUE_LIMIT_EXCEEDED") {
            return Effect.succeed(failure(429, code, "Too many requests", now, { details: { limit: config.queueLimit } }))
          }
          // An injected concurrency 429 says what a real one would: the plan's limit, every slot taken.
          return Ref.get(state).pipe(Effect.map((s) => {
            const limit = State.account(s, accountId)?.concurrency ?? 1
            return failure(429, code, "Too many requests", now, {
              details: { limit },
              headers: concurrencyHeaders(limit, limit)
            })
          }))
        }
        case "stall":
          // cloro gives up on a sync request after 5 minutes; the caller has usually given up long before.
          return Effect.sleep(Duration.millis(rule.stallMillis ?? 300_000)).pipe(
            Effect.zipRight(Clock.currentTimeMillis),
            Effect.map((later) => failure(500, "INTERNAL_SERVER_ERROR", "Maximum timeout (5 minutes) exceeded", later))
          )
      }
    }

    const handle = (request: SimRequest): Effect.Effect<SimResponse, ConnectionReset> =>
      Effect.gen(function*() {
        const startedAt = yield* Clock.currentTimeMillis
        const seq = yield* Ref.modify(state, State.nextRequestSeq)
        const requestId = Prng.make(config.seed, `request:${seq}`).uuid("id")
        const matched = matchRoute(request.method, request.path)
        const endpoint = matched?.endpoint ?? "(unmatched)"
        const log = (status: number, code: string | undefined, accountId: string | undefined) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Ref.update(state, (s) =>
              State.record(s, {
                requestId,
                method: request.method,
                path: request.path,
                endpoint,
                status,
                code,
                accountId,
                startedAt,
                durationMs: now - startedAt
              }, config.requestLogLimit)))
        const { answer, accountId: accountLogged, mangle } = yield* Effect.gen(function*() {
          if (matched === undefined) {
            return outcome(
              failure(404, "RESOURCE_NOT_FOUND", `No route for ${request.method} ${request.path}`, startedAt, {
                details: { id: request.path }
              })
            )
          }
          const auth = yield* authenticate(request, endpoint, startedAt)
          if (Either.isLeft(auth)) return outcome(auth.left)
          const { accountId, rateHeaders } = auth.right
          const target: State.FaultTarget = {
            on: "request",
            method: request.method,
            endpoint,
            engine: matched.route._tag === "Monitor" ? matched.route.engine : undefined
          }
          const fault = yield* Ref.modify(state, (s) => takeFault(s, target, Prng.make(config.seed, `fault:${seq}`)))
          const classified = fault === undefined ? undefined : classify(fault.kind)
          if (classified?._tag === "Reset") return outcome("reset", accountId)
          const base = classified?._tag === "Answer" && fault !== undefined
            ? yield* injected(classified.kind, fault.rule, startedAt, rateHeaders, accountId)
            : yield* route(matched, request, auth.right, seq, startedAt)
          return outcome(
            { ...base, headers: { ...rateHeaders, ...base.headers } },
            accountId,
            classified?._tag === "Mangle" ? classified.kind : undefined
          )
        }).pipe(
          // the caller hung up (cloro's 499): nothing is charged, but the request is counted
          Effect.onInterrupt(() => log(499, "REQUEST_CANCELED", undefined))
        )

        const latency = (yield* Clock.currentTimeMillis) - startedAt
        yield* answer === "reset" ? log(0, "CONNECTION_RESET", accountLogged) : log(answer.status, answer.code, accountLogged)
        if (answer === "reset") return yield* Effect.fail(new ConnectionReset({ requestId }))
        const headers: Record<string, string> = {
          "Content-Type": "application/json",
          ...answer.headers,
          "X-Request-ID": requestId,
          "X-Latency-Ms": String(latency)
        }
        switch (mangle) {
          case "malformedHeaders":
            return { status: answer.status, headers: garble(headers), body: answer.body }
          case "missingHeaders":
            return { status: answer.status, headers: stripCustomHeaders(headers), body: answer.body }
          case "garbageBody":
            return {
              status: answer.status,
              headers,
              body: `${answer.body.slice(0, Math.floor(answer.body.length / 2))}\u0000<html>502 Bad Gateway`
            }
          default:
            return { status: answer.status, headers, body: answer.body }
        }
      })

    return { config, state, handle, accountIdOf, wake }
  })
