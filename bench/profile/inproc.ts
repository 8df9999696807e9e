/**
 * Profiling harness (not a scenario): CPU per call of the client's own layers
 * over the in-process fake `HttpClient` (no network), against the platform's
 * `HttpClient` alone over the same fake, and roughly how much each call
 * allocates (minor collections × the semi-space size, a figure the machine's
 * load does not move). Run with a fixed young generation:
 * `node --max-semi-space-size=16 --min-semi-space-size=16 --import tsx bench/profile/inproc.ts http bare full`.
 * Prefer the bundle (`sh bench/profile/build.sh`, then
 * `node --max-semi-space-size=16 --min-semi-space-size=16 node_modules/.cache/profile/inproc.mjs …`), which
 * is how the bench runs its children: tsx gives the project's own files (not
 * node_modules) `__name` wrappers and source maps, which inflated the
 * client's figures against the baselines' (a bare call 621 → 386 µs and 251
 * → 190 KB bundled, in one comparison).
 * `ALLOC_PROF=/tmp/alloc` also writes a sampling profile of every allocation
 * (collected ones too) of the timed rounds, per subject.
 */
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Predicate from "effect/Predicate"
import { minorCollections } from "./counting.js"
import { isSubjectName, subjectNames, withSubject } from "./fakeClient.js"

const SEMI_SPACE_KB = 16 * 1024
const scavenges = minorCollections()

const allocProfile = process.env.ALLOC_PROF
const session = allocProfile === undefined ? undefined : new Session()
session?.connect()
const post = (method: string, params?: object) =>
  new Promise<object | undefined>((resolve, reject) =>
    session === undefined
      ? resolve(undefined)
      : session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))))

const N = Number(process.env.N ?? 20_000)
const names = process.argv.length > 2 ? process.argv.slice(2).filter(isSubjectName) : subjectNames
for (const name of names) {
  await withSubject(name, async (layer, call) => {
    const runtime = ManagedRuntime.make(layer)
    const cpu: Array<number> = []
    const allocated: Array<number> = []
    for (let round = 0; round < 4; round++) {
      if (round === 1) {
        await post("HeapProfiler.startSampling", {
          samplingInterval: 2048,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true
        })
      }
      const started = process.cpuUsage()
      const before = scavenges()
      await runtime.runPromise(Effect.forEach(Array.from({ length: N }, (_, i) => i), call, { concurrency: 64, discard: true }))
      const used = process.cpuUsage(started)
      await new Promise((resolve) => setTimeout(resolve, 10)) // the last collections are reported
      if (round > 0) {
        cpu.push((used.user + used.system) / N)
        allocated.push(((scavenges() - before) * SEMI_SPACE_KB) / N)
      }
    }
    const sampled = await post("HeapProfiler.stopSampling")
    if (allocProfile !== undefined && Predicate.hasProperty(sampled, "profile")) {
      writeFileSync(`${allocProfile}.${name}.heapprofile`, JSON.stringify(sampled.profile))
    }
    cpu.sort((a, b) => a - b)
    console.log(
      `${name}: ${cpu.map((x) => x.toFixed(0)).join(" ")} µs/call (median ${cpu[1]?.toFixed(0)}),`,
      `~${allocated.map((x) => x.toFixed(0)).join(" ")} KB allocated/call`
    )
    await runtime.dispose()
  })
}
