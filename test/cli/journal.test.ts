import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as Journal from "../../src/cli/Journal.js"
import { tmpDir, writeFile } from "./harness.js"

describe("cloro run's task journal", () => {
  it.effect("finds the task ids of earlier runs and of this one, and starts after a torn last line", () =>
    Effect.gen(function*() {
      const file = writeFile(
        tmpDir(),
        "out.jsonl.tasks.jsonl",
        [
          JSON.stringify({ id: "a", key: "k-a" }),
          JSON.stringify({ id: "a", key: "k-a", taskId: "task-a" }),
          JSON.stringify({ id: "b", key: "k-b", taskId: "task-b-old" }),
          JSON.stringify({ id: "b", key: "k-b", taskId: "task-b" }),
          "{\"id\":\"c\",\"key\":\"k-c\",\"task" // torn by a crash
        ].join("\n")
      )
      const journal = yield* Journal.file(file)
      const lookup = (key: string) => journal.lookup({ id: undefined, index: 0, idempotencyKey: key })
      expect(yield* lookup("k-a")).toEqual(Option.some("task-a"))
      expect(yield* lookup("k-b")).toEqual(Option.some("task-b"))
      expect(yield* lookup("k-c")).toEqual(Option.none())
      yield* journal.intend([{ id: "d", index: 3, idempotencyKey: "k-d" }])
      yield* journal.record([{ id: "d", index: 3, idempotencyKey: "k-d", taskId: "task-d" }])
      // this run's own records are read back from the file, not kept in memory
      expect(yield* lookup("k-d")).toEqual(Option.some("task-d"))
      const lines = fs.readFileSync(file, "utf8").split("\n")
      expect(lines.slice(-3)).toEqual([
        JSON.stringify({ id: "d", key: "k-d" }),
        JSON.stringify({ id: "d", key: "k-d", taskId: "task-d" }),
        ""
      ])
      const missing = yield* Journal.file(`${file}.none`)
      expect(yield* missing.lookup({ id: "x", index: 0, idempotencyKey: "k-x" })).toEqual(Option.none())
    }).pipe(Effect.provide(NodeContext.layer)))
})
