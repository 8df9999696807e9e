/**
 * Turns a Schema `ParseError` into the `FieldIssue`s of an `InvalidRequest`,
 * worded for a person: Effect's defaults for missing and unknown keys read
 * oddly on their own.
 */
import * as ParseResult from "effect/ParseResult"
import { FieldIssue } from "../CloroError.js"

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

/** One issue per problem, its field the dotted path (`(body)` for the root). */
export const fromParseError = (error: ParseResult.ParseError): Array<FieldIssue> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map(
    (issue) => new FieldIssue({ field: issue.path.map(String).join(".") || "(body)", message: issueMessage(issue) })
  )
