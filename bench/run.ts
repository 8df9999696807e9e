/**
 * `npm run bench`: every benchmark, one after the other.
 */
import { run as limiters } from "./limiters.js"

await limiters()
