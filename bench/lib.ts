/**
 * What every benchmark scenario shares: the servers in their own processes,
 * measured subjects in fresh child processes (with a time and memory guard so
 * a run always ends), medians, and the one table format.
 */
import { type ChildProcess, fork } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** `--quick`: small sizes, to check in CI that every benchmark runs. */
export const quick = process.argv.includes("--quick")

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN
}

const waitFor = <A>(child: ChildProcess, pick: (message: unknown) => A | undefined): Promise<A> =>
  new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      const value = pick(message)
      if (value !== undefined) {
        child.off("message", onMessage)
        child.off("exit", onExit)
        resolve(value)
      }
    }
    const onExit = (code: number | null) => reject(new Error(`server exited (${code}) before answering`))
    child.on("message", onMessage)
    child.on("exit", onExit)
  })

const field = (message: unknown, type: string, key: string): unknown =>
  typeof message === "object" && message !== null && "type" in message && message.type === type && key in message
    ? (message as Record<string, unknown>)[key]
    : undefined

export interface ServerStats {
  readonly requests: number
  readonly ok: number
  readonly concurrency429: number
  readonly rate429: number
  readonly peak: number
}

export interface StandIn {
  readonly url: string
  readonly configure: (
    settings: { latencyMillis?: number; cap?: number; ratePerSecond?: number; contentLength?: boolean }
  ) => Promise<void>
  /** Counters since the last call. */
  readonly stats: () => Promise<ServerStats>
  readonly close: () => void
}

/**
 * What a bench process forks: the script bundled into plain JavaScript (see
 * `bundle`) and run by node alone, unless `BENCH_TSX=1` asks for the
 * TypeScript source under this process's tsx loader. A child under tsx spends
 * about 2.5 s of CPU compiling before it does anything, the bundle under
 * 1 s: over the thirty-odd processes of a full run, most of a minute on a
 * loaded machine. Each script is bundled once per run.
 */
export const childScript = (
  moduleUrl: string,
  name: string
): Promise<{ readonly file: string; readonly plainNode: boolean }> => {
  const source = fileURLToPath(moduleUrl)
  if (process.env.BENCH_TSX === "1") return Promise.resolve({ file: source, plainNode: false })
  const cached = bundles.get(name)
  if (cached !== undefined) return cached
  const built = bundle(source, name).then((file) => ({ file, plainNode: true }))
  bundles.set(name, built)
  return built
}
const bundles = new Map<string, Promise<{ readonly file: string; readonly plainNode: boolean }>>()

/** Starts the node:http stand-in (./server.ts) in its own process. */
export const startServer = async (): Promise<StandIn> => {
  const script = await childScript(new URL("./server.ts", import.meta.url).href, "server")
  const child = fork(script.file, [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: script.plainNode ? [] : process.execArgv
  })
  const url = await waitFor(child, (m) => {
    const u = field(m, "listening", "url")
    return typeof u === "string" ? u : undefined
  })
  return {
    url,
    configure: async (settings) => {
      const done = waitFor(child, (m) => (field(m, "configured", "type") === undefined ? undefined : true))
      child.send({ type: "configure", settings })
      await done
    },
    stats: async () => {
      const answer = waitFor(child, (m) => field(m, "stats", "stats") as ServerStats | undefined)
      child.send({ type: "stats" })
      return answer
    },
    close: () => {
      child.kill()
    }
  }
}

/** Starts `CloroSimulator.layerServer` (./simulator.ts) in its own process. */
export const startSimulator = async (config: unknown): Promise<{
  readonly url: string
  /** The simulator's `Counters` without the request log, as it sent them. */
  readonly counters: () => Promise<unknown>
  readonly close: () => void
}> => {
  const script = await childScript(new URL("./simulator.ts", import.meta.url).href, "simulator")
  const child = fork(script.file, [JSON.stringify(config)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: ["--max-old-space-size=3072", ...(script.plainNode ? [] : process.execArgv)]
  })
  const url = await waitFor(child, (m) => {
    const u = field(m, "listening", "url")
    return typeof u === "string" ? u : undefined
  })
  return {
    url,
    counters: async () => {
      const answer = waitFor(child, (m) => {
        const counters = field(m, "counters", "counters")
        return counters === undefined ? undefined : { counters }
      })
      child.send({ type: "counters" })
      return (await answer).counters
    },
    close: () => {
      child.kill()
    }
  }
}

/** Peak (VmHWM) or current (VmRSS) resident memory of a process, in bytes. */
export const procMemory = (pid: number | undefined, key: "VmHWM" | "VmRSS"): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const match = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}

export type ChildOutcome<A> =
  | { readonly _tag: "Done"; readonly value: A; readonly peakRss: number | undefined }
  | {
    readonly _tag: "Stopped"
    readonly why: string
    readonly afterMillis: number
    readonly peakRss: number | undefined
    /** the last progress line the child printed (`progress <json>`) */
    readonly progress: unknown
  }

/**
 * Runs `file --child ...args` in a fresh process and parses the JSON on its
 * last stdout line. Killed past `budgetMillis` or past `rssCapBytes` of RSS, so
 * a stalling or exploding subject still gives a row.
 */
