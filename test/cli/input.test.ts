import { describe, expect, it } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as Environment from "../../src/cli/Environment.js"
import * as Input from "../../src/cli/Input.js"
import { inputItems } from "../../src/cli/Shared.js"
import { Engine } from "../../src/index.js"
import { cli, fastSimulator, makeConsole, tmpDir, writeFile } from "./harness.js"

const valid = (items: ReadonlyArray<Input.Item>) => items.filter((i) => Either.isRight(i.request))

describe("cloro input", () => {
  it("CSV with a header row: quoted cells, dotted columns, typed values, defaults", () => {
    const csv = [
      "id,engine,prompt,query,country,pages,include.aioverview,tags",
      "c1,chatgpt,\"Best CRM, for startups\",,US,,,crm;sales",
      "c2,google,,\"best \"\"crm\"\"\",,2,true,crm",
      "c3,,Top EV makers,,,,,",
      "c4,perplexity,\"multi",
      "line prompt\",,FR,,,"
    ].join("\n")
    const items = Input.parse(csv, "csv", { engine: "gemini", country: "DE" })
    expect(items.map((i) => i.id)).toEqual(["c1", "c2", "c3", "c4"])
    expect(valid(items)).toHaveLength(4)
    const [c1, c2, c3, c4] = items.map((i) => Either.getOrThrow(i.request))
    expect(c1!.request).toMatchObject({ prompt: "Best CRM, for startups", country: "US" })
    expect(items[0]!.tags).toEqual(["crm", "sales"])
    expect(c2!.engine).toBe("google")
    expect(c2!.request).toMatchObject({ query: "best \"crm\"", pages: 2, include: { aioverview: true }, country: "DE" })
    expect(c3!.engine).toBe("gemini")
    expect(c3!.request).toMatchObject({ prompt: "Top EV makers", country: "DE" })
    expect(c4!.request).toMatchObject({ prompt: "multi\nline prompt", country: "FR" })
  })

  it("plain text: one prompt a line for the default engine and country; comments and blanks skipped", () => {
    const items = Input.parse("# my prompts\nbest crm\n\n  cheap flights  \n", "text", { engine: "google", country: "GB" })
    expect(items.map((i) => [i.id, i.line])).toEqual([["line-2", 2], ["line-4", 4]])
    expect(items.map((i) => Either.getOrThrow(i.request).request)).toEqual([
      { query: "best crm", country: "GB" },
      { query: "cheap flights", country: "GB" }
    ])
    const chat = Input.parse("hello", "text", {})
    expect(Either.getOrThrow(chat[0]!.request)).toMatchObject({ engine: "chatgpt", request: { prompt: "hello", country: "US" } })
  })

  it("JSONL: invalid JSON, unknown engine, bad fields and duplicate ids are typed InvalidRequest items", () => {
    const text = [
      "{\"id\":\"a\",\"engine\":\"chatgpt\",\"prompt\":\"hi\",\"country\":\"US\"}",
      "[1,2]",
      "{oops",
      "{\"id\":\"b\",\"engine\":\"bing\",\"prompt\":\"hi\"}",
      "{\"id\":\"c\",\"engine\":\"google\",\"query\":\"x\",\"country\":\"US\",\"pages\":11}",
      "{\"id\":\"a\",\"engine\":\"chatgpt\",\"prompt\":\"again\",\"country\":\"US\"}",
      "{\"id\":\"d\",\"engine\":\"chatgpt\",\"prompt\":\"hi\",\"country\":\"US\",\"tags\":7}"
    ].join("\n")
    const items = Input.parse(text, "jsonl", {})
    expect(items).toHaveLength(7)
    expect(valid(items).map((i) => i.id)).toEqual(["a"])
    const errors = items.slice(1).map((i) => Either.flip(i.request).pipe(Either.getOrThrow))
    expect(errors.every((e) => e._tag === "InvalidRequest")).toBe(true)
    expect(errors.map((e) => e.issues[0]!.field)).toEqual(["(line)", "(line)", "engine", "pages", "id", "tags"])
    expect(items[5]!.id).toBe("a@line-6")
  })

  it("every line of examples/prompts.jsonl validates, across every engine", () => {
    const items = Input.parse(fs.readFileSync("examples/prompts.jsonl", "utf8"), "jsonl", {})
    expect(items.length).toBeGreaterThanOrEqual(190)
    const invalid = items.filter((i) => Either.isLeft(i.request))
    expect(invalid.map((i) => [i.id, Either.isLeft(i.request) ? i.request.left.message : ""])).toEqual([])
    expect(new Set(items.map((i) => i.engine))).toEqual(new Set(Engine.names))
    expect(new Set(items.map((i) => Either.getOrThrow(i.request).body.country ?? Either.getOrThrow(i.request).body.gl)).size)
      .toBeGreaterThanOrEqual(10)
  })
})

