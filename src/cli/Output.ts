/**
 * The lines `cloro run` writes: one JSON object per input, in completion
 * order, and how a later run reads them back to resume.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"

/**
 * What became of one input.
 *
 * @since 0.2.0
 */
export type Status = "ok" | "failed" | "skipped"

/**
 * A failure as written: the error's tag, message and, when it has one, its
 * code (cloro's `error.code`, a task's failure code, an HTTP status).
 *
 * @since 0.2.0
 */
export interface LineError {
  readonly _tag: string
  readonly message: string
  readonly code?: string | undefined
  /** Field issues of an `InvalidRequest`. */
  readonly issues?: ReadonlyArray<{ readonly field: string; readonly message: string }> | undefined
  /** What else the error says (limit, retryAfter, requestId...), scalar fields only. */
  readonly details?: Readonly<Record<string, string | number | boolean>> | undefined
}

/**
 * One output line.
 *
 * @since 0.2.0
 */
export interface Line {
  readonly id: string
  /** The input line it came from. */
  readonly line: number
  readonly status: Status
  readonly engine: string | null
  readonly mode: "sync" | "async"
  readonly tags: ReadonlyArray<string>
  /** The engine's typed result (when `ok`). */
  readonly result?: unknown
  /** Why there is no result (when `failed` or `skipped`). */
  readonly error?: LineError | undefined
  /** What the answer's headers said (sync `ok` lines). */
  readonly usage?: unknown
  /** Credits billed for this input; `null` when unknown. */
  readonly credits: number | null
  /** The estimate before sending. */
  readonly estimate: number | null
  /** HTTP attempts this input took (sync); `null` in async mode, where tasks are sent in batches. */
  readonly attempts: number | null
  /** From the first attempt to the answer, in milliseconds. */
  readonly latencyMs: number | null
  /** cloro's task id (async mode). */
  readonly taskId?: string | undefined
}

const scalar = (u: unknown): u is string | number | boolean =>
  Predicate.isString(u) || (Predicate.isNumber(u) && Number.isFinite(u)) || Predicate.isBoolean(u)

const hidden: ReadonlySet<string> = new Set(["_tag", "message", "code", "issues", "stack", "name", "cause", "headers"])

/**
 * Any failure (a `CloroError`, a `TaskFailed`, an error kind this version
 * does not know) as a `LineError`, reading only what it finds. Nothing but
 * scalar fields is copied, so no request, header or key can leak into the file.
 *
 * @since 0.2.0
 */
export const errorOf = (error: unknown): LineError => {
  if (!Predicate.isRecord(error)) return { _tag: "UnknownError", message: String(error) }
  const tag = Predicate.isString(error._tag) ? error._tag : "UnknownError"
  const message = Predicate.isString(error.message) && error.message.length > 0 ? error.message : tag
  const code = Predicate.isString(error.code) || Predicate.isNumber(error.code)
    ? String(error.code)
    : Predicate.isNumber(error.status)
    ? String(error.status)
    : undefined
  const issues = Array.isArray(error.issues)
    ? error.issues.filter(Predicate.isRecord).map((i) => ({ field: String(i.field), message: String(i.message) }))
    : undefined
  const details: Record<string, string | number | boolean> = {}
  for (const [key, value] of Object.entries(error)) {
    if (!hidden.has(key) && scalar(value)) details[key] = value
  }
  return {
    _tag: tag,
    message,
    ...(code === undefined ? {} : { code }),
    ...(issues === undefined ? {} : { issues }),
    ...(Object.keys(details).length === 0 ? {} : { details })
  }
}

/**
 * A line as one JSON text (no newline).
 *
 * @since 0.2.0
 */
export const encode = (line: Line): string =>
  JSON.stringify({
    id: line.id,
    line: line.line,
    status: line.status,
    engine: line.engine,
    mode: line.mode,
    tags: line.tags,
    credits: line.credits,
    estimate: line.estimate,
    attempts: line.attempts,
    latencyMs: line.latencyMs,
    ...(line.taskId === undefined ? {} : { taskId: line.taskId }),
    ...(line.error === undefined ? {} : { error: line.error }),
    ...(line.usage === undefined ? {} : { usage: line.usage }),
    ...(line.result === undefined ? {} : { result: line.result })
  })

/**
 * What an existing output file says: the ids already `ok` (never sent
 * again) and how many lines it held. Unreadable lines are counted and
 * otherwise ignored, so a line cut off by a crash does not stop a resume.
 *
 * @since 0.2.0
 */
export const readDone = (
  text: string
): { readonly ok: ReadonlySet<string>; readonly lines: number; readonly unreadable: number; readonly creditsSpent: number } =>
  doneOf(addDone(emptyDone(), text))

/**
 * What `readDone` gathers, read a piece of text at a time (`addDone`), so
 * that a long output file is never held whole: the ids already ok and their
 * credits, and the line not yet ended (`rest`). Made fresh by `emptyDone`;
 * `addDone` adds to its map.
 *
 * @since 0.6.0
 */
export interface DoneSoFar {
  /** each id's first ok line's credits */
  readonly firstOk: Map<string, number>
  readonly lines: number
  readonly unreadable: number
  /** the text after the last line break */
  readonly rest: string
}

/** @since 0.6.0 */
export const emptyDone = (): DoneSoFar => ({ firstOk: new Map(), lines: 0, unreadable: 0, rest: "" })

const addLine = (done: DoneSoFar, raw: string): DoneSoFar => {
  if (raw.trim().length === 0) return done
  const parsed = Either.try((): unknown => JSON.parse(raw))
  const record = Either.isRight(parsed) && Predicate.isRecord(parsed.right) && Predicate.isString(parsed.right.id) &&
      Predicate.isString(parsed.right.status)
    ? parsed.right
    : undefined
  // an id written ok twice (by hand, or by two runs at once) counts once: its first line
  if (record?.status === "ok" && !done.firstOk.has(String(record.id))) {
    done.firstOk.set(String(record.id), Predicate.isNumber(record.credits) ? record.credits : 0)
  }
  return { ...done, lines: done.lines + 1, unreadable: done.unreadable + (record === undefined ? 1 : 0) }
}

/** Adds a piece of an output file's text. @since 0.6.0 */
export const addDone = (done: DoneSoFar, piece: string): DoneSoFar => {
  const lines = (done.rest + piece).split("\n")
  const rest = lines.pop() ?? ""
  return { ...lines.reduce(addLine, done), rest }
}

/** What was gathered, the last line (without a line break) included. @since 0.6.0 */
export const doneOf = (
  done: DoneSoFar
): { readonly ok: ReadonlySet<string>; readonly lines: number; readonly unreadable: number; readonly creditsSpent: number } => {
  const all = addLine(done, done.rest)
  let creditsSpent = 0
  for (const credits of all.firstOk.values()) creditsSpent += credits
  return { ok: new Set(all.firstOk.keys()), lines: all.lines, unreadable: all.unreadable, creditsSpent }
}
