/**
 * An answer for an engine the simulator has no hand-written generator for,
 * drawn from the engine's result schema in the registry. A new engine is
 * answered as soon as it has a registry entry; a generator in
 * `generators.ts` only makes its answers look real.
 *
 * @internal
 */
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { Prng } from "./prng.js"

/** Draws this many candidates at most; one that does not survive JSON (NaN, -0...) is skipped. */
const attempts = 20

/**
 * A JSON object that decodes with `schema`, the same for the same `prng`
 * (its seed keys fast-check's). `undefined` when no candidate survives JSON,
 * or when the schema holds a declaration fast-check cannot draw (a tolerant
 * literal, say): such an engine needs a generator in `generators.ts`.
 *
 * @internal
 */
export const fromSchema = <A, I>(
  schema: Schema.Schema<A, I>,
  prng: Prng
): Readonly<Record<string, unknown>> | undefined => {
  const drawable = Either.try(() => Arbitrary.make(schema))
  if (Either.isLeft(drawable)) return undefined
  const arbitrary = drawable.right
  const encode = Schema.encodeEither(schema)
  const decodes = Schema.is(Schema.encodedSchema(schema))
  const seed = prng.int("schemaAnswer.seed", 0, 2 ** 31 - 1)
  for (let i = 0; i < attempts; i++) {
    const [value] = FastCheck.sample(arbitrary, { seed: seed + i, numRuns: 1 })
    const encoded = value === undefined ? undefined : Either.getOrUndefined(encode(value))
    const json: unknown = encoded === undefined ? undefined : JSON.parse(JSON.stringify(encoded))
    if (Predicate.isRecord(json) && decodes(json) && Either.isRight(Schema.decodeUnknownEither(schema)(json))) {
      return json
    }
  }
  return undefined
}
