/**
 * A fast path for decoding cloro's answers: the schema's AST compiled once
 * into plain functions that build the decoded value directly, without the
 * `Either` at every level, the issue bookkeeping and the closures per field
 * that `ParseResult` spends on every answer (about 40 KB and 20 µs for a 1 KB
 * chatgpt answer, a sixth of what a sync call allocates).
 *
 * It is only ever a shortcut, never a second opinion: it answers either the
 * very value `Schema.decodeUnknownEither(schema, options)` would give, or
 * `Fail`, which means "ask the schema" (the input does not decode, or the
 * compiled functions are not sure). `decodeWith` then decodes with the
 * schema itself, so errors, and any case the fast path declines, are exactly
 * Effect's. What it is sure of, it emulates `ParseResult` step by step:
 *
 * - keywords, literals and enums by the same predicates;
 * - a struct (`TypeLiteral`) field by field in declaration order, an absent
 *   optional field left out, an absent required one decoded from `undefined`,
 *   unknown fields dropped (`onExcessProperty: "ignore"`);
 * - an array (a tuple with only a rest element) item by item into a new array;
 * - a union by trying every member: a value only when exactly one member
 *   decodes it (or all that do give the same primitive), because `ParseResult`
 *   may try them in another order (by literal discriminants) and takes the first;
 * - refinements with their own filter, declarations and final transformations
 *   with their own decode function (when it answers synchronously), property
 *   signature transformations (defaults, renames) as `ParseResult` applies them.
 *
 * A node with index signatures, a template literal, a tuple with fixed
 * elements or a parse-options or decoding-fallback annotation is decoded by
 * the schema itself (`ParseResult.decodeUnknownEither` of that node), so it
 * costs what it always did. `test/FastDecode.test.ts` checks the equivalence
 * on every answer cloro's OpenAPI documents allow, mutations of them, and
 * random values from each schema.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

/** "Ask the schema": the input does not decode, or the fast path is not sure. */
export const Fail: unique symbol = Symbol.for("cloro-effect/FastDecode/Fail")
export type Fail = typeof Fail

type Decode = (input: unknown) => unknown

/** The options every answer is decoded with (`Http.decodeWith`). */
export const answerOptions: SchemaAST.ParseOptions = { errors: "first", onExcessProperty: "ignore" }

/**
 * Whether the fast path gives what `ParseResult` gives with `options`: unknown
 * fields dropped, absent required fields decoded from `undefined`, the
 * schema's key order. Which issues are reported (`errors`) does not change a
 * decoded value.
 */
export const emulates = (options: SchemaAST.ParseOptions | undefined): boolean =>
  options === undefined ||
  ((options.onExcessProperty === undefined || options.onExcessProperty === "ignore") && options.exact !== true &&
    options.propertyOrder !== "original")

const compiled = new WeakMap<SchemaAST.AST, Decode>()

/** The node decoded by the schema itself, for what the fast path does not emulate. */
const bySchema = (ast: SchemaAST.AST): Decode => {
  const decode = ParseResult.decodeUnknownEither(Schema.make(ast), answerOptions)
  return (input) => {
    const result = decode(input)
    return Either.isRight(result) ? result.right : Fail
  }
}

/** A synchronous `ParseResult` answer (an `Either`) as a value, anything else as `Fail`. */
const settled = (result: unknown): unknown =>
  Either.isEither(result) ? (Either.isRight(result) ? result.right : Fail) : Fail

const when = (predicate: (input: unknown) => boolean): Decode => (input) => (predicate(input) ? input : Fail)

const compile = (ast: SchemaAST.AST): Decode => {
  const known = compiled.get(ast)
  if (known !== undefined) return known
  // Set before compiling the node's children, so a recursive schema (`Suspend`) finds it.
  let inner: Decode = () => Fail
  const entry: Decode = (input) => inner(input)
  compiled.set(ast, entry)
  inner = Option.isSome(SchemaAST.getParseOptionsAnnotation(ast)) ||
      Option.isSome(SchemaAST.getDecodingFallbackAnnotation(ast))
    ? bySchema(ast)
    : node(ast)
  return entry
}

/** The keywords' checks, the predicates `ParseResult` uses. */
const keywords = {
  StringKeyword: Predicate.isString,
  NumberKeyword: Predicate.isNumber,
  BooleanKeyword: Predicate.isBoolean,
  BigIntKeyword: Predicate.isBigInt,
  SymbolKeyword: Predicate.isSymbol,
  ObjectKeyword: Predicate.isObject
} satisfies Partial<Record<SchemaAST.AST["_tag"], (input: unknown) => boolean>>

