/**
 * The client's async task calls (`tasks.submit`, `submitBatch`, `get`,
 * `settle`): the reservation of each task's most cost before it is sent, and
 * its move onto the task id once accepted, until the task finishes.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type { CallOptions, CloroResponse } from "../../CloroClient.js"
import type { CloroError } from "../../CloroError.js"
import type * as Credits from "../../Credits.js"
import * as Pricing from "../../Pricing.js"
import * as Task from "../../Task.js"
import * as UsageModule from "../../Usage.js"
import { type CheckedOptions, fromEither, invalid } from "./callOptions.js"
import type * as Http from "./http.js"
import * as Input from "./input.js"
import type * as Pipeline from "./pipeline.js"

/** What the task calls need from the client. @internal */
export interface Context {
  readonly credits: Credits.CreditsShape
  readonly execute: <A>(
    call: Http.Call<A>,
    options: CheckedOptions,
    billing: Pipeline.Billing
  ) => Effect.Effect<CloroResponse<A>, CloroError>
  readonly method: <A>(
    name: string,
    options: unknown,
    body: (options: CheckedOptions) => Effect.Effect<A, CloroError>
  ) => Effect.Effect<A, CloroError>
  readonly referenceCall: <A, I>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    schema: Schema.Schema<A, I>,
    extra?: Partial<Pick<Http.Call<A>, "body" | "urlParams">>
  ) => Http.Call<A>
  readonly free: Pipeline.Billing
}

/** @internal */
export const make = ({ credits, execute, free, method, referenceCall }: Context) => {
  const isTaskState = Schema.is(Task.TaskState)

  /** Settles a state this client decoded itself: no need to check it again (which walked the whole result). */
  const settleDecoded = (state: Task.TaskState, tag: string | undefined): Effect.Effect<void> =>
    Task.isFinished(state)
      // cloro documents creditsCharged as set once a task finishes; should it be missing,
      // a failure is free and a completion is counted at its estimate rather than never.
      ? credits.settleTask(
        state.task.id,
        state.credits.creditsCharged ?? (state.status === "FAILED" ? 0 : state.credits.creditsToCharge),
        tag
      )
      : Effect.void

  /** Settles a finished task's charge in the ledger (once per task id). */
  /** The task's own hold keeps the tag it was submitted with; `tag` counts tasks followed without one. */
  const settleFinished = (state: Task.TaskState, tag?: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (!isTaskState(state) || (tag !== undefined && typeof tag !== "string")) {
        return Effect.logWarning("CloroClient.tasks.settle ignored a value that is not a task state and an optional tag")
      }
      return settleDecoded(state, tag)
    }).pipe(Effect.catchAllDefect((defect) =>
      Effect.logWarning(`CloroClient.tasks.settle ignored a value it could not read (${Input.show(defect)})`)
    ))

  /**
   * Reserves the most each task can cost before sending (so a budget
   * refuses the submission before any HTTP call), then moves the
   * reservations of accepted tasks onto their task ids until they finish,
   * and releases the rest.
   */
  const withTaskReservations = <A>(
    tasks: ReadonlyArray<Task.SubmitTask>,
    tag: string | undefined,
    send: Effect.Effect<A, CloroError>,
    acceptedIds: (result: A) => ReadonlyArray<string | undefined>
  ): Effect.Effect<A, CloroError> =>
    // Released on any failure or interruption; moved onto task ids (or released) on success.
    Effect.acquireUseRelease(
      credits.reserveAll(tasks.map(Pricing.maxChargeTask), tag),
      () => send,
      (reservations, exit) => {
        const ids = Exit.isSuccess(exit) ? acceptedIds(exit.value) : []
        return Effect.forEach(reservations, (reservation, index) => {
          const id = ids[index]
          return id === undefined ? reservation.release : reservation.holdForTask(id)
        }, { discard: true })
      }
    )

  const submit = (task: Task.SubmitTask, options?: CallOptions) =>
    method("tasks.submit", options, (checked) =>
      Effect.flatMap(fromEither(Task.validateSubmit(task)), (valid) =>
        withTaskReservations(
          [valid],
          checked.tag,
          execute(
            {
              ...referenceCall("POST", "/v1/async/task", Task.SubmitResponse, { body: Task.toWire(valid) }),
              idempotent: valid.idempotencyKey !== undefined
            },
            checked,
            free
          ),
          (response) => [response.result.task.id]
        )))

  /** Refuses invalid tasks per item, as cloro does, and sends the rest (nothing when none is valid). */
  const submitBatch = (tasks: ReadonlyArray<Task.SubmitTask>, options?: CallOptions) =>
    method("tasks.submitBatch", options, (checked) =>
      Effect.gen(function*() {
        const timestamp = new Date(yield* Clock.currentTimeMillis).toISOString()
        const plan = yield* fromEither(Task.planBatch(tasks, timestamp))
        const valid = plan.send.map((item) => item.task)
        if (valid.length === 0) return { result: Task.mergeBatch(plan, undefined), usage: UsageModule.empty }
        const response = yield* withTaskReservations(
          valid,
          checked.tag,
          execute(
            {
              ...referenceCall("POST", "/v1/async/task/batch", Task.BatchResponse, { body: valid.map(Task.toWire) }),
              idempotent: valid.every((task) => task.idempotencyKey !== undefined)
            },
            checked,
            free
          ),
          (response) => {
            const ids: Array<string | undefined> = valid.map(() => undefined)
            for (const item of response.result.results) {
              if (item.success) ids[item.index] = item.task.id
            }
            return ids
          }
        )
        return { ...response, result: Task.mergeBatch(plan, response.result) }
      }))
  const get = (taskId: string, options?: CallOptions) =>
    method("tasks.get", options, (checked) =>
      Effect.gen(function*() {
        const id = typeof taskId === "string" ? taskId.trim() : ""
        if (id.length === 0 || id.length > 200 || !/^[A-Za-z0-9_-]+$/.test(id)) {
          return yield* invalid(
            "taskId",
            `must be a non-empty id of letters, digits, '-' or '_', got ${Input.show(taskId)}`
          )
        }
        const response = yield* execute(
          {
            ...referenceCall("GET", `/v1/async/task/${encodeURIComponent(id)}`, Schema.Unknown),
            route: "/v1/async/task/{taskId}",
            decode: Task.decodeTaskStatus
          },
          checked,
          free
        )
        yield* settleDecoded(response.result, checked.tag)
        return response
      }))

  return { get, settle: settleFinished, submit, submitBatch }
}
