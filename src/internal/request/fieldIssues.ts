/**
 * Turns a Schema `ParseError` into the `FieldIssue`s of an `InvalidRequest`,
 * worded for a person: Effect's defaults for missing and unknown keys read
 * oddly on their own.
 */
import * as ParseResult from "effect/ParseResult"
import { FieldIssue } from "../../CloroError.js"

const unexpectedPrefix = "is unexpected, expected: "

const issueMessage = (issue: ParseResult.ArrayFormatterIssue): string => {
  switch (issue._tag) {
    case "Missing":
      return issue.message === "is missing" ? "Required field is missing" : issue.message
    case "Unexpected":
      return issue.message.startsWith(unexpectedPrefix)
        ? `Unknown field; expected one of ${issue.message.slice(unexpectedPrefix.length)}`
        : "Unknown field"
    default:
      return issue.message
  }
}

/**
 * An optional field is `T | undefined`, so a bad value also fails the
 * `undefined` member; that issue says nothing the one at the same field (or
 * inside it) does not.
 */
const isUndefinedNoise = (issue: ParseResult.ArrayFormatterIssue): boolean =>
  issue._tag === "Type" && issue.message.startsWith("Expected undefined, actual")

/** One issue per problem, its field the dotted path (`(body)` for the root). */
export const fromParseError = (error: ParseResult.ParseError): Array<FieldIssue> => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const key = (issue: ParseResult.ArrayFormatterIssue) => issue.path.map(String).join(".")
  return issues
    .filter((issue) =>
      !isUndefinedNoise(issue) ||
      !issues.some((other) =>
        other !== issue && (key(other) === key(issue) || key(other).startsWith(`${key(issue)}.`))
      )
    )
    .map((issue) => new FieldIssue({ field: key(issue) || "(body)", message: issueMessage(issue) }))
}