export const runChild = <A>(
  file: string,
  args: ReadonlyArray<string>,
  options: {
    readonly budgetMillis: number
    readonly rssCapBytes?: number
    readonly execArgv?: ReadonlyArray<string>
    /** run `file` (plain JavaScript, see `bundle`) with node alone, without this process's tsx loader */
    readonly plainNode?: boolean
  }
): Promise<ChildOutcome<A>> =>
  new Promise((resolve) => {
    const started = performance.now()
    // children size themselves from `quick` too
    const child = fork(file, ["--child", ...args, ...(quick ? ["--quick"] : [])], {
      execArgv: [...(options.execArgv ?? []), ...(options.plainNode === true ? [] : process.execArgv)],
      stdio: ["ignore", "pipe", "inherit", "ipc"]
    })
    let stopped: string | undefined
    let peakRss: number | undefined
    let output = ""
    let progress: unknown = undefined
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const lines = output.split("\n")
      for (const line of lines) {
        if (line.startsWith("progress ")) {
          try {
            progress = JSON.parse(line.slice("progress ".length))
          } catch {
            // a line cut in half; the next one will do
          }
        }
      }
      output = lines.slice(-2).join("\n")
    })
    const stop = (why: string) => {
      if (stopped !== undefined) return
      stopped = why
      peakRss = procMemory(child.pid, "VmHWM")
      child.kill("SIGKILL")
    }
    const timer = setTimeout(() => stop(`still running after ${(options.budgetMillis / 1000).toFixed(0)} s`), options.budgetMillis)
    const watcher = setInterval(() => {
      const rss = procMemory(child.pid, "VmRSS")
      peakRss = procMemory(child.pid, "VmHWM") ?? peakRss
      if (options.rssCapBytes !== undefined && rss !== undefined && rss > options.rssCapBytes) {
        stop(`RSS passed ${(options.rssCapBytes / 1e6).toFixed(0)} MB`)
      }
    }, 100)
    child.on("exit", (code) => {
      clearTimeout(timer)
      clearInterval(watcher)
      const afterMillis = performance.now() - started
      if (stopped !== undefined) {
        resolve({ _tag: "Stopped", why: stopped, afterMillis, peakRss, progress })
        return
      }
      const line = output.trim().split("\n").pop() ?? ""
      try {
        resolve({ _tag: "Done", value: JSON.parse(line) as A, peakRss })
      } catch {
        resolve({
          _tag: "Stopped",
          why: `exited (${code}) without a result${code === 134 || code === null ? " (out of memory?)" : ""}`,
          afterMillis,
          peakRss,
          progress
        })
      }
    })
  })

/**
 * Bundles a bench script and the library it imports into one JavaScript file
 * (packages stay imports from node_modules), so that its child runs under
 * plain node: tsx's loader and its compiler cost a child about 100 MB of
 * RSS that is not the client's.
 */
export const bundle = async (entry: string, name: string): Promise<string> => {
  const { build } = await import("esbuild")
  const outfile = fileURLToPath(new URL(`../node_modules/.cache/cloro-bench/${name}.mjs`, import.meta.url))
  await build({ entryPoints: [entry], outfile, bundle: true, platform: "node", format: "esm", packages: "external", logLevel: "error" })
  return outfile
}

/** In a child process: run `main` and print its result as the last line. */
export const childMain = (main: (args: ReadonlyArray<string>) => Promise<unknown>): void => {
  const index = process.argv.indexOf("--child")
  if (index < 0) return
  main(process.argv.slice(index + 1)).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0))
    },
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}

export const isChild = process.argv.includes("--child")

export interface Row {
  readonly subject: string
  /** cells by column name */
  readonly cells: Readonly<Record<string, string | number | undefined>>
}

export interface Check {
  readonly target: string
  readonly value: string
  readonly met: boolean | undefined
}

export interface ScenarioResult {
  readonly name: string
  readonly title: string
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<Row>
  readonly checks: ReadonlyArray<Check>
  readonly notes: ReadonlyArray<string>
  readonly millis: number
}

const cell = (value: string | number | undefined): string =>
  value === undefined
    ? "–"
    : typeof value === "number"
    ? Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(value < 10 ? 2 : 0)
    : value

/** The scenario as a markdown table, its targets and notes. */
export const format = (result: ScenarioResult): string => {
  const lines = [`### ${result.title}`, "", `| subject | ${result.columns.join(" | ")} |`]
  lines.push(`| --- | ${result.columns.map(() => "---").join(" | ")} |`)
  for (const row of result.rows) {
    lines.push(`| ${row.subject} | ${result.columns.map((c) => cell(row.cells[c])).join(" | ")} |`)
  }
  if (result.checks.length > 0) {
    lines.push("", "| target (issue 16) | measured | met |", "| --- | --- | --- |")
    for (const check of result.checks) {
      lines.push(`| ${check.target} | ${check.value} | ${check.met === undefined ? "n/a" : check.met ? "yes" : "**no**"} |`)
    }
  }
  if (result.notes.length > 0) {
    lines.push("", ...result.notes.map((n) => `- ${n}`))
  }
  return lines.join("\n")
}

export const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b) ? undefined : a / b

export const times = (value: number | undefined): string | undefined =>
  value === undefined ? undefined : `${value.toFixed(2)}×`

export const mb = (bytes: number | undefined): string | undefined =>
  bytes === undefined ? undefined : `${(bytes / 1e6).toFixed(0)} MB`
