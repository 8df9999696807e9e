/**
 * The bytes of cloro's webhook signatures: what is signed, how, and how a
 * `X-Cloro-Signature` header is read. `Webhooks` turns the outcomes into
 * typed errors.
 *
 * @internal
 */
import * as Crypto from "node:crypto"

/** The only scheme cloro documents; a later `v2=` would sit beside it in the same header. */
const scheme = "v1"

/** A SHA-256 digest in hex. */
const hexDigest = /^[0-9a-f]{64}$/i

/** Unix seconds, as `X-Cloro-Timestamp` carries them. */
const unixSeconds = /^\d{1,12}$/

const bytesOf = (body: string | Uint8Array): Uint8Array =>
  typeof body === "string" ? Buffer.from(body, "utf8") : body

/**
 * The bytes cloro signs: `"<timestamp>.<raw body>"`.
 *
 * cloro's docs say only that the timestamp is part of the signed payload and
 * that the raw body bytes are signed; the `"<timestamp>.<body>"` form comes
 * from third-party verifiers citing cloro's reference code (cloro-api.md
 * §6.6), unconfirmed by a cloro page. Signing and verifying both go through
 * this one function, so correcting the format is a one-line change.
 *
 * @internal
 */
export const signedContent = (timestampSeconds: number, rawBody: string | Uint8Array): Uint8Array =>
  Buffer.concat([Buffer.from(`${timestampSeconds}.`, "utf8"), bytesOf(rawBody)])

/**
 * HMAC-SHA256 of the signed content. The secret (`whsec_...`) is used as is,
 * as its UTF-8 bytes, not base64-decoded: that is what the known verifiers do.
 *
 * @internal
 */
export const digest = (secret: string, timestampSeconds: number, rawBody: string | Uint8Array): Uint8Array =>
  Crypto.createHmac("sha256", secret).update(signedContent(timestampSeconds, rawBody)).digest()

/**
 * The `X-Cloro-Signature` value for a digest.
 *
 * @internal
 */
export const format = (mac: Uint8Array): string => `${scheme}=${Buffer.from(mac).toString("hex")}`

/**
 * The `v1` signatures of a header. Several may be sent, separated by commas or
 * spaces, while a secret is being rotated. Entries of other schemes are
 * skipped; `v1` entries that are not a hex SHA-256 digest are counted, so that
 * a header with nothing usable can be reported as malformed.
 *
 * @internal
 */
export const parse = (header: string): { readonly signatures: ReadonlyArray<Uint8Array>; readonly malformed: number } => {
  const signatures: Array<Uint8Array> = []
  let malformed = 0
  for (const part of header.split(/[\s,]+/)) {
    const eq = part.indexOf("=")
    if (eq <= 0 || part.slice(0, eq) !== scheme) continue
    const value = part.slice(eq + 1)
    if (hexDigest.test(value)) signatures.push(Buffer.from(value, "hex"))
    else malformed++
  }
  return { signatures, malformed }
}

/**
 * Whether any signature matches any expected digest, compared in constant
 * time. `timingSafeEqual` throws on a length mismatch, hence the guard (a
 * length says nothing secret: every digest is 32 bytes).
 *
 * @internal
 */
export const matchesAny = (expected: ReadonlyArray<Uint8Array>, signatures: ReadonlyArray<Uint8Array>): boolean => {
  let matched = false
  // no early exit: the time taken does not depend on which pair matched
  for (const mac of expected) {
    for (const signature of signatures) {
      if (mac.length === signature.length && Crypto.timingSafeEqual(mac, signature)) matched = true
    }
  }
  return matched
}

/**
 * Reads `X-Cloro-Timestamp`; `undefined` when it is not plain unix seconds.
 *
 * @internal
 */
export const parseTimestamp = (header: string): number | undefined => {
  const trimmed = header.trim()
  return unixSeconds.test(trimmed) ? Number(trimmed) : undefined
}
