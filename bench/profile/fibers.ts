// Profiling only: live heap per suspended fiber under Effect.forEach unbounded, for a few shapes of wait.
import * as Effect from "effect/Effect"
import * as Deferred from "effect/Deferred"
import * as ConcurrencyLimiter from "../../src/ConcurrencyLimiter.js"

const N = 20_000
const live = () => { globalThis.gc!(); globalThis.gc!(); return process.memoryUsage().heapUsed }
const shape = process.argv[2] ?? "async"
const main = async () => {
  const gate = Effect.runSync(Deferred.make<void>())
  const limiter = Effect.runSync(Effect.orDie(ConcurrencyLimiter.make({ limit: 1 })))
  const holdForever = Effect.runSync(Deferred.make<void>())
  const resumes: Array<() => void> = []
  const one = (): Effect.Effect<unknown, unknown> => {
    switch (shape) {
      case "async": return Effect.async<void>((resume) => { resumes.push(() => resume(Effect.void)) })
      case "asyncCancel": return Effect.async<void>((resume) => { resumes.push(() => resume(Effect.void)); return Effect.void })
      case "benchAsyncCancel": return Effect.matchEffect(Effect.async<void>((resume) => { resumes.push(() => resume(Effect.void)); return Effect.void }), { onFailure: () => Effect.void, onSuccess: () => Effect.void })
      case "deferred": return Deferred.await(gate)
      case "withPermit": return limiter.withPermit(Deferred.await(holdForever))
      case "permitScoped": return Effect.scoped(Effect.zipRight(limiter.permit!, Deferred.await(holdForever)))
      default: throw new Error(shape)
    }
  }
  await new Promise((r) => setTimeout(r, 50))
  const before = live()
  Effect.runFork(Effect.forEach(Array.from({ length: N }, (_, i) => i), () => one(), { concurrency: "unbounded", discard: true }))
  await new Promise((r) => setTimeout(r, 500))
  const after = live()
  console.log(shape, ((after - before) / N / 1024).toFixed(2), "KB per waiting fiber", (process.memoryUsage().rss / 1e6).toFixed(0), "MB RSS")
  process.exit(0)
}
main()
