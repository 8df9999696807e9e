// Builds dist/esm (ESM, the package's own "type") and dist/cjs (CommonJS) with a declaration file beside
// every module of each, so that TypeScript sees ESM types for `import` and CommonJS types for `require`.
import { execFileSync } from "node:child_process"
import { rmSync, writeFileSync } from "node:fs"

rmSync("dist", { recursive: true, force: true })
const tsc = (project) => execFileSync("npx", ["tsc", "-p", project], { stdio: "inherit" })
tsc("src/tsconfig.json")
tsc("src/tsconfig.cjs.json")
// Inside dist/cjs the nearest package.json decides how Node and TypeScript read `.js` and `.d.ts` files.
writeFileSync("dist/cjs/package.json", JSON.stringify({ type: "commonjs" }, null, 2) + "\n")
