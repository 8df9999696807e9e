/**
 * Helpers of the multi-process Redis tests and benchmark: the Redis URL (and
 * whether its absence is an error), worker processes, and a redis-server of
 * the test's own for the case that stops it.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"

/** `CLORO_REDIS_URL`; with `CLORO_REQUIRE_REDIS=1` (CI) its absence fails instead of skipping. */
export const redisUrl: string | undefined = process.env.CLORO_REDIS_URL
if (redisUrl === undefined && process.env.CLORO_REQUIRE_REDIS === "1") {
  throw new Error("CLORO_REQUIRE_REDIS=1 but CLORO_REDIS_URL is not set: the Redis tests would be skipped")
}

/** A key prefix no other test or run uses. */
export const freshPrefix = (): string => `cloro-test-${randomUUID()}:`

export interface Finished {
  readonly event: "finished"
  readonly ok: number
  readonly unavailable: number
  readonly errors: Record<string, number>
  readonly millis: number
  /** epoch milliseconds at the first request and after the last answer */
  readonly started: number
  readonly ended: number
  readonly roundTrips: number
  /** CPU time (user and system) the worker spent on its tasks, ms */
  readonly cpuMs: number
}

export interface Worker {
  readonly child: ChildProcess
  /** requests that succeeded so far, as the worker reported them */
  readonly progress: () => number
  /** resolves once the worker said `ready` (after its warm-up, with `WARMUP`) */
  readonly ready: Promise<void>
  /** starts a worker spawned with `WARMUP` once it is ready */
  readonly go: () => void
  /** the worker's last report, or why it ended without one */
  readonly finished: Promise<Finished>
  readonly exited: Promise<number | null>
}

const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url))

/** Starts one worker process (tsx) with the given environment on top of ours. */
export const spawnWorker = (env: Record<string, string>): Worker => {
  const child = spawn(process.execPath, ["--import", "tsx", workerPath], {
    env: { ...process.env, ...env },
    stdio: [env.WARMUP === undefined ? "ignore" : "pipe", "pipe", "pipe"]
  })
  let ok = 0
  let onReady = () => {}
  const ready = new Promise<void>((resolve) => {
    onReady = resolve
  })
  let buffered = ""
  let stderr = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    if (process.env.DEBUG_WORKERS === "1") console.log(child.pid, chunk.toString())
    stderr += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  const finished = new Promise<Finished>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split("\n")
      buffered = lines.pop() ?? ""
      for (const line of lines) {
        // Log lines (Effect's logger writes to stdout too) are kept for the failure message.
        if (process.env.DEBUG_WORKERS === "1") console.log(child.pid, line)
        if (!line.startsWith("{")) {
          stderr += `${line}\n`
          continue
        }
        const report = JSON.parse(line) as { event: string; ok?: number }
        if (report.event === "progress" && report.ok !== undefined) ok = report.ok
        if (report.event === "ready") onReady()
        if (report.event === "finished") resolve(report as Finished)
      }
    })
    child.on("exit", (code, signal) =>
      reject(new Error(`worker ${child.pid} ended (${signal ?? code}) without a report: ${stderr.slice(-2000)}`))
    )
  })
  finished.catch(() => undefined)
  const go = () => {
    child.stdin?.end("go\n")
  }
  return { child, progress: () => ok, ready, go, finished, exited }
}

/** Resolves once `check` holds, polling every 20 ms; rejects after `timeoutMs`. */
export const until = async (check: () => boolean, timeoutMs: number, what: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A free loopback TCP port. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** A redis-server of our own on `port` (no persistence), ready when the promise resolves. */
export const startRedis = async (port: number): Promise<ChildProcess> => {
  const server = spawn(
    process.env.CLORO_REDIS_SERVER ?? "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] }
  )
  await new Promise<void>((resolve, reject) => {
    let out = ""
    server.once("error", reject)
    server.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes("Ready to accept connections")) resolve()
    })
    server.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-1000)}`)))
  })
  return server
}

/** Stops a process and waits for it to be gone. */
export const kill = (child: ChildProcess, signal: NodeJS.Signals): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => {
      child.once("exit", () => resolve())
      child.kill(signal)
    })
