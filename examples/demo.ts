// Placeholder until the limits demo lands: prints what `npm start` will run.
console.log("cloro-effect: the demo batch (200 requests against the embedded simulator) lands with the limits issue.")
