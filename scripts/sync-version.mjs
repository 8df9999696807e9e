// Writes package.json's version into src/cli/Cli.ts, which `cloro --version` prints: run by
// `npm run changeset:version` right after `changeset version` bumps package.json, so the two cannot drift
// (they had: the CLI printed 0.2.0 through 0.8.0). test/cli/version.test.ts fails if they differ.
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8"))
const file = `${root}src/cli/Cli.ts`
const text = readFileSync(file, "utf8")
const pattern = /export const version = "[^"]*"/
if (!pattern.test(text)) {
  console.error(`sync-version: no \`export const version = "…"\` in ${file}`)
  process.exit(1)
}
writeFileSync(file, text.replace(pattern, `export const version = "${version}"`))
console.log(`sync-version: src/cli/Cli.ts now says ${version}`)