describe("cloro estimate", () => {
  it.live("prices a file in sync and async mode by engine, sending nothing", () =>
    Effect.gen(function*() {
      const dir = tmpDir()
      const input = writeFile(dir, "in.txt", "best crm\ncheap flights\nrunning shoes\n")
      const console = yield* makeConsole()
      const result = yield* cli(console, ["estimate", input, "--engine", "chatgpt", "--country", "us"])
      expect(result.code).toBe(0)
      // ChatGPT: 5 async, +2 sync, three prompts
      expect(result.stdout).toMatch(/chatgpt\s+3\s+21\s+15/)
      expect(result.stdout).toContain("async saves 6 credits (29%)")
      expect(result.stdout).toContain("No request was sent.")
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator()))))

  it.live("credits and countries answer from the backend", () =>
    Effect.gen(function*() {
      const console = yield* makeConsole()
      const credits = yield* cli(console, ["credits"])
      expect(credits.code).toBe(0)
      expect(JSON.parse(credits.stdout)).toMatchObject({ remaining: 10_000 })
      const countries = yield* cli(console, ["countries", "--engine", "chatgpt"])
      expect(countries.code).toBe(0)
      const codes = countries.stdout.trim().split("\n")
      expect(codes).toContain("US")
      expect(codes).not.toContain("CN")
    }).pipe(Effect.provide(Environment.layerSimulator(fastSimulator()))))
})

describe("cloro output", () => {
  it("readDone keeps ids already ok, once each, and counts lines it cannot read", async () => {
    const { readDone } = await import("../../src/cli/Output.js")
    const done = readDone([
      JSON.stringify({ id: "a", status: "ok", credits: 7 }),
      JSON.stringify({ id: "b", status: "failed", credits: 0 }),
      "{\"id\":\"c\",\"stat", // cut off by a crash
      JSON.stringify({ id: "a", status: "ok", credits: 7 }),
      JSON.stringify({ id: "b", status: "ok", credits: 5 }),
      ""
    ].join("\n"))
    expect([...done.ok].sort()).toEqual(["a", "b"])
    expect(done.lines).toBe(5)
    expect(done.unreadable).toBe(1)
    expect(done.creditsSpent).toBe(12)
  })
})

describe("cloro input and output, a piece at a time", () => {
  const text = "\uFEFF" + [
    JSON.stringify({ id: "a", engine: "google", query: "crm", country: "US" }),
    "",
    "not json",
    JSON.stringify({ id: "a", engine: "chatgpt", prompt: "again", country: "US" }),
    JSON.stringify({ engine: "perplexity", prompt: "sans id", country: "DE", tags: ["x"] }),
    JSON.stringify({ id: "ü-é", engine: "gemini", prompt: "ünïcödé ✓", country: "US" })
  ].join("\r\n") + "\n"

  it.effect("a JSONL file streamed a chunk at a time gives the items parsing it whole gives (lines, ids, duplicates)", () =>
    Effect.gen(function*() {
      const file = writeFile(tmpDir(), "in.jsonl", text)
      const streamed = yield* Stream.runCollect(inputItems(file, "jsonl", { tags: ["t"] }))
      const whole = Input.parse(text, "jsonl", { tags: ["t"] })
      expect(whole.map((i) => [i.id, i.line])).toEqual([["a", 1], ["line-3", 3], ["a@line-4", 4], ["line-5", 5], ["ü-é", 6]])
      expect(Chunk.toReadonlyArray(streamed)).toEqual(whole)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a text file streamed gives the items parsing it whole gives; a missing file is a usage error", () =>
    Effect.gen(function*() {
      const prompts = "# comment\r\nbest crm\n\n  cheap flights  \n"
      const file = writeFile(tmpDir(), "in.txt", prompts)
      const streamed = yield* Stream.runCollect(inputItems(file, "text", { engine: "google" }))
      expect(Chunk.toReadonlyArray(streamed)).toEqual(Input.parse(prompts, "text", { engine: "google" }))
      const missing = yield* Effect.flip(Stream.runDrain(inputItems(`${file}.gone`, "text", {})))
      expect(missing._tag).toBe("UsageError")
    }).pipe(Effect.provide(NodeContext.layer)))

  it("readDone gathers the same from any split of the text into pieces", async () => {
    const Output = await import("../../src/cli/Output.js")
    const out = [
      JSON.stringify({ id: "a", status: "ok", credits: 7 }),
      JSON.stringify({ id: "b", status: "failed", credits: 0 }),
      JSON.stringify({ id: "a", status: "ok", credits: 9 }),
      JSON.stringify({ id: "c", status: "ok", credits: 3 }),
      "{\"id\":\"d\",\"sta" // torn by a crash
    ].join("\n")
    const whole = Output.readDone(out)
    expect(whole).toEqual({ ok: new Set(["a", "c"]), lines: 5, unreadable: 1, creditsSpent: 10 })
    for (const size of [1, 2, 7, 50, out.length]) {
      let done = Output.emptyDone()
      for (let at = 0; at < out.length; at += size) done = Output.addDone(done, out.slice(at, at + size))
      expect(done.rest.length > 0).toBe(true)
      expect(Output.doneOf(done)).toEqual(whole)
    }
  })
})
