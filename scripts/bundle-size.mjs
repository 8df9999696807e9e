// Bundles a program that imports only `Usage` from the built package (dist/esm) and prints its minified size,
// with effect and @effect/* left external as the peers they are. With "sideEffects": false a bundler drops the
// modules the program does not use; without it, every module reachable from the index is kept.
// Usage: node scripts/bundle-size.mjs [maxBytes]   (fails when the bundle is larger than maxBytes)
import * as esbuild from "esbuild"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const result = await esbuild.build({
  stdin: {
    contents: `import { Usage } from "cloro-effect"\nconsole.log(Usage.empty)\n`,
    resolveDir: root,
    loader: "js"
  },
  bundle: true,
  minify: true,
  format: "esm",
  platform: "node",
  write: false,
  external: ["effect", "effect/*", "@effect/*"],
  alias: { "cloro-effect": `${root}/dist/esm/index.js` },
  logLevel: "warning"
})
const bytes = result.outputFiles[0].contents.byteLength
console.log(`import { Usage } from "cloro-effect": ${bytes} bytes minified (effect and @effect/* external)`)
const max = process.argv[2] === undefined ? undefined : Number(process.argv[2])
if (max !== undefined && bytes > max) {
  console.error(`bundle-size: ${bytes} bytes is over the limit of ${max}`)
  process.exit(1)
}
