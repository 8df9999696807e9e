/**
 * Helpers for public entry points that must turn any JS value (a bigint, a
 * circular object, `null` where an object was declared, a proxy that throws)
 * into a typed failure instead of a throw or a defect.
 */
import * as Effect from "effect/Effect"

/** A short description of any value that never throws (no `JSON.stringify` of arbitrary input). */
export const show = (value: unknown): string => {
  try {
    switch (typeof value) {
      case "string":
        return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}...` : value)
      case "number":
      case "boolean":
      case "undefined":
        return String(value)
      case "bigint":
        return `${value.toString()}n`
      case "symbol":
        return value.toString()
      case "function":
        return "a function"
      default:
        return value === null ? "null" : Array.isArray(value) ? "an array" : "an object"
    }
  } catch {
    return typeof value
  }
}

/** Whether `value` is a plain object whose fields may be read. */
export const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Options as given, or `{}` when absent; anything else (a number, `null`, an
 * array) is reported through `refuse`. Reading a field of the result cannot throw
 * except through a getter or a proxy, which `guard` catches.
 */
export const options = <E>(
  value: unknown,
  refuse: (message: string) => E
): Effect.Effect<Readonly<Record<string, unknown>>, E> =>
  value === undefined
    ? Effect.succeed({})
    : isRecord(value)
    ? Effect.succeed(value)
    : Effect.fail(refuse(`options must be an object, got ${show(value)}`))

/**
 * Builds an effect from arbitrary input. Whatever the building throws (a getter
 * or proxy in the input, a value no validator foresaw) becomes the typed
 * failure `onThrow` makes, and so does a defect while the effect runs; the
 * caller sees an `Effect` in every case, never a throw.
 */
export const guard = <A, E, R, E2>(
  build: () => Effect.Effect<A, E, R>,
  onThrow: (cause: unknown) => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.catchAllDefect(Effect.suspend(build), (defect) => Effect.fail(onThrow(defect)))

/**
 * For entry points with no error channel (feeding observations): input that
 * cannot even be read is dropped with a warning log line instead of dying.
 */
export const orWarn = (build: () => Effect.Effect<void>, what: string): Effect.Effect<void> =>
  Effect.catchAllDefect(
    Effect.suspend(build),
    (defect) => Effect.logWarning(`${what} ignored a value it could not read (${show(defect)})`)
  )
