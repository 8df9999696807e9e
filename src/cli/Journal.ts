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
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type { AsyncTasks } from "../index.js"

/**
 * Where the journal of an output file lives.
 *
 * @since 0.2.0
 */
export const pathFor = (out: string): string => `${out}.tasks.jsonl`

/** The task id a journal line records for its key, if it is such a line. */
const entryOf = (raw: string): readonly [key: string, taskId: string] | undefined => {
  if (raw.trim().length === 0) return undefined
  try {
    const entry: unknown = JSON.parse(raw)
    return Predicate.isRecord(entry) && Predicate.isString(entry.key) && Predicate.isString(entry.taskId)
      ? [entry.key, entry.taskId]
      : undefined
  } catch {
    return undefined
  }
}

/** The journal's lines, read a piece at a time (none when it cannot be read). */
const linesOf = (fs: FileSystem.FileSystem, path: string): Stream.Stream<string> =>
  fs.stream(path).pipe(Stream.decodeText(), Stream.splitLines, Stream.catchAll(() => Stream.empty))

/**
 * Loads the journal at `path` (empty when absent) and appends to it.
 *
 * What earlier runs recorded is kept in memory, for a resumed run to follow
 * its tasks; what this run records is only appended to the file, so a long
 * run does not hold an entry per task it submitted. A key this run recorded
 * is looked up in the file (it is asked for only when cloro refuses a key as
 * taken that the run's own tracker does not know, which a run's own tasks
 * are not).
 *
 * @since 0.2.0
 */
export const file = (path: string): Effect.Effect<AsyncTasks.Journal, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const earlier = yield* Stream.runFold(linesOf(fs, path), HashMap.empty<string, string>(), (map, raw) => {
      const entry = entryOf(raw)
      return entry === undefined ? map : HashMap.set(map, entry[0], entry[1])
    })
    // a run killed mid-write leaves a torn last line: our first entry starts a fresh one instead of joining it
    const lastByte = yield* Effect.orElseSucceed(
      Effect.flatMap(fs.stat(path), (info) =>
        info.size === BigInt(0)
          ? Effect.succeed("\n")
          : Effect.scoped(Effect.flatMap(fs.open(path, { flag: "r" }), (file) =>
            Effect.flatMap(file.seek(info.size - BigInt(1), "start"), () =>
              Effect.map(file.readAlloc(1), (bytes) => Option.match(bytes, {
                onNone: () => "\n",
                onSome: (b) => String.fromCharCode(b[0] ?? 10)
              })))))),
      () => "\n"
    )
    const torn = yield* Ref.make(lastByte !== "\n")
    const append = (lines: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const lead = (yield* Ref.getAndSet(torn, false)) ? "\n" : ""
        // Losing the journal only costs the ability to follow these tasks on a resume; the run goes on.
        yield* Effect.ignore(fs.writeFileString(path, `${lead}${lines.join("\n")}\n`, { flag: "a" }))
      })
    /** The last task id the file records for `key`. */
    const recorded = (key: string) =>
      Stream.runFold(linesOf(fs, path), Option.none<string>(), (found, raw) => {
        const entry = entryOf(raw)
        return entry !== undefined && entry[0] === key ? Option.some(entry[1]) : found
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
        append(submitted.map((s) => JSON.stringify({ id: s.id, key: s.idempotencyKey, taskId: s.taskId }))).pipe(
          Effect.uninterruptible
        ),
      lookup: (item) =>
        Option.match(HashMap.get(earlier, item.idempotencyKey), {
          onNone: () => recorded(item.idempotencyKey),
          onSome: (taskId) => Effect.succeed(Option.some(taskId))
        })
    }
  })
