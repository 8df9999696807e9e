/**
 * The simulator's public `Service` built over its core: the inspection
 * (`counters`, `tasks`, `webhooks`, `balance`) read from the one `State`, and
 * the controls (`reset`, `setBalance`, `setConcurrency`, `injectFaults`,
 * `setFaultRate`), each checked as strictly as the configuration is.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Api from "../CloroSimulator.js"
import * as internalConfig from "./config.js"
import { decodeStrict, SimulatorConfigError } from "./configError.js"
import type * as Core from "./core.js"
import * as State from "./state.js"

const toRecord = <A>(map: HashMap.HashMap<string, A>, f: (a: A) => number): Record<string, number> =>
  Object.fromEntries(Array.from(map, ([k, v]) => [k, f(v)]))

/**
 * The public `Service` over a running core, answering at `url`.
 *
 * @internal
 */
export const fromCore = (core: Core.Core, url: string): Api.Service => {
  const { config, state } = core
  const resolve = (account: string) =>
    Effect.fromNullable(core.accountIdOf(account)).pipe(
      Effect.mapError(() =>
        new SimulatorConfigError({
          message: `Unknown account ${JSON.stringify(account.slice(0, 4))}...`,
          issues: [{ path: "account", message: "No account has this API key or id" }]
        })
      )
    )
  const nonNegativeInt = decodeStrict(Schema.Int.pipe(Schema.nonNegative()), "credits")
  const positiveInt = decodeStrict(Schema.Int.pipe(Schema.positive()), "concurrency limit")
  const setAccount = (id: string, f: (a: State.Account) => State.Account) =>
    Ref.update(state, (s) => ({ ...s, accounts: HashMap.modify(s.accounts, id, f) }))
  return {
    url,
    config,
    handle: core.handle,
    counters: Ref.get(state).pipe(Effect.map((s): Api.Counters => ({
      peakConcurrency: toRecord(s.accounts, (a) => a.peak),
      inFlight: toRecord(s.accounts, (a) => a.inFlight),
      rejections: s.rejections,
      requests: s.requests,
      creditsCharged: { total: s.creditsCharged, byAccount: toRecord(s.accounts, (a) => a.charged) },
      balances: toRecord(s.accounts, (a) => a.balance),
      requestLog: Chunk.toReadonlyArray(s.log)
    }))),
    reset: Ref.set(state, State.initial(config)).pipe(Effect.zipRight(core.wake)),
    setBalance: (account, credits) =>
      Effect.gen(function*() {
        const id = yield* resolve(account)
        const n = yield* nonNegativeInt(credits)
        yield* setAccount(id, (a) => ({ ...a, balance: n }))
      }),
    setConcurrency: (account, limit) =>
      Effect.gen(function*() {
        const id = yield* resolve(account)
        const n = yield* positiveInt(limit)
        yield* setAccount(id, (a) => ({ ...a, concurrency: n }))
        yield* core.wake
      }),
    balance: (account) =>
      Effect.flatMap(resolve(account), (id) => Ref.get(state).pipe(Effect.map((s) => State.account(s, id)?.balance ?? 0))),
    injectFaults: (script) =>
      decodeStrict(internalConfig.FaultScript, "fault script")(script).pipe(
        Effect.flatMap((entries) => Ref.update(state, (s) => ({ ...s, script: Chunk.appendAll(s.script, Chunk.fromIterable(entries)) })))
      ),
    setFaultRate: (rate) =>
      rate === undefined
        ? Ref.update(state, (s) => ({ ...s, faultRate: undefined }))
        : decodeStrict(internalConfig.FaultRate, "fault rate")(rate).pipe(
          Effect.flatMap((decoded) => Ref.update(state, (s) => ({ ...s, faultRate: decoded })))
        ),
    tasks: Ref.get(state).pipe(Effect.map((s) =>
      Array.from(HashMap.values(s.tasks))
        .sort((a, b) => a.seq - b.seq)
        .map((t): Api.TaskInfo => ({
          id: t.id,
          accountId: t.accountId,
          taskType: t.taskType,
          status: t.status,
          priority: t.priority,
          idempotencyKey: t.idempotencyKey,
          createdAt: t.createdAt,
          startedAt: t.startedAt,
          finishedAt: t.finishedAt,
          creditsToCharge: t.creditsToCharge,
          creditsCharged: t.creditsCharged,
          webhook: t.webhook
        }))
    )),
    webhooks: Ref.get(state).pipe(Effect.map((s) => Chunk.toReadonlyArray(s.webhooks)))
  }
}