const node = (ast: SchemaAST.AST): Decode => {
  switch (ast._tag) {
    case "Literal": {
      const literal = ast.literal
      return when((input) => input === literal)
    }
    case "UniqueSymbol": {
      const symbol = ast.symbol
      return when((input) => input === symbol)
    }
    case "UndefinedKeyword":
      return when(Predicate.isUndefined)
    case "NeverKeyword":
      return () => Fail
    case "UnknownKeyword":
    case "AnyKeyword":
    case "VoidKeyword":
      return (input) => input
    case "StringKeyword":
    case "NumberKeyword":
    case "BooleanKeyword":
    case "BigIntKeyword":
    case "SymbolKeyword":
    case "ObjectKeyword":
      return when(keywords[ast._tag])
    case "Enums": {
      const values = ast.enums.map(([, value]) => value)
      return when((input) => values.some((value) => value === input))
    }
    case "Refinement": {
      const from = compile(ast.from)
      return (input) => {
        const value = from(input)
        return value !== Fail && Option.isNone(ast.filter(value, answerOptions, ast)) ? value : Fail
      }
    }
    case "Declaration": {
      const decode = ast.decodeUnknown(...ast.typeParameters)
      return (input) => settled(decode(input, answerOptions, ast))
    }
    case "TupleType":
      return ast.elements.length === 0 && ast.rest.length === 1 ? arrayOf(compile(ast.rest[0]!.type)) : bySchema(ast)
    case "TypeLiteral":
      return ast.indexSignatures.length > 0 ? bySchema(ast) : struct(ast)
    case "Union":
      return union(ast.types.map(compile))
    case "Suspend": {
      let target: Decode | undefined
      return (input) => (target ??= compile(ast.f()))(input)
    }
    case "Transformation":
      return transformation(ast)
    case "TemplateLiteral":
      return bySchema(ast)
  }
}

const arrayOf = (item: Decode): Decode => (input) => {
  if (!Array.isArray(input)) return Fail
  const output: Array<unknown> = new Array(input.length)
  for (let i = 0; i < input.length; i++) {
    const value = item(input[i])
    if (value === Fail) return Fail
    output[i] = value
  }
  return output
}

const struct = (ast: SchemaAST.TypeLiteral): Decode => {
  if (ast.propertySignatures.length === 0) return when(Predicate.isNotNullable)
  const fields = ast.propertySignatures.map((ps) => ({ name: ps.name, optional: ps.isOptional, decode: compile(ps.type) }))
  return (input) => {
    if (!Predicate.isRecord(input)) return Fail
    const output: Record<PropertyKey, unknown> = {}
    for (const field of fields) {
      const has = Object.prototype.hasOwnProperty.call(input, field.name)
      if (!has && field.optional) continue
      // As `ParseResult` does: a required field that is absent is decoded from `undefined`.
      const value = field.decode(input[field.name])
      if (value === Fail) return Fail
      output[field.name] = value
    }
    return output
  }
}

const union = (members: ReadonlyArray<Decode>): Decode => (input) => {
  let found: unknown = Fail
  for (const member of members) {
    const value = member(input)
    if (value === Fail) continue
    // Two members that decode the input to different values: which one `ParseResult` takes
    // depends on its own order of candidates, so the schema decides.
    if (found !== Fail && found !== value) return Fail
    found = value
  }
  return found
}

const transformation = (ast: SchemaAST.Transformation): Decode => {
  const from = compile(ast.from)
  const to = compile(ast.to)
  const kind = ast.transformation
  switch (kind._tag) {
    case "ComposeTransformation":
      return (input) => {
        const value = from(input)
        return value === Fail ? Fail : to(value)
      }
    case "FinalTransformation":
      return (input) => {
        const value = from(input)
        if (value === Fail) return Fail
        const transformed = settled(kind.decode(value, answerOptions, ast, input))
        return transformed === Fail ? Fail : to(transformed)
      }
    case "TypeLiteralTransformation":
      // Changed in place below: only a struct's own new object (not, say, an empty struct's input).
      if (!SchemaAST.isTypeLiteral(ast.from) || ast.from.propertySignatures.length === 0) return bySchema(ast)
      return (input) => {
        const value = from(input)
        if (value === Fail || !Predicate.isRecord(value)) return Fail
        // The decoded struct is this call's own new object: changed in place, as `ParseResult` does.
        const object: Record<PropertyKey, unknown> = value
        for (const pst of kind.propertySignatureTransformations) {
          const given = Object.prototype.hasOwnProperty.call(object, pst.from) ? Option.some(object[pst.from]) : Option.none()
          const decoded = pst.decode(given)
          delete object[pst.from]
          if (Option.isSome(decoded)) object[pst.to] = decoded.value
        }
        return to(object)
      }
  }
}

/**
 * The fast path of `schema`: the value `Schema.decodeUnknownEither(schema,
 * answerOptions)` gives, or `Fail` ("ask the schema"). Compiled once per
 * schema and kept.
 */
export const compileSchema = <A, I, R>(schema: Schema.Schema<A, I, R>): (input: unknown) => A | Fail => {
  const decode = compile(schema.ast)
  // The one place where the compiled functions' `unknown` becomes `A`: they give
  // exactly what the schema's own decoder would (see the module comment and its test).
  return decode as (input: unknown) => A | Fail
}
