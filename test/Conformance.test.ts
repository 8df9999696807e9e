/**
 * Conformance with cloro's OpenAPI document, generated from it: every 2xx
 * answer the spec allows (a complete one per operation, and each variant with
 * one optional property removed or one nullable property set to null, checked
 * by Ajv) must decode through the real client.
 */
import { describe, expect, it } from "@effect/vitest"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Ajv2020 } from "ajv/dist/2020.js"
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import * as fs from "node:fs"
import * as CloroClient from "../src/CloroClient.js"
import * as Index from "../src/index.js"
import * as Task from "../src/Task.js"
import * as Layers from "./support/layers.js"
import * as MockHttp from "./support/mockHttp.js"
import * as OpenApiVariants from "./support/openapiVariants.js"


type Client = CloroClient.CloroClientShape
type Call = (client: Client) => Effect.Effect<unknown, unknown>

const chatgpt = Task.make("chatgpt", { prompt: "Best CRM?", country: "US" })

/** How each operation is called; a new operation in the spec fails the test until it is listed. */
const calls: Record<string, Call> = {
  monitorChatgpt: (c) => c.monitor.chatgpt({ prompt: "Best CRM?", country: "US" }),
  monitorGemini: (c) => c.monitor.gemini({ prompt: "Best CRM?", country: "US" }),
  monitorGrok: (c) => c.monitor.grok({ prompt: "Best CRM?", country: "US" }),
  monitorCopilot: (c) => c.monitor.copilot({ prompt: "Best CRM?", country: "US" }),
  monitorPerplexity: (c) => c.monitor.perplexity({ prompt: "Best CRM?", country: "US" }),
  monitorAiMode: (c) => c.monitor.aimode({ prompt: "Best CRM?", country: "US" }),
  monitorGoogle: (c) => c.monitor.google({ query: "best crm", country: "US" }),
  monitorGoogleNews: (c) => c.monitor.googleNews({ query: "crm", country: "US" }),
  resolveGoogleGoto: (c) => c.monitor.googleGoto({ url: "https://www.google.com/url?q=https://example.com" }),
  getCountries: (c) => c.account.countries(),
  getStates: (c) => c.account.states("US"),
  getCredits: (c) => c.account.credits(),
  createAsyncTask: (c) => c.tasks.submit(chatgpt),
  createBatchAsyncTasks: (c) => c.tasks.submitBatch([chatgpt, chatgpt, chatgpt]),
  getTaskStatus: (c) => c.tasks.get("b27a21e1-7c39-4aa2-a347-23e828c426f9"),
  getAsyncStatus: (c) => c.tasks.status(),
  clearAsyncQueue: (c) => c.tasks.clearQueue()
}

/** A client whose every answer is the body in `current`. */
const makeClient = Effect.gen(function*() {
  const current = yield* Ref.make<unknown>(null)
  const mock = yield* MockHttp.make(() => Effect.map(Ref.get(current), (body) => MockHttp.json(body)))
  const client = yield* Layers.bareClientOf({ apiKey: "sk_test_conformance", http: mock.client })
  return { client, answer: (body: unknown) => Ref.set(current, body) }
})

/** The engine answers a COMPLETED task may carry, bare (`result`) and wrapped (`{ success, result }`). */
const engineResponses: Record<string, string> = {
  CHATGPT: "ChatGPTMonitorResponse",
  GEMINI: "GeminiMonitorResponse",
  GROK: "GrokMonitorResponse",
  COPILOT: "CopilotMonitorResponse",
  PERPLEXITY: "PerplexityMonitorResponse",
  AIMODE: "AiModeMonitorResponse",
  GOOGLE: "GoogleMonitorResponse",
  GOOGLE_NEWS: "GoogleNewsMonitorResponse"
}

