/**
 * Reading a `cloro run` input file: JSONL (one request per line), CSV with a
 * header row, or plain text (one prompt per line). Every line becomes an
 * `Item`; a line that cannot be a request becomes an item carrying a typed
 * `InvalidRequest`, so the run reports it and goes on.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import { CloroError, Engine, Pricing } from "../index.js"

/**
 * How the input file is laid out.
 *
 * @since 0.2.0
 */
export type Format = "jsonl" | "csv" | "text"

/**
 * A validated request, its engine kept with it so that the request stays typed.
 *
 * @since 0.2.0
 */
export interface Prepared<N extends Engine.EngineName = Engine.EngineName> {
  readonly engine: N
  readonly request: Engine.Request<N>
  /** The body as written, for the async API's own validation. */
  readonly body: Readonly<Record<string, unknown>>
}

/**
 * One line of input.
 *
 * @since 0.2.0
 */
export interface Item {
  /** The line's `id`, or `line-<n>` when it has none (stable while the file is unchanged). */
  readonly id: string
  /** 1-based line number in the file (the header of a CSV is line 1). */
  readonly line: number
  readonly engine: string | undefined
  readonly tags: ReadonlyArray<string>
  readonly request: Either.Either<Prepared, CloroError.InvalidRequest>
}

/**
 * Defaults applied to lines that leave a field out.
 *
 * @since 0.2.0
 */
export interface Defaults {
  readonly engine?: string | undefined
  readonly country?: string | undefined
  /** Added to every line's tags. */
  readonly tags?: ReadonlyArray<string> | undefined
}

/**
 * The format a file name suggests: `.jsonl`/`.ndjson`/`.json` are JSONL,
 * `.csv` is CSV, anything else is plain text.
 *
 * @since 0.2.0
 */
export const formatOf = (path: string): Format => {
  const lower = path.toLowerCase()
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson") || lower.endsWith(".json")) return "jsonl"
  if (lower.endsWith(".csv")) return "csv"
  return "text"
}

const engineNames: ReadonlySet<string> = new Set(Engine.names)

const isEngineName = (u: unknown): u is Engine.EngineName => Predicate.isString(u) && engineNames.has(u)

/**
 * An `InvalidRequest` about one field of the input line.
 *
 * @since 0.2.0
 */
export const invalidLine = (field: string, message: string): CloroError.InvalidRequest =>
  new CloroError.InvalidRequest({
    message: `${field}: ${message}`,
    source: "client",
    issues: [new CloroError.FieldIssue({ field, message })]
  })

/** An engine whose request has a `prompt` takes the line as its prompt; the others (Google Search and News) a `query`. */
const textField = (engine: Engine.EngineName): "query" | "prompt" =>
  Engine.knownFields(engine).includes("prompt") ? "prompt" : "query"

const prepare = <N extends Engine.EngineName>(
  engine: N,
  body: Readonly<Record<string, unknown>>
): Either.Either<Prepared, CloroError.InvalidRequest> =>
  Either.map(Engine.validate(engine, body), (request): Prepared<N> => ({ engine, request, body }))

const tagsOf = (u: unknown): Either.Either<ReadonlyArray<string>, CloroError.InvalidRequest> => {
  if (u === undefined || u === null || u === "") return Either.right([])
  if (Predicate.isString(u)) return Either.right(u.split(/[;|]/).map((t) => t.trim()).filter((t) => t.length > 0))
  if (Array.isArray(u) && u.every(Predicate.isString)) return Either.right(u)
  return Either.left(invalidLine("tags", "tags must be a string or an array of strings"))
}

/**
 * Turns one parsed record (a JSON object, a CSV row) into an item: `id`,
 * `engine` and `tags` are taken out, defaults filled in, and the rest
 * validated as the engine's request.
 *
 * @since 0.2.0
 */
