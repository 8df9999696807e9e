import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Task from "../src/Task.js"
import { validateOwned } from "../src/internal/task/submit.js"

const rightOf = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) throw new Error(`expected a Right, got ${String(either.left)}`)
  return either.right
}

describe("validateOwned (a bulk run's tasks are validated once)", () => {
  const input = {
    ...Task.make("google", { query: "crm", country: "US", include: { aioverview: true } }, { idempotencyKey: "k-1" }),
    priority: undefined
  }

  it("freezes its own copy all the way down, leaves the caller's object alone, and validateSubmit takes the copy as it is", () => {
    const owned = rightOf(validateOwned(input))
    expect(owned).not.toBe(input)
    expect(Object.isFrozen(owned)).toBe(true)
    expect(Object.isFrozen(owned.payload)).toBe(true)
    expect(Object.values(owned.payload).filter((v) => typeof v === "object").every(Object.isFrozen)).toBe(true)
    expect(Object.isFrozen(input)).toBe(false)
    expect(Object.isFrozen(input.payload)).toBe(false)
    // the same object back: not walked again (a validation makes a fresh copy)
    expect(rightOf(Task.validateSubmit(owned))).toBe(owned)
    expect(rightOf(Task.planBatch([owned], "2026-01-01T00:00:00.000Z")).send[0]!.task).toBe(owned)
    // what a caller validates is still checked and copied each time
    const again = rightOf(Task.validateSubmit(input))
    expect(again).not.toBe(input)
    expect(again).toStrictEqual(owned)
    expect(rightOf(Task.validateSubmit(again))).not.toBe(again)
  })

  it("refuses what validateSubmit refuses, with the same issues", () => {
    const bad = { ...input, priority: 11, payload: { ...input.payload, country: "Narnia" } }
    const owned = validateOwned(bad)
    const checked = Task.validateSubmit(bad)
    expect(Either.isLeft(owned) && Either.isLeft(checked)).toBe(true)
    if (Either.isLeft(owned) && Either.isLeft(checked)) expect(owned.left.issues).toStrictEqual(checked.left.issues)
  })
})
