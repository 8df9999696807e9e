/**
 * The package's version, as package.json has it: `cloro --version` prints it
 * and the default `User-Agent` carries it. `scripts/sync-version.mjs` writes
 * it when `npm run changeset:version` bumps package.json (a hand-kept copy
 * drifted: the CLI said 0.2.0 and the User-Agent 0.1.0 through 0.8.0), and
 * `test/Version.test.ts` fails when the two differ.
 *
 * @internal
 */
export const version = "0.8.1"
