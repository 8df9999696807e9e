import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

/** `npm start`, exactly as a newcomer runs it: no CLORO_API_KEY, the embedded simulator, a report. */
describe("npm start", () => {
  it("runs examples/prompts.jsonl on the embedded simulator, says so, and writes results and a report", async () => {
    const root = path.resolve(__dirname, "../..")
    const { CLORO_API_KEY: _key, CLORO_BASE_URL: _url, ...env } = process.env
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile("npm", ["start", "--silent"], { cwd: root, env, timeout: 170_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr })
      })
    })
    const inputs = fs.readFileSync(path.join(root, "examples/prompts.jsonl"), "utf8").trim().split("\n").length
    const lines = fs.readFileSync(path.join(root, "out/results.jsonl"), "utf8").trim().split("\n").map((l) =>
      JSON.parse(l) as { id: string; status: string }
    )
    const report = fs.readFileSync(path.join(root, "out/report.html"), "utf8")
    console.log(result.stderr.split("\n").slice(-20).join("\n"))
    expect(result.stderr.split("\n").filter((l) => l.includes("embedded simulator"))).toHaveLength(1)
    expect(lines).toHaveLength(inputs)
    expect(new Set(lines.map((l) => l.id)).size).toBe(inputs)
    expect(lines.every((l) => l.status === "ok")).toBe(true)
    expect(result.stderr).toMatch(new RegExp(`ok\\s+${inputs}\\n`))
    expect(report).toContain(`data-figure="ok">${inputs}<`)
    expect(result.code).toBe(0)
  }, 180_000)
})
