/**
 * A counter-based pseudo-random generator: every value is a pure function of
 * (seed, key, label), so nothing is mutated and the order in which values are
 * drawn does not matter. Adding a field to a generated answer therefore never
 * changes the others, and the same request under the same seed always gets
 * the same answer, whichever fiber asks first.
 *
 * @internal
 */

/** FNV-1a over UTF-16 code units, then a murmur3 finaliser for avalanche. */
const hashString = (input: string, basis: number): number => {
  let h = basis >>> 0
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return mix(h)
}

const mix = (input: number): number => {
  let h = input >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** @internal */
export interface Prng {
  /** A float in [0, 1) for this label. */
  readonly float: (label: string) => number
  /** An integer in [min, max], both inclusive. */
  readonly int: (label: string, min: number, max: number) => number
  /** True with probability `p`. */
  readonly chance: (label: string, p: number) => boolean
  /** One element of a non-empty list. */
  readonly pick: <A>(label: string, items: readonly [A, ...Array<A>]) => A
  /** `count` distinct elements of a list, in a shuffled order. */
  readonly sample: <A>(label: string, items: ReadonlyArray<A>, count: number) => Array<A>
  /** Lowercase hex digits. */
  readonly hex: (label: string, length: number) => string
  /** A version-4-shaped UUID. */
  readonly uuid: (label: string) => string
  /** A generator for a sub-part, independent of this one's other labels. */
  readonly child: (label: string) => Prng
}

/** @internal */
export const make = (seed: number, key: string): Prng => {
  const base = hashString(key, hashString(String(seed), 0x811c9dc5))
  const word = (label: string, n: number): number => mix(hashString(label, base) ^ Math.imul(n + 1, 0x9e3779b9))
  const float = (label: string): number => (word(label, 0) * 2 ** 21 + (word(label, 1) >>> 11)) / 2 ** 53
  const int = (label: string, min: number, max: number): number =>
    max <= min ? min : min + Math.floor(float(label) * (max - min + 1))
  const hex = (label: string, length: number): string => {
    const words = Array.from({ length: Math.ceil(length / 8) }, (_, i) => word(label, i).toString(16).padStart(8, "0"))
    return words.join("").slice(0, length)
  }
  return {
    float,
    int,
    chance: (label, p) => float(label) < p,
    pick: (label, items) => items[int(label, 0, items.length - 1)] ?? items[0],
    sample: (label, items, count) =>
      items
        .map((item, i) => ({ item, rank: float(`${label}#${i}`) }))
        .sort((a, b) => a.rank - b.rank)
        .slice(0, Math.max(0, count))
        .map(({ item }) => item),
    hex,
    uuid: (label) => {
      const h = hex(label, 32)
      const variant = "89ab"[parseInt(h.charAt(16), 16) % 4] ?? "8"
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
    },
    child: (label) => make(seed, `${key}\u0000${label}`)
  }
}

/**
 * A stable text form of a JSON-like value (object keys sorted), so that two
 * bodies that differ only in key order are the same request.
 *
 * @internal
 */
export const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}
