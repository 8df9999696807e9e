/**
 * Builds 2xx answers from cloro's OpenAPI document, so that the conformance
 * test is generated from the spec rather than copied from it: a complete
 * answer per operation (every property, one array item per `oneOf` branch),
 * then every variant with one optional property removed or one nullable
 * property set to null.
 */
import { Ajv2020 } from "ajv/dist/2020.js"
import type AddFormats from "ajv-formats"
import { createRequire } from "node:module"
import * as fs from "node:fs"
import * as path from "node:path"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
type JsonSchema = { readonly [key: string]: unknown }

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

export interface Operation {
  readonly operationId: string
  readonly method: string
  readonly path: string
  readonly schema: JsonSchema
}

export interface Variant {
  /** What changed, e.g. `result.sources removed` or `complete`. */
  readonly label: string
  readonly body: Json
}

/** The shared copy if this checkout sits beside it, else the vendored copy (asserted equal when both exist). */
export const specPaths = (file: string) => ({
  shared: path.resolve(import.meta.dirname, "../../../shared/openapi", file),
  vendored: path.resolve(import.meta.dirname, "../fixtures", file)
})

export const loadSpec = (file: string): Record<string, unknown> => {
  const { shared, vendored } = specPaths(file)
  return JSON.parse(fs.readFileSync(fs.existsSync(shared) ? shared : vendored, "utf8"))
}

/** ajv-formats is CommonJS whose `module.exports` is the plugin itself. */
const addFormats: typeof AddFormats.default = createRequire(import.meta.url)("ajv-formats")