/** The newest document must list exactly the operations above; the older one a subset. */
describe.each([
  { file: "cloro-openapi.json", minAccepted: 800, exact: true },
  { file: "cloro-openapi-older.json", minAccepted: 650, exact: false }
])("Conformance with cloro's OpenAPI document ($file)", ({ exact, file, minAccepted }) => {
  const generator = OpenApiVariants.makeGenerator(OpenApiVariants.loadSpec(file))

  it("the vendored copy of the spec is the shared one (when this checkout sits beside it)", () => {
    const paths = OpenApiVariants.specPaths(file)
    if (fs.existsSync(paths.shared)) {
      expect(fs.readFileSync(paths.vendored, "utf8")).toBe(fs.readFileSync(paths.shared, "utf8"))
    }
    const operations = generator.operations.map((op) => op.operationId).sort()
    if (exact) expect(operations).toEqual(Object.keys(calls).sort())
    else expect(Object.keys(calls)).toEqual(expect.arrayContaining(operations))
  })

  it.effect("every spec-valid 2xx answer of every operation decodes", () =>
    Effect.gen(function*() {
      const { answer, client } = yield* makeClient
      let tried = 0
      let accepted = 0
      const refused: Array<string> = []
      for (const operation of generator.operations) {
        const call = calls[operation.operationId]
        if (call === undefined) continue
        const complete = generator.complete(operation.schema)
        // the generator must be sound (its complete answer is one the spec accepts) and the
        // validator must not be vacuous (a required property removed is refused)
        expect(generator.accepts(operation.schema, complete), `${operation.operationId} complete answer`).toBe(true)
        expect(generator.accepts(operation.schema, null), `${operation.operationId} null answer`).toBe(false)
        if (typeof complete === "object" && complete !== null && !Array.isArray(complete) && "success" in complete) {
          const { success: _, ...withoutSuccess } = complete
          expect(generator.accepts(operation.schema, withoutSuccess), `${operation.operationId} without success`).toBe(false)
        }
        for (const variant of generator.variants(operation.schema, complete)) {
          tried++
          if (!generator.accepts(operation.schema, variant.body)) continue
          accepted++
          yield* answer(variant.body)
          const outcome = yield* Effect.either(call(client))
          if (Either.isLeft(outcome)) {
            refused.push(`${operation.operationId} [${variant.label}]: ${JSON.stringify(outcome.left).slice(0, 300)}`)
          }
        }
      }
      console.log(
        `OpenAPI conformance (${file}): ${tried} answers tried, ${accepted} accepted by Ajv, ${refused.length} refused by the client`
      )
      expect(refused).toEqual([])
      expect(accepted).toBeGreaterThan(minAccepted)
    }))

  it.effect("a COMPLETED task's response decodes bare and wrapped in { success, result }, for every engine", () =>
    Effect.gen(function*() {
      const { answer, client } = yield* makeClient
      const status = generator.component("TaskStatusResponse")
      const base = generator.complete(status) as Record<string, unknown>
      let checked = 0
      for (const [taskType, component] of Object.entries(engineResponses)) {
        const wrapped = generator.complete(generator.component(component)) as { result: unknown }
        for (const response of [wrapped, wrapped.result]) {
          const body = {
            ...base,
            task: { ...(base.task as object), taskType, status: "COMPLETED" },
            response
          }
          expect(generator.accepts(status, body)).toBe(true)
          yield* answer(body)
          const state = yield* client.tasks.get("b27a21e1-7c39-4aa2-a347-23e828c426f9")
          expect(state.result.status).toBe("COMPLETED")
          if (state.result.status === "COMPLETED") {
            expect(state.result.result).toBeDefined()
            expect(state.result.task.taskType).toBe(taskType)
          }
          checked++
        }
      }
      expect(checked).toBe(16)
    }))
})

describe("Conformance with the Effect ecosystem's schema tools", () => {
  /** Every public module, engines included, as `src/index.ts` exports them. */
  const modules: Record<string, object> = { ...Index }

  it("JSONSchema.make works on every exported schema, and on every engine's request and result", () => {
    const failures: Array<string> = []
    let made = 0
    const make = (name: string, schema: { readonly ast: SchemaAST.AST }) => {
      try {
        JSONSchema.fromAST(schema.ast, { definitions: {} })
        made++
      } catch (error) {
        failures.push(`${name}: ${String(error).split("\n")[0]}`)
      }
    }
    for (const [moduleName, module] of Object.entries(modules)) {
      for (const [name, value] of Object.entries(module)) {
        if (Schema.isSchema(value)) make(`${moduleName}.${name}`, value)
      }
    }
    for (const spec of Object.values(Index.Engine.engines)) {
      make(`${spec.name}.request`, spec.request)
      make(`${spec.name}.result`, spec.result)
    }
    console.log(`JSONSchema.make: ${made} exported schemas, ${failures.length} failures`)
    expect(failures).toEqual([])
    expect(made).toBeGreaterThan(150)
  })

  it("the JSON Schema of an engine request says what local validation accepts (checked with Ajv)", () => {
    const ajv = new Ajv2020({ strict: false })
    const { $schema: _, ...schema } = JSONSchema.make(Index.ChatGPT.Request)
    const check = ajv.compile(schema)
    expect(check({ prompt: "Best CRM?", country: "US", include: { markdown: true } })).toBe(true)
    expect(check({ prompt: "Best CRM?", country: "RU" })).toBe(false) // ChatGPT does not serve RU
    expect(check({ prompt: "Best CRM?", country: "US", brandNewParam: 1 })).toBe(false)
    expect(check({ prompt: "Best CRM?", country: "US", state: "ZZ" })).toBe(false)
  })

  it("an HttpApi taking an engine request as payload builds its OpenAPI document", () => {
    const api = HttpApi.make("proxy").add(
      HttpApiGroup.make("scrape")
        .add(HttpApiEndpoint.post("chatgpt", "/chatgpt").setPayload(Index.ChatGPT.Request).addSuccess(Index.ChatGPT.Result))
        .add(HttpApiEndpoint.post("google", "/google").setPayload(Index.Google.Request).addSuccess(Index.Google.Result))
        .add(
          HttpApiEndpoint.post("task", "/task").setPayload(Index.Task.SubmitTask).addSuccess(Index.Task.TaskStatusResponse)
            .addError(Index.CloroError.CloroError)
        )
    )
    const document = OpenApi.fromApi(api)
    const chatgpt = document.paths["/chatgpt"]?.post
    expect(chatgpt?.requestBody?.content["application/json"]?.schema).toBeDefined()
    expect(Object.keys(document.paths).sort()).toEqual(["/chatgpt", "/google", "/task"])
    expect(JSON.stringify(document)).toContain("\"AD\"") // the country enum made it into the document
  })
})
