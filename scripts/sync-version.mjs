// Writes package.json's version into src/internal/version.ts (`cloro --version`, the default User-Agent): run
// by `npm run changeset:version` right after `changeset version` bumps package.json, so the two cannot drift
// (they had: the CLI said 0.2.0 and the User-Agent 0.1.0 through 0.8.0). test/Version.test.ts fails if they differ.
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8"))
const file = `${root}src/internal/version.ts`
const text = readFileSync(file, "utf8")
const pattern = /export const version = "[^"]*"/
if (!pattern.test(text)) {
  console.error(`sync-version: no \`export const version = "…"\` in ${file}`)
  process.exit(1)
}
writeFileSync(file, text.replace(pattern, `export const version = "${version}"`))
console.log(`sync-version: src/internal/version.ts now says ${version}`)