export const makeGenerator = (spec: Record<string, unknown>) => {
  const components = isObject(spec.components) && isObject(spec.components.schemas) ? spec.components.schemas : {}
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true })
  addFormats(ajv)
  ajv.addSchema({ ...spec, $id: "cloro-openapi" }, "cloro-openapi")

  const resolve = (schema: JsonSchema): JsonSchema => {
    const ref = schema.$ref
    if (typeof ref === "string") {
      const name = ref.replace("#/components/schemas/", "")
      const target = components[name]
      if (!isObject(target)) throw new Error(`unresolved ${ref}`)
      return resolve(target)
    }
    return schema
  }
  /** `$ref`s inside a fragment point into the document, which Ajv knows under its id. */
  const rebase = (schema: unknown): unknown =>
    Array.isArray(schema)
      ? schema.map(rebase)
      : isObject(schema)
      ? Object.fromEntries(
        Object.entries(schema).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? `cloro-openapi${v}` : rebase(v)])
      )
      : schema
  // keyed by content: flattening an allOf builds a new object each time
  const validators = new Map<string, (data: unknown) => boolean>()
  const validate = (schema: JsonSchema, data: unknown): boolean => {
    const key = JSON.stringify(schema)
    let check = validators.get(key)
    if (check === undefined) {
      const compiled = ajv.compile(rebase(schema) as JsonSchema)
      check = (d) => compiled(d) === true
      validators.set(key, check)
    }
    return check(data)
  }

  const types = (schema: JsonSchema): ReadonlyArray<string> =>
    Array.isArray(schema.type) ? schema.type : typeof schema.type === "string" ? [schema.type] : []

  const branches = (schema: JsonSchema): ReadonlyArray<JsonSchema> =>
    [...(Array.isArray(schema.oneOf) ? schema.oneOf : []), ...(Array.isArray(schema.anyOf) ? schema.anyOf : [])]
      .filter(isObject)
      .filter((branch) => !(types(resolve(branch)).length === 1 && types(resolve(branch))[0] === "null"))

  /** allOf merged into one object schema. */
  const flatten = (input: JsonSchema): JsonSchema => {
    const schema = resolve(input)
    if (!Array.isArray(schema.allOf)) return schema
    const parts = schema.allOf.filter(isObject).map(flatten)
    const { allOf: _, ...rest } = schema
    return parts.reduce<JsonSchema>((acc, part) => ({
      ...acc,
      ...part,
      properties: { ...(isObject(acc.properties) ? acc.properties : {}), ...(isObject(part.properties) ? part.properties : {}) },
      required: [...(Array.isArray(acc.required) ? acc.required : []), ...(Array.isArray(part.required) ? part.required : [])]
    }), rest)
  }

  const allowsNull = (input: JsonSchema): boolean => {
    const schema = flatten(input)
    if (types(schema).includes("null") || schema.nullable === true) return true
    if (Array.isArray(schema.enum) && schema.enum.includes(null)) return true
    return [...(Array.isArray(schema.oneOf) ? schema.oneOf : []), ...(Array.isArray(schema.anyOf) ? schema.anyOf : [])]
      .filter(isObject)
      .some(allowsNull)
  }

  const scalar = (schema: JsonSchema, type: string | undefined): Json => {
    if (Array.isArray(schema.enum)) {
      const value = schema.enum.find((v) => v !== null)
      if (value !== undefined) return value as Json
    }
    if ("const" in schema) return schema.const as Json
    const example = schema.example
    switch (type) {
      case "string":
        if (typeof example === "string" && validate(schema, example)) return example
        if (schema.format === "uri") return "https://example.com/page"
        if (schema.format === "date-time") return "2026-11-29T10:00:00.000Z"
        if (schema.format === "uuid") return "b27a21e1-7c39-4aa2-a347-23e828c426f9"
        return "text"
      case "integer":
      case "number":
        if (typeof example === "number" && validate(schema, example)) return example
        return typeof schema.minimum === "number" ? schema.minimum : 1
      case "boolean":
        return typeof example === "boolean" ? example : true
      default:
        return example === undefined ? "text" : (example as Json)
    }
  }

  /** A value with every property the schema declares. */
  const complete = (input: JsonSchema, depth = 0): Json => {
    const schema = flatten(input)
    if (depth > 20) throw new Error("schema too deep")
    const options = branches(schema)
    if (options.length > 0 && schema.properties === undefined) return complete(options[0]!, depth + 1)
    const type = types(schema).find((t) => t !== "null") ??
      (schema.properties !== undefined ? "object" : schema.items !== undefined ? "array" : undefined)
    if (type === "object") {
      const properties = isObject(schema.properties) ? schema.properties : {}
      const entries = Object.entries(properties).filter((e): e is [string, JsonSchema] => isObject(e[1]))
      if (entries.length === 0 && isObject(schema.additionalProperties)) {
        return { key: complete(schema.additionalProperties, depth + 1) }
      }
      return Object.fromEntries(entries.map(([key, property]) => [key, complete(property, depth + 1)]))
    }
    if (type === "array") {
      const items = isObject(schema.items) ? schema.items : {}
      const itemBranches = branches(flatten(items))
      return itemBranches.length > 1
        ? itemBranches.map((branch) => complete(branch, depth + 1))
        : [complete(items, depth + 1)]
    }
    return scalar(schema, type)
  }

  /** Every one-step loosening of `value`, each with a label naming its path. */
  const loosen = (input: JsonSchema, value: Json, at: ReadonlyArray<string | number>): Array<Variant> => {
    const schema = flatten(input)
    const options = branches(schema)
    if (options.length > 0 && schema.properties === undefined) {
      const branch = options.find((b) => validate(b, value))
      return branch === undefined ? [] : loosen(branch, value, at)
    }
    if (Array.isArray(value)) {
      const items = isObject(schema.items) ? schema.items : {}
      return value.flatMap((item, index) =>
        loosen(items, item, [...at, index]).map((v) => ({ label: v.label, body: value.map((x, i) => (i === index ? v.body : x)) }))
      )
    }
    if (!isObject(value)) return []
    const properties = isObject(schema.properties) ? schema.properties : {}
    const required = new Set(Array.isArray(schema.required) ? schema.required : [])
    const out: Array<Variant> = []
    const name = (key: string) => [...at, key].join(".")
    for (const [key, child] of Object.entries(value)) {
      const property = properties[key]
      if (!isObject(property)) continue
      if (!required.has(key)) {
        const { [key]: _, ...rest } = value
        out.push({ label: `${name(key)} removed`, body: rest as Json })
      }
      if (child !== null && allowsNull(property)) {
        out.push({ label: `${name(key)} = null`, body: { ...value, [key]: null } as Json })
      }
      for (const nested of loosen(property, child as Json, [...at, key])) {
        out.push({ label: nested.label, body: { ...value, [key]: nested.body } as Json })
      }
    }
    return out
  }

  const operations: Array<Operation> = []
  const paths = isObject(spec.paths) ? spec.paths : {}
  for (const [route, item] of Object.entries(paths)) {
    if (!isObject(item)) continue
    for (const [method, operation] of Object.entries(item)) {
      if (!isObject(operation) || !isObject(operation.responses)) continue
      const ok = Object.entries(operation.responses).find(([status]) => /^2\d\d$/.test(status))?.[1]
      const schema = isObject(ok) && isObject(ok.content) && isObject(ok.content["application/json"])
        ? ok.content["application/json"].schema
        : undefined
      if (isObject(schema) && typeof operation.operationId === "string") {
        operations.push({ operationId: operation.operationId, method: method.toUpperCase(), path: route, schema })
      }
    }
  }

  return {
    operations,
    component: (name: string): JsonSchema => {
      const schema = components[name]
      if (!isObject(schema)) throw new Error(`no component ${name}`)
      return schema
    },
    complete: (schema: JsonSchema) => complete(schema),
    variants: (schema: JsonSchema, body: Json): Array<Variant> => [{ label: "complete", body }, ...loosen(schema, body, [])],
    accepts: (schema: JsonSchema, body: unknown): boolean => validate(schema, body)
  }
}
