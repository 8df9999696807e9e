/**
 * The answers' fast decode path (`internal/request/fastDecode.ts`) against
 * the reference it must agree with, Effect's own `ParseResult`: on every
 * answer body generated from cloro's OpenAPI documents (each operation's
 * complete answer and every variant, whether the spec accepts it or not),
 * on seeded random mutations of each, and on every other operation's bodies,
 * the fast path gives either exactly the schema's decoded value or declines
 * (`Fail`), and it never accepts what the schema refuses. It must also not be
 * vacuous: it decodes the spec's own answers itself.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Account from "../src/Account.js"
import * as Engine from "../src/Engine.js"
import * as GoogleGoto from "../src/engines/GoogleGoto.js"
import * as Task from "../src/Task.js"
import * as FastDecode from "../src/internal/request/fastDecode.js"
import * as OpenApiVariants from "./support/openapiVariants.js"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const monitor = (name: Engine.EngineName) => Schema.Struct({ result: Engine.engines[name].result })

/** Every schema the client decodes an answer with (`Http.decodeWith`), by the operation that answers with it. */
const schemas: Record<string, Schema.Schema.AnyNoContext> = {
  monitorChatgpt: monitor("chatgpt"),
  monitorGemini: monitor("gemini"),
  monitorGrok: monitor("grok"),
  monitorCopilot: monitor("copilot"),
  monitorPerplexity: monitor("perplexity"),
  monitorAiMode: monitor("aimode"),
  monitorGoogle: monitor("google"),
  monitorGoogleNews: monitor("googleNews"),
  resolveGoogleGoto: GoogleGoto.Response,
  getCountries: Account.Countries,
  getStates: Account.States,
  getCredits: Account.CreditsBalance,
  createAsyncTask: Task.SubmitResponse,
  createBatchAsyncTasks: Task.BatchResponse,
  getAsyncStatus: Task.AsyncStatus,
  clearAsyncQueue: Task.ClearQueueResponse
}

/** A small seeded generator (mulberry32), so a failing mutation is the same on every run. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const replacements: ReadonlyArray<Json> = [null, "", "text", 0, -1, 1.5, true, false, [], {}, [null], { extra: 1 }]

const isArray = (value: Json): value is ReadonlyArray<Json> => Array.isArray(value)

/** `body` with one randomly chosen place changed: a field removed, added or replaced, or an item replaced. */
const mutate = (body: Json, random: () => number): Json => {
  const places: Array<ReadonlyArray<string | number>> = [[]]
  const walk = (value: Json, path: ReadonlyArray<string | number>) => {
    if (isArray(value)) value.forEach((item, i) => { places.push([...path, i]); walk(item, [...path, i]) })
    else if (typeof value === "object" && value !== null) {
      for (const [key, item] of Object.entries(value)) { places.push([...path, key]); walk(item, [...path, key]) }
    }
  }
  walk(body, [])
  const path = places[Math.floor(random() * places.length)]!
  const replacement = replacements[Math.floor(random() * replacements.length)]!
  const how = random()
  const rebuild = (value: Json, depth: number): Json => {
    if (depth === path.length) return replacement
    const step = path[depth]!
    if (isArray(value)) return value.map((item: Json, i) => (i === step ? rebuild(item, depth + 1) : item))
    if (typeof value !== "object" || value === null) return value
    const copy: Record<string, Json> = { ...value }
    const key = String(step)
    if (depth === path.length - 1 && how < 0.3) delete copy[key]
    else if (depth === path.length - 1 && how < 0.45) copy[`unknown_${key}`] = replacement
    else copy[key] = rebuild(copy[key] ?? null, depth + 1)
    return copy
  }
  return rebuild(body, 0)
}

interface Tally {
  compared: number
  fast: number
  mismatches: Array<string>
}

/** Decodes `input` both ways; a difference is recorded. */
const compare = (name: string, schema: Schema.Schema.AnyNoContext, input: unknown, tally: Tally) => {
  const fast = FastDecode.compileSchema(schema)(input)
  const reference = Schema.decodeUnknownEither(schema, FastDecode.answerOptions)(input)
  tally.compared++
  if (fast === FastDecode.Fail) return
  tally.fast++
  if (Either.isLeft(reference)) {
    tally.mismatches.push(`${name}: accepted what the schema refuses: ${JSON.stringify(input).slice(0, 300)}`)
    return
  }
  try {
    expect(fast).toStrictEqual(reference.right)
  } catch {
    tally.mismatches.push(`${name}: a different value for ${JSON.stringify(input).slice(0, 300)}`)
  }
}

