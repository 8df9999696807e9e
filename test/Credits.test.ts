import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Credits from "../src/Credits.js"

describe("Credits", () => {
  it.effect("reserves, settles with the real charge and tracks spend per tag", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make({ budget: 100 })
      const a = yield* ledger.reserve(7, "alice")
      const b = yield* ledger.reserve(6, "bob")
      expect((yield* ledger.snapshot).reserved).toBe(13)
      yield* a.settle(9, 4991)
      yield* b.release
      const snapshot = yield* ledger.snapshot
      expect(snapshot).toMatchObject({ spent: 9, reserved: 0, balance: 4991, spentByTag: { alice: 9 } })
    }))

  it.effect("refuses what would take spend over the budget, counting reservations", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make({ budget: 20 })
      yield* ledger.reserve(7)
      yield* ledger.reserve(7)
      const error = yield* Effect.flip(ledger.reserve(7, "carol"))
      expect(error).toMatchObject({ _tag: "BudgetExceeded", estimate: 7, reserved: 14, budget: 20, tag: "carol" })
    }))

  it.effect("refuses what the known balance cannot pay", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make()
      yield* ledger.observeBalance(10)
      yield* ledger.reserve(6)
      const error = yield* Effect.flip(ledger.reserve(6))
      expect(error).toMatchObject({ _tag: "BudgetExceeded", balance: 10 })
    }))

  it.effect("reserveAll is all or nothing", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make({ budget: 10 })
      const error = yield* Effect.flip(ledger.reserveAll([4, 4, 4]))
      expect(error._tag).toBe("BudgetExceeded")
      expect((yield* ledger.snapshot).reserved).toBe(0)
      const ok = yield* ledger.reserveAll([4, 4])
      expect(ok.map((r) => r.amount)).toEqual([4, 4])
    }))

  it.effect("a task's charge settles once, whether seen by a poll or a webhook", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make()
      const r = yield* ledger.reserve(4, "dave")
      yield* r.holdForTask("task-1")
      expect((yield* ledger.snapshot).pendingTasks).toBe(1)
      yield* ledger.settleTask("task-1", 6)
      yield* ledger.settleTask("task-1", 6)
      const snapshot = yield* ledger.snapshot
      expect(snapshot).toMatchObject({ spent: 6, reserved: 0, pendingTasks: 0, spentByTag: { dave: 6 } })
    }))

  it.effect("refuses a negative budget", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Credits.make({ budget: -1 }))
      expect(error._tag).toBe("CreditsConfigError")
    }))
})

describe("Credits reservations (trap: the ledger trusts its callers)", () => {
  it.effect("releasing a reservation twice does not make reserved negative nor let a budget of 10 reserve 15", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make({ budget: 10 })
      const r = yield* ledger.reserve(5)
      yield* r.release
      yield* r.release
      yield* r.settle(5)
      expect((yield* ledger.snapshot).reserved).toBe(0)
      expect((yield* ledger.snapshot).spent).toBe(0)
      yield* ledger.reserve(10)
      const error = yield* Effect.flip(ledger.reserve(5))
      expect(error._tag).toBe("BudgetExceeded")
      expect((yield* ledger.snapshot).reserved).toBe(10)
    }))

  it.effect("settling twice charges once; a settled reservation cannot be released or moved to a task", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make({ budget: 100 })
      const r = yield* ledger.reserve(6, "t")
      yield* r.settle(6)
      yield* r.settle(6)
      yield* r.release
      yield* r.holdForTask("task-x")
      expect(yield* ledger.snapshot).toMatchObject({ spent: 6, reserved: 0, pendingTasks: 0, spentByTag: { t: 6 } })
    }))

  it.effect("a hand-made reservation record changes nothing: there is no ledger method that accepts one", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make({ budget: 10 })
      yield* ledger.reserve(10)
      // The old API took `{ id, amount, tag }` records; the shape has no such method any more.
      expect("release" in ledger).toBe(false)
      expect("settle" in ledger).toBe(false)
      expect("holdForTask" in ledger).toBe(false)
      expect((yield* ledger.snapshot).reserved).toBe(10)
    }))

  it.effect("a charge that is not a number counts as the amount held, never NaN", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make()
      const r = yield* ledger.reserve(8)
      yield* r.settle(Number.NaN)
      expect((yield* ledger.snapshot).spent).toBe(8)
    }))
})

describe("Credits.setBudget", () => {
  it.effect("refuses a budget that is not a finite number ≥ 0, and keeps the old one", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make({ budget: 10 })
      for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
        const error = yield* Effect.flip(ledger.setBudget(bad))
        expect(error._tag).toBe("CreditsConfigError")
      }
      expect((yield* ledger.snapshot).budget).toBe(10)
      yield* ledger.setBudget(undefined)
      expect((yield* ledger.snapshot).budget).toBeUndefined()
    }))
})

describe("Credits settled-task memory", () => {
  it.effect("remembers at least the last N settled tasks, and forgets older ones instead of growing for ever", () =>
    Effect.gen(function*() {
      const ledger = yield* Credits.make({ rememberSettled: 2 })
      for (const id of ["a", "b", "c", "d", "e"]) yield* ledger.settleTask(id, 1)
      // the last two (and at most four) are remembered: settling them again charges nothing
      yield* ledger.settleTask("d", 1)
      yield* ledger.settleTask("e", 1)
      expect((yield* ledger.snapshot).spent).toBe(5)
      // "a" fell out of memory two generations ago; seen again, it is charged again
      yield* ledger.settleTask("a", 1)
      expect((yield* ledger.snapshot).spent).toBe(6)
    }))
})
