// Placeholder until the benchmarks land: prints what `npm run bench` will measure.
console.log("cloro-effect: benchmarks (limiter waiters, throughput against the simulator) are not written yet.")
