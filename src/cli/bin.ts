#!/usr/bin/env node
/**
 * The `cloro` executable. It loads the command lazily so that a missing
 * optional dependency is reported as one line, not a stack trace.
 *
 * @since 0.2.0
 */
import("./node.js").then(
  (node) => node.start(process.argv.slice(2)),
  (error: unknown) => {
    const code = typeof error === "object" && error !== null && "code" in error ? error.code : undefined
    process.stderr.write(
      code === "ERR_MODULE_NOT_FOUND"
        ? `cloro: a dependency is missing (${error instanceof Error ? error.message.split("\n")[0] : ""}); install it with: npm install @effect/platform-node @effect/cli\n`
        : `cloro: cannot start: ${error instanceof Error ? error.message : String(error)}\n`
    )
    process.exitCode = 2
  }
)
