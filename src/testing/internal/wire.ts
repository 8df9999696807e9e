/**
 * The simulator's wire shapes: the plain request and response both adapters
 * (the in-memory `HttpClient` and the loopback server) exchange with the
 * core, the `Answer` an endpoint produces before the common headers are
 * added, and the helpers every endpoint uses to write cloro's JSON and its
 * error envelope.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import type { FieldIssue } from "../../CloroError.js"

/** A request as both adapters hand it over. Header names are lower-case. @internal */
export interface SimRequest {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * The plain request both adapters build from what they received: the path
 * and query of `url`, the headers as they came (the platform lower-cases them).
 *
 * @internal
 */
export const simRequest = (
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string
): SimRequest => ({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { ...headers }, body })

/** @internal */
export interface SimResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** A response before the common headers and post-processing faults are applied. @internal */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly code?: string | undefined
}

/** @internal */
export const json = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Answer => ({
  status,
  headers,
  body: JSON.stringify(body)
})

/** @internal */
export const iso = (millis: number): string => new Date(millis).toISOString()

const errorEnvelope = (code: string, message: string, details: unknown, now: number) => ({
  success: false,
  error: { code, message, ...(details === undefined ? {} : { details }), timestamp: iso(now) }
})

/** cloro's error envelope, with the code kept beside it for the request log. @internal */
export const failure = (
  status: number,
  code: string,
  message: string,
  now: number,
  options: { readonly details?: unknown; readonly headers?: Readonly<Record<string, string>> } = {}
): Answer => ({ ...json(status, errorEnvelope(code, message, options.details, now), options.headers), code })

/** @internal */
export const issueDetails = (issues: ReadonlyArray<FieldIssue>) =>
  issues.map(({ field, message }) => ({ field, message }))

/** @internal */
export const parseIssues = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    field: issue.path.map(String).join(".") || "(body)",
    message: issue.message
  }))

/** @internal */
export const parseJson = (body: string): Either.Either<unknown, string> => {
  if (body.trim().length === 0) return Either.left("The request body is empty; send a JSON object")
  try {
    return Either.right(JSON.parse(body))
  } catch {
    return Either.left("The request body is not valid JSON")
  }
}

/** @internal */
export const invalidJson = (message: string, now: number): Answer =>
  failure(400, "VALIDATION_ERROR", "Request validation failed", now, { details: [{ field: "(body)", message }] })

/** The 400 every endpoint answers when a validated body has issues. @internal */
export const invalidRequest = (details: unknown, now: number): Answer =>
  failure(400, "VALIDATION_ERROR", "Request validation failed", now, { details })