export const fromRecord = (record: unknown, line: number, defaults: Defaults): Item => {
  const fallbackId = `line-${line}`
  const extraTags = defaults.tags ?? []
  if (!Predicate.isRecord(record) || Array.isArray(record)) {
    return {
      id: fallbackId,
      line,
      engine: undefined,
      tags: extraTags,
      request: Either.left(invalidLine("(line)", "expected a JSON object { engine, prompt | query, country, ... }"))
    }
  }
  const { engine: rawEngine, id: rawId, tags: rawTags, ...rest } = record
  const engine = rawEngine ?? defaults.engine
  const idValid = rawId === undefined || rawId === null || (Predicate.isString(rawId) && rawId.length > 0) ||
    Predicate.isNumber(rawId)
  const id = Predicate.isString(rawId) && rawId.length > 0 ? rawId : Predicate.isNumber(rawId) ? String(rawId) : fallbackId
  const tags = tagsOf(rawTags)
  const base = {
    id,
    line,
    engine: Predicate.isString(engine) ? engine : undefined,
    tags: [...Either.getOrElse(tags, () => []), ...extraTags]
  }
  if (!idValid) return { ...base, request: Either.left(invalidLine("id", "id must be a non-empty string")) }
  if (Either.isLeft(tags)) return { ...base, request: Either.left(tags.left) }
  if (!isEngineName(engine)) {
    return {
      ...base,
      request: Either.left(
        invalidLine(
          "engine",
          engine === undefined
            ? `engine is required (one of ${Engine.names.join(", ")}), or pass --engine`
            : `unknown engine ${JSON.stringify(engine)} (one of ${Engine.names.join(", ")})`
        )
      )
    }
  }
  const body: Record<string, unknown> = { ...rest }
  if (defaults.country !== undefined && body.country === undefined && body.gl === undefined && body.url === undefined) {
    body.country = defaults.country
  }
  return { ...base, request: prepare(engine, body) }
}

const splitLines = (text: string): ReadonlyArray<string> => text.replace(/^\uFEFF/, "").split(/\r?\n/)

/**
 * One JSONL line (1-based `line`) as an item; `undefined` for a blank line.
 *
 * @since 0.6.0
 */
export const jsonlLine = (raw: string, line: number, defaults: Defaults): Item | undefined => {
  if (raw.trim().length === 0) return undefined
  const parsed = Either.try(() => JSON.parse(line === 1 ? raw.replace(/^\uFEFF/, "") : raw) as unknown)
  return Either.match(parsed, {
    onLeft: () => ({
      id: `line-${line}`,
      line,
      engine: undefined,
      tags: defaults.tags ?? [],
      request: Either.left(invalidLine("(line)", "not valid JSON"))
    }),
    onRight: (record) => fromRecord(record, line, defaults)
  })
}

/**
 * One line of a text file (1-based `line`) as an item; `undefined` for a
 * blank line or a `#` comment.
 *
 * @since 0.6.0
 */
export const textLine = (raw: string, line: number, defaults: Defaults): Item | undefined => {
  const prompt = (line === 1 ? raw.replace(/^\uFEFF/, "") : raw).trim()
  if (prompt.length === 0 || prompt.startsWith("#")) return undefined
  const engine = defaults.engine ?? "chatgpt"
  const field = isEngineName(engine) ? textField(engine) : "prompt"
  return fromRecord({ engine, [field]: prompt }, line, { ...defaults, country: defaults.country ?? "US" })
}

const eachLine = (
  text: string,
  parseLine: (raw: string, line: number, defaults: Defaults) => Item | undefined,
  defaults: Defaults
): ReadonlyArray<Item> =>
  splitLines(text).flatMap((raw, index) => {
    const item = parseLine(raw, index + 1, defaults)
    return item === undefined ? [] : [item]
  })

/**
 * Parses JSONL: each non-blank line a JSON object.
 *
 * @since 0.2.0
 */
export const parseJsonl = (text: string, defaults: Defaults): ReadonlyArray<Item> => eachLine(text, jsonlLine, defaults)

/**
 * Parses plain text: each non-blank line a prompt (or query) for the default
 * engine and country. Lines starting with `#` are comments.
 *
 * @since 0.2.0
 */
export const parseText = (text: string, defaults: Defaults): ReadonlyArray<Item> => eachLine(text, textLine, defaults)

/**
 * Splits CSV text into rows of cells (RFC 4180: quoted cells may hold commas,
 * quotes doubled, and line breaks), each row with the line it starts on.
 *
 * @since 0.2.0
 */
