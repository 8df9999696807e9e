/**
 * `npm run bench`: every benchmark, one after the other.
 */
import { run as limiters } from "./limiters.js"
import { run as pipeline } from "./pipeline.js"

await limiters()
await pipeline()
