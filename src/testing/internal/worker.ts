/**
 * The background queue: a dispatcher woken by every change that may free a
 * slot starts QUEUED tasks up to the worker limit; each task sleeps its
 * engine's latency, may draw a task fault, finishes (charged or failed) and
 * forks its webhook delivery.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Pricing from "../../Pricing.js"
import type { FaultKind } from "./config.js"
import { type Context, sample } from "./context.js"
import { takeFault } from "./faults.js"
import { generate } from "./generators.js"
import * as Prng from "./prng.js"
import * as State from "./state.js"
import * as TaskQueue from "./taskQueue.js"
import { deliver } from "./webhookDelivery.js"

const taskFailure = (kind: FaultKind): TaskQueue.Outcome =>
  kind === "503"
    ? { _tag: "Failed", code: "SERVICE_UNAVAILABLE", message: "Service temporarily unavailable" }
    : kind === "502"
    ? { _tag: "Failed", code: "EXTERNAL_SERVICE_ERROR", message: "The upstream provider failed" }
    : { _tag: "Failed", code: "INTERNAL_SERVER_ERROR", message: "Maximum retries exceeded" }

const process = (ctx: Context, task: State.Task): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { config, state } = ctx
    yield* Effect.sleep(
      Duration.millis(sample(ctx.latencyOf(task.engine), Prng.make(config.seed, `task-latency:${task.id}`)))
    )
    const target: State.FaultTarget = { on: "task", method: "POST", endpoint: "/v1/async/task", engine: task.engine }
    const fault = yield* Ref.modify(
      state,
      (s) => takeFault(s, target, Prng.make(config.seed, `task-fault:${task.id}`))
    )
    const outcome: TaskQueue.Outcome = fault !== undefined ? taskFailure(fault.kind) : (() => {
      const generated = generate(task.engine, ctx.resultPrng(task.engine, task.payload), task.payload)
      return {
        _tag: "Completed",
        result: generated.result,
        price: Pricing.charge(task.engine, task.payload, { mode: "async", productClusters: generated.productClusters })
      }
    })()
    const now = yield* Clock.currentTimeMillis
    const done = yield* Ref.modify(state, (s) => TaskQueue.finish(s, task.id, outcome, now))
    yield* ctx.wake
    if (done?.webhook != null) yield* Effect.forkIn(deliver(ctx, done.id), ctx.scope)
  })

/** Runs until the simulator's scope closes. @internal */
export const dispatcher = (ctx: Context): Effect.Effect<never> =>
  Effect.gen(function*() {
    yield* Queue.take(ctx.wakes)
    const now = yield* Clock.currentTimeMillis
    const started = yield* Ref.modify(ctx.state, (s) => TaskQueue.dispatch(s, now, ctx.config.asyncWorkers))
    yield* Effect.forEach(started, (task) => Effect.forkIn(process(ctx, task), ctx.scope), { discard: true })
  }).pipe(Effect.forever)
