/**
 * `npm run bench`: every benchmark, one after the other.
 */
import { run as limiters } from "./limiters.js"
import { run as pipeline } from "./pipeline.js"
import { run as redis } from "./redis.js"
import { run as waiting } from "./waiting.js"

await limiters()
await pipeline()
await waiting()
await redis()
