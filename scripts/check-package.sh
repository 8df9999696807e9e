#!/usr/bin/env bash
# The package as a user gets it: publint and attw on the packed package, then the tarball installed into a
# scratch project (in a temp dir) with only its peer dependencies, imported as ESM, required as CommonJS,
# type-checked under moduleResolution NodeNext (ESM and CJS) and Bundler, and run against the simulator.
# Expects a fresh `npm run build`. Installs from the npm cache when it can (--prefer-offline).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
test -f dist/esm/index.js && test -f dist/cjs/index.js || { echo "check-package: run npm run build first" >&2; exit 1; }

npx publint --strict
npx attw --pack .

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
tarball="$(npm pack --silent --pack-destination "$scratch" | tail -n 1)"
echo "check-package: packed $tarball ($(du -k "$scratch/$tarball" | cut -f1) KB)"

version() { node -p "require('$root/node_modules/$1/package.json').version"; }
cp scripts/package-test/* "$scratch/"
cd "$scratch"
echo '{ "name": "scratch", "private": true, "type": "module" }' > package.json
npm install --prefer-offline --no-audit --no-fund --loglevel=error \
  "./$tarball" "effect@$(version effect)" "@effect/platform@$(version @effect/platform)"
test ! -e node_modules/@effect/platform-node || { echo "check-package: platform-node should not be installed yet" >&2; exit 1; }

node run.mjs
node run.cjs

# Types, with the repository's compiler and Node's types, against the installed package only.
tsc="$root/node_modules/.bin/tsc"
common=(--noEmit --strict --skipLibCheck false --target ES2022 --lib ES2022 --types node --typeRoots "$root/node_modules/@types")
"$tsc" "${common[@]}" --module NodeNext --moduleResolution NodeNext program.ts program.cts
echo "check-package: program.ts (ESM) and program.cts (CJS) type-check under moduleResolution NodeNext"
"$tsc" "${common[@]}" --module ESNext --moduleResolution Bundler program.ts
echo "check-package: program.ts type-checks under moduleResolution Bundler"

npm install --prefer-offline --no-audit --no-fund --loglevel=error "@effect/platform-node@$(version @effect/platform-node)"
node run-server.mjs
echo "check-package: ok"
