#!/bin/sh
# Profiling only: bundles the profiling harnesses to plain JS (no tsx loader in the profiles).
set -e
out=node_modules/.cache/profile
mkdir -p $out
for f in gap gapServer fibers memwait stack inproc; do
  [ -f bench/profile/$f.ts ] && npx esbuild bench/profile/$f.ts --bundle --platform=node --format=esm --packages=external --outfile=$out/$f.mjs --log-level=error
done
sed -i "s#./gapServer.ts#./gapServer.mjs#" $out/gap.mjs $out/memwait.mjs
