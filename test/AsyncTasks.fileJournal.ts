/**
 * A journal in an append-only JSON-lines file, written with a synchronous
 * append and fsync before each call returns, so that a process killed at any
 * instant leaves every line it reported as written. Test support for the
 * SIGKILL scenario of issue 8 (a production journal would be a database).
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import type * as AsyncTasks from "../src/AsyncTasks.js"

type Line = { readonly intend: string } | { readonly key: string; readonly taskId: string }

const asLine = (value: unknown): ReadonlyArray<Line> => {
  if (typeof value !== "object" || value === null) return []
  if ("intend" in value && typeof value.intend === "string") return [{ intend: value.intend }]
  if ("key" in value && "taskId" in value && typeof value.key === "string" && typeof value.taskId === "string") {
    return [{ key: value.key, taskId: value.taskId }]
  }
  return []
}

export interface FileJournal extends AsyncTasks.Journal {
  /** Keys sent, and the task ids recorded, read back from the file. */
  readonly read: () => { readonly intended: number; readonly recorded: number }
}

const readLines = (path: string): ReadonlyArray<Line> =>
  Fs.existsSync(path)
    ? Fs.readFileSync(path, "utf8").split("\n").flatMap((line) => {
      try {
        return line.length === 0 ? [] : asLine(JSON.parse(line))
      } catch {
        return [] // a line cut by the kill
      }
    })
    : []

export const make = (path: string): FileJournal => {
  const known = new Map<string, string | undefined>()
  for (const line of readLines(path)) {
    if ("intend" in line) {
      if (!known.has(line.intend)) known.set(line.intend, undefined)
    } else known.set(line.key, line.taskId)
  }
  const append = (lines: ReadonlyArray<Line>) =>
    Effect.sync(() => {
      const fd = Fs.openSync(path, "a")
      try {
        Fs.writeSync(fd, lines.map((line) => `${JSON.stringify(line)}\n`).join(""))
        Fs.fsyncSync(fd)
      } finally {
        Fs.closeSync(fd)
      }
    })
  return {
    intend: (items) =>
      Effect.zipRight(
        append(items.map((item) => ({ intend: item.idempotencyKey }))),
        Effect.sync(() => items.forEach((item) => known.has(item.idempotencyKey) || known.set(item.idempotencyKey, undefined)))
      ),
    record: (submitted) =>
      Effect.zipRight(
        append(submitted.map((s) => ({ key: s.idempotencyKey, taskId: s.taskId }))),
        Effect.sync(() => submitted.forEach((s) => known.set(s.idempotencyKey, s.taskId)))
      ),
    lookup: (item) => Effect.sync(() => Option.fromNullable(known.get(item.idempotencyKey))),
    read: () => {
      const lines = readLines(path)
      return {
        intended: new Set(lines.flatMap((l) => ("intend" in l ? [l.intend] : []))).size,
        recorded: new Set(lines.flatMap((l) => ("key" in l ? [l.key] : []))).size
      }
    }
  }
}
