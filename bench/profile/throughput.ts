/**
 * Profiling harness (not a scenario): one subject of the throughput scenario
 * against the stand-in, for `node --cpu-prof`. Run through `bench/profile/run.ts`.
 */
import { makeSubject, isSubjectName } from "../subjects.js"

const [name, url, count, rounds] = process.argv.slice(2)
if (!isSubjectName(name) || url === undefined) throw new Error("usage: <subject> <url> <count> <rounds>")
const subject = makeSubject(name, { url, concurrency: 64, callerBound: true })
const n = Number(count ?? 2000)
await subject.fire(Math.floor(n / 2))
for (let r = 0; r < Number(rounds ?? 3); r++) {
  const cpu = process.cpuUsage()
  const t = performance.now()
  const { failed } = await subject.fire(n)
  const used = process.cpuUsage(cpu)
  console.log(JSON.stringify({ name, ms: Math.round(performance.now() - t), cpuUsPerReq: Math.round((used.user + used.system) / n), failed }))
}
await subject.close()
process.exit(0)
