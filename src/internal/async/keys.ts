/**
 * Idempotency keys for `AsyncTasks.run`: stable ones derived from the caller's
 * id, so that submitting the same work again (after a crash, a lost answer or
 * a full queue) finds the task already there instead of creating a second one,
 * and random ones for inputs without an id.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import { maxIdempotencyKeyLength } from "../../Task.js"

/** Characters kept as they are; anything else (spaces, unicode, quotes) is hashed. */
const plainId = /^[A-Za-z0-9._:@/+=-]+$/

/** Marks a hashed id, so that no plain id can collide with a hash. */
const hashedMarker = "sha256:"

/** Marks a random key, so that no plain id can collide with one. */
const randomMarker = "random:"

/** @internal */
export const maxPrefixLength = 128

/** @internal */
export const validPrefix = (prefix: string): boolean =>
  prefix.length <= maxPrefixLength && (prefix === "" || plainId.test(prefix))

/**
 * The key of a caller's id: the id itself after the prefix when it is short
 * and plain (readable in cloro's dashboard), otherwise the SHA-256 of the id.
 * Either way the same id always gives the same key, and at most 255 characters.
 *
 * @internal
 */
export const keyFor = (id: string, prefix: string): string => {
  const plain = `${prefix}${id}`
  const readable = plain.length <= maxIdempotencyKeyLength && plainId.test(id) &&
    !id.startsWith(hashedMarker) && !id.startsWith(randomMarker)
  return readable
    ? plain
    : `${prefix}${hashedMarker}${Crypto.createHash("sha256").update(id, "utf8").digest("hex")}`
}

/**
 * A fresh key for an input without an id: 128 bits from the OS's CSPRNG,
 * under the prefix. Not from Effect's `Random`: a live one is seeded with 32
 * bits per process and a pinned one repeats on every run, and a repeated key
 * makes cloro refuse a new task as already submitted.
 *
 * @internal
 */
export const randomKey = (prefix: string): Effect.Effect<string> => Effect.sync(randomKeyOf(prefix))

/** `randomKey` as a plain function, for code that already runs inside `Effect.sync`. @internal */
export const randomKeyOf = (prefix: string) => (): string => `${prefix}${randomMarker}${Crypto.randomBytes(16).toString("hex")}`
