/**
 * The request side of "strict for what we know, open for what cloro adds":
 * `undefined` means absent, and fields the library does not know yet can be
 * sent on purpose, beside a request that was validated strictly.
 */
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import { FieldIssue } from "../../CloroError.js"

/**
 * A copy without the keys whose value is `undefined`, at every depth of plain
 * objects and arrays: `{ include: undefined }` is `{}`, as it is in JSON.
 */
export const stripUndefined = (u: unknown): unknown => {
  if (Array.isArray(u)) return u.map(stripUndefined)
  if (!Predicate.isRecord(u) || Object.getPrototypeOf(u) !== Object.prototype) return u
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(u)) {
    if (value !== undefined) out[key] = stripUndefined(value)
  }
  return out
}

/**
 * Adds `unknownFields` to a validated body. A name the body's schema knows is
 * refused (the typed field exists and is checked), as is a value that is not
 * JSON, so that an escape hatch cannot bypass local validation.
 */
export const withUnknownFields = (
  body: unknown,
  unknownFields: Readonly<Record<string, unknown>> | undefined,
  knownFields: ReadonlyArray<string>,
  at: string = ""
): Either.Either<unknown, ReadonlyArray<FieldIssue>> => {
  if (unknownFields === undefined) return Either.right(body)
  const known = new Set(knownFields)
  const issues: Array<FieldIssue> = []
  const extra: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(unknownFields)) {
    const field = `${at}unknownFields.${key}`
    if (known.has(key)) {
      issues.push(new FieldIssue({ field, message: `${key} is a known field: set it on the request, where it is checked` }))
    } else if (!isJson(value)) {
      issues.push(new FieldIssue({ field, message: "must be a JSON value (string, number, boolean, null, array, object)" }))
    } else if (value !== undefined) {
      extra[key] = value
    }
  }
  if (issues.length > 0) return Either.left(issues)
  return Either.right(Predicate.isRecord(body) ? { ...body, ...extra } : body)
}

const isJson = (u: unknown): boolean =>
  u === undefined || u === null || typeof u === "string" || typeof u === "boolean" ||
  (typeof u === "number" && Number.isFinite(u)) ||
  (Array.isArray(u) && u.every((item) => item !== undefined && isJson(item))) ||
  (Predicate.isRecord(u) && Object.getPrototypeOf(u) === Object.prototype && Object.values(u).every(isJson))
