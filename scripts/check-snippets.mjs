// Type-checks every TypeScript code block of README.md and every `@example` in a doc comment under src/.
// Each block is written as its own module under .snippets/ (gitignored) and compiled with the project's
// compiler options, with "cloro-effect", "cloro-effect/testing" and "cloro-effect/redis" mapped to the sources.
// A failing block fails the script, and the compiler's message names the file and line it came from.
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const out = join(root, ".snippets")
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

/** Code blocks fenced as ts/typescript in a Markdown text, with the line each starts on. */
const fenced = (text) => {
  const blocks = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*```(ts|typescript)\s*$/.exec(lines[i])
    if (open === null) continue
    const start = i + 1
    const body = []
    for (i = i + 1; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i])
    blocks.push({ line: start + 1, code: body.join("\n") })
  }
  return blocks
}

/** The `@example` blocks of every doc comment in a source file, with their lines in that file. */
const examples = (text) => {
  const found = []
  for (const match of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    if (!match[0].includes("@example")) continue
    const offset = text.slice(0, match.index).split("\n").length - 1
    const stripped = match[0].split("\n").map((l) => l.replace(/^\s*\/?\*+\/?\s?/, "").replace(/\*\/\s*$/, ""))
    const afterExample = stripped.findIndex((l) => l.includes("@example"))
    for (const block of fenced(stripped.slice(afterExample).join("\n"))) {
      found.push({ line: offset + afterExample + block.line, code: block.code })
    }
  }
  return found
}

const sources = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : []
  })

const snippets = [
  ...fenced(readFileSync(join(root, "README.md"), "utf8")).map((b) => ({ from: "README.md", ...b })),
  ...sources(join(root, "src")).flatMap((file) =>
    examples(readFileSync(file, "utf8")).map((b) => ({ from: relative(root, file), ...b }))
  )
]

for (const { code, from, line } of snippets) {
  const name = `${from.replace(/[/.]/g, "_")}_L${line}.ts`
  // A block without imports is a script; `export {}` keeps its names out of the other blocks' scope.
  const module = /^\s*(import|export)\s/m.test(code) ? code : `${code}\nexport {}`
  writeFileSync(join(out, name), `// From ${from}:${line}\n${module}\n`)
}

writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify(
    {
      extends: "../tsconfig.json",
      compilerOptions: {
        noEmit: true,
        rootDir: "..",
        // Snippets show a value and stop: an unused name is normal there.
        noUnusedLocals: false,
        noUnusedParameters: false,
        paths: {
          "cloro-effect": ["../src/index.ts"],
          "cloro-effect/testing": ["../src/testing/index.ts"],
          "cloro-effect/redis": ["../src/redis/index.ts"]
        }
      },
      include: ["*.ts"]
    },
    null,
    2
  )
)

console.log(`check-snippets: ${snippets.length} blocks (README.md and @example in src/)`)
try {
  execFileSync("npx", ["tsc", "-p", join(out, "tsconfig.json")], { stdio: "inherit", cwd: root })
} catch {
  console.error("check-snippets: a code block does not compile (the first line of each file says where it is from)")
  process.exit(1)
}
console.log("check-snippets: every block compiles")
