/**
 * Lua scripts sent by their SHA1 (`EVALSHA`) rather than their text: the
 * semaphore's take runs once or more per request, and sending its ~3 KB body
 * each time costs both sides bytes and hashing. A server that does not know
 * the script yet (first use, a restart, `SCRIPT FLUSH`) answers `NOSCRIPT`,
 * and the text is sent once with `EVAL`, which also loads it.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import type { Redis } from "ioredis"

export interface LuaScript {
  readonly body: string
  readonly sha: string
}

export const make = (body: string): LuaScript => ({ body, sha: createHash("sha1").update(body).digest("hex") })

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith("NOSCRIPT")

/** Runs `script`: one round trip, two the first time a server sees it. */
export const run = (
  redis: Redis,
  script: LuaScript,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string | number>
): Promise<unknown> =>
  redis.evalsha(script.sha, keys.length, ...keys, ...args).catch((error: unknown) =>
    isNoScript(error) ? redis.eval(script.body, keys.length, ...keys, ...args) : Promise.reject(error)
  )
