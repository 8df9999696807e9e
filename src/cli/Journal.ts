/**
 * An `AsyncTasks.Journal` kept next to the output file (`<out>.tasks.jsonl`),
 * so that an async run resumed in a new process follows the tasks it had
 * already submitted instead of creating (and paying for) them again.
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import type { AsyncTasks } from "../index.js"

/**
 * Where the journal of an output file lives.
 *
 * @since 0.2.0
 */
export const pathFor = (out: string): string => `${out}.tasks.jsonl`

const parse = (text: string): HashMap.HashMap<string, string> =>
  text.split("\n").reduce((map, raw) => {
    if (raw.trim().length === 0) return map
    try {
      const entry: unknown = JSON.parse(raw)
      return Predicate.isRecord(entry) && Predicate.isString(entry.key) && Predicate.isString(entry.taskId)
        ? HashMap.set(map, entry.key, entry.taskId)
        : map
    } catch {
      return map
    }
  }, HashMap.empty<string, string>())

/**
 * Loads the journal at `path` (empty when absent) and appends to it.
 *
 * @since 0.2.0
 */
export const file = (path: string): Effect.Effect<AsyncTasks.Journal, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.orElseSucceed(fs.readFileString(path), () => "")
    const known = yield* Ref.make(parse(text))
    // a run killed mid-write leaves a torn last line: our first entry starts a fresh one instead of joining it
    const torn = yield* Ref.make(text.length > 0 && !text.endsWith("\n"))
    const append = (lines: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const lead = (yield* Ref.getAndSet(torn, false)) ? "\n" : ""
        // Losing the journal only costs the ability to follow these tasks on a resume; the run goes on.
        yield* Effect.ignore(fs.writeFileString(path, `${lead}${lines.join("\n")}\n`, { flag: "a" }))
      })
    return {
      // Written before a batch is sent, so a resumed run knows which keys may already hold a task.
      intend: (items) =>
        items.length === 0
          ? Effect.void
          : append(items.map((item) => JSON.stringify({ id: item.id, key: item.idempotencyKey }))).pipe(
            Effect.uninterruptible
          ),
      record: (submitted) =>
        Effect.gen(function*() {
          yield* Ref.update(known, (map) => submitted.reduce((m, s) => HashMap.set(m, s.idempotencyKey, s.taskId), map))
          yield* append(submitted.map((s) => JSON.stringify({ id: s.id, key: s.idempotencyKey, taskId: s.taskId })))
        }).pipe(Effect.uninterruptible),
      lookup: (item) => Effect.map(Ref.get(known), HashMap.get(item.idempotencyKey))
    }
  })