export const csvRows = (text: string): ReadonlyArray<{ readonly line: number; readonly cells: ReadonlyArray<string> }> => {
  const rows: Array<{ line: number; cells: Array<string> }> = []
  const source = text.replace(/^\uFEFF/, "")
  let cells: Array<string> = []
  let cell = ""
  let quoted = false
  let line = 1
  let rowLine = 1
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!
    if (quoted) {
      if (c === "\"" && source[i + 1] === "\"") {
        cell += "\""
        i++
      } else if (c === "\"") quoted = false
      else {
        if (c === "\n") line++
        cell += c
      }
    } else if (c === "\"") quoted = true
    else if (c === ",") {
      cells.push(cell)
      cell = ""
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && source[i + 1] === "\n") i++
      cells.push(cell)
      rows.push({ line: rowLine, cells })
      cells = []
      cell = ""
      line++
      rowLine = line
    } else cell += c
  }
  if (cell.length > 0 || cells.length > 0) {
    cells.push(cell)
    rows.push({ line: rowLine, cells })
  }
  return rows.filter((row) => row.cells.some((c) => c.trim().length > 0))
}

/** Text fields stay strings even when they look like numbers. */
const textColumns: ReadonlySet<string> = new Set(["id", "prompt", "query", "tags", "url", "engine"])

const cellValue = (column: string, cell: string): unknown => {
  if (textColumns.has(column)) return cell
  if (cell === "true") return true
  if (cell === "false") return false
  if (/^-?\d+(\.\d+)?$/.test(cell)) return Number(cell)
  return cell
}

/** `include.markdown` as a column name sets `{ include: { markdown } }`. */
const setPath = (target: Record<string, unknown>, path: ReadonlyArray<string>, value: unknown): void => {
  const [head, ...rest] = path
  if (head === undefined) return
  if (rest.length === 0) {
    target[head] = value
    return
  }
  const existing = target[head]
  const child: Record<string, unknown> = Predicate.isRecord(existing) ? { ...existing } : {}
  setPath(child, rest, value)
  target[head] = child
}

/**
 * Parses CSV with a header row; empty cells are left out, `true`/`false`
 * and numbers are typed, dotted column names (`include.markdown`) nest.
 *
 * @since 0.2.0
 */
export const parseCsv = (text: string, defaults: Defaults): ReadonlyArray<Item> => {
  const [header, ...rows] = csvRows(text)
  if (header === undefined) return []
  const columns = header.cells.map((c) => c.trim())
  return rows.map((row) => {
    if (row.cells.length > columns.length) {
      return fromRecord(undefined, row.line, defaults)
    }
    const record: Record<string, unknown> = {}
    columns.forEach((column, i) => {
      const cell = row.cells[i]
      if (cell !== undefined && cell.length > 0 && column.length > 0) setPath(record, column.split("."), cellValue(column, cell))
    })
    return fromRecord(record, row.line, defaults)
  })
}

/**
 * Parses a file's text in the given format. Two lines with the same `id`: the
 * second is an invalid line, since results are kept by id.
 *
 * @since 0.2.0
 */
export const parse = (text: string, format: Format, defaults: Defaults): ReadonlyArray<Item> => {
  const items = format === "jsonl"
    ? parseJsonl(text, defaults)
    : format === "csv"
    ? parseCsv(text, defaults)
    : parseText(text, defaults)
  const seen = new Set<string>()
  return items.map((item) => unique(seen, item))
}

/**
 * The item as it stands in its file given the ids seen before it (`seen`,
 * which it joins): a second line with the same `id` is an invalid line,
 * since results are kept by id.
 *
 * @since 0.6.0
 */
export const unique = (seen: Set<string>, item: Item): Item => {
  if (!seen.has(item.id)) {
    seen.add(item.id)
    return item
  }
  return {
    ...item,
    id: `${item.id}@line-${item.line}`,
    request: Either.left(invalidLine("id", `duplicate id ${JSON.stringify(item.id)}; ids must be unique in a file`))
  }
}

/**
 * The estimated price of a prepared request in a mode, and the most it can
 * be charged (AI Mode's product expansion is billed after the fact).
 *
 * @since 0.2.0
 */
export const estimate = <N extends Engine.EngineName>(
  prepared: Prepared<N>,
  mode: Pricing.Mode
): { readonly estimate: number; readonly max: number } => ({
  estimate: Pricing.estimate(prepared.engine, prepared.request, { mode }),
  max: Pricing.maxCharge(prepared.engine, prepared.request, { mode })
})