describe.each(["cloro-openapi.json", "cloro-openapi-older.json"])("FastDecode against ParseResult (%s)", (file) => {
  const generator = OpenApiVariants.makeGenerator(OpenApiVariants.loadSpec(file))
  const bodies = generator.operations.map((operation) => {
    const complete = generator.complete(operation.schema)
    const variants = generator.variants(operation.schema, complete)
    return {
      operation: operation.operationId,
      all: variants.map((variant) => variant.body),
      accepted: variants.filter((variant) => generator.accepts(operation.schema, variant.body)).map((variant) => variant.body)
    }
  })

  it("decodes each operation's spec-valid answers itself, to exactly the schema's value", () => {
    const tally: Tally = { compared: 0, fast: 0, mismatches: [] }
    let accepted = 0
    let fastOnAccepted = 0
    for (const { accepted: valid, all, operation } of bodies) {
      const schema = schemas[operation]
      if (schema === undefined) continue
      for (const body of all) compare(operation, schema, body, tally)
      for (const body of valid) {
        accepted++
        if (FastDecode.compileSchema(schema)(body) !== FastDecode.Fail) fastOnAccepted++
      }
    }
    console.log(`FastDecode (${file}): ${tally.compared} answers compared, ${tally.fast} decoded by the fast path; ${fastOnAccepted} of ${accepted} spec-valid ones`)
    expect(tally.mismatches).toEqual([])
    // Not vacuous: nearly every answer the spec allows takes the fast path.
    expect(fastOnAccepted).toBeGreaterThan(accepted * 0.9)
  })

  it("agrees on seeded random mutations of every answer, and on other operations' answers", () => {
    const random = prng(16)
    const tally: Tally = { compared: 0, fast: 0, mismatches: [] }
    for (const { all, operation } of bodies) {
      const schema = schemas[operation]
      if (schema === undefined) continue
      for (const body of all) {
        for (let i = 0; i < 8; i++) compare(operation, schema, mutate(body, random), tally)
      }
      for (const other of bodies) {
        if (other.operation !== operation && other.all[0] !== undefined) compare(operation, schema, other.all[0], tally)
      }
    }
    console.log(`FastDecode mutations (${file}): ${tally.compared} compared, ${tally.fast} decoded by the fast path`)
    expect(tally.mismatches).toEqual([])
    expect(tally.fast).toBeGreaterThan(0)
  })
})

describe("FastDecode", () => {
  it("declines, and the schema decides, where members of a union decode one input differently", () => {
    const schema = Schema.Union(Schema.Struct({ a: Schema.String }), Schema.Struct({ b: Schema.String }))
    const input = { a: "x", b: "y" }
    expect(FastDecode.compileSchema(schema)(input)).toBe(FastDecode.Fail)
    expect(Schema.decodeUnknownEither(schema, FastDecode.answerOptions)(input)).toEqual(Either.right({ a: "x" }))
  })

  it("applies defaults and leaves an absent optional field out, as the schema does", () => {
    const schema = Schema.Struct({
      text: Schema.optionalWith(Schema.String, { nullable: true, default: () => "" }),
      note: Schema.optional(Schema.String),
      count: Schema.Number
    })
    const fast = FastDecode.compileSchema(schema)
    const input = { text: null, count: 1, extra: true }
    expect(fast(input)).toStrictEqual({ text: "", count: 1 })
    expect(fast(input)).toStrictEqual(Either.getOrThrow(Schema.decodeUnknownEither(schema, FastDecode.answerOptions)(input)))
    expect(fast({ text: "hi" })).toBe(FastDecode.Fail)
  })

  it("renames a field and checks a refinement as the schema does", () => {
    const schema = Schema.Struct({
      name: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("full_name")),
      count: Schema.Int.pipe(Schema.nonNegative())
    })
    const fast = FastDecode.compileSchema(schema)
    const input = { full_name: "Acme", count: 3 }
    expect(fast(input)).toStrictEqual({ name: "Acme", count: 3 })
    expect(fast(input)).toStrictEqual(Either.getOrThrow(Schema.decodeUnknownEither(schema, FastDecode.answerOptions)(input)))
    expect(fast({ full_name: "Acme", count: -1 })).toBe(FastDecode.Fail)
    expect(fast({ full_name: "Acme", count: 1.5 })).toBe(FastDecode.Fail)
  })

  it("keeps a recursive schema's recursion", () => {
    interface Tree {
      readonly value: number
      readonly children: ReadonlyArray<Tree>
    }
    const Tree: Schema.Schema<Tree> = Schema.Struct({
      value: Schema.Number,
      children: Schema.Array(Schema.suspend(() => Tree))
    })
    const input = { value: 1, children: [{ value: 2, children: [] }, { value: 3, children: [{ value: 4, children: [] }] }] }
    expect(FastDecode.compileSchema(Tree)(input)).toStrictEqual(input)
    expect(FastDecode.compileSchema(Tree)({ value: 1, children: [{ value: "2", children: [] }] })).toBe(FastDecode.Fail)
  })
})
