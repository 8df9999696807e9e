/**
 * The child process of the SIGKILL scenario (test/AsyncTasks.kill.test.ts):
 * runs `AsyncTasks.run` against the simulator URL it is given, with a file
 * journal, until the parent kills it. Not a test file.
 *
 * argv: <simulator url> <api key> <journal path> <count>
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as AsyncTasks from "../src/AsyncTasks.js"
import * as Cloro from "../src/Cloro.js"
import * as CloroClient from "../src/CloroClient.js"
import * as CloroConfig from "../src/CloroConfig.js"
import * as FileJournal from "./AsyncTasks.fileJournal.js"
import { killInputs } from "./AsyncTasks.killInputs.js"

const [url = "", apiKey = "", journalPath = "", count = "0"] = process.argv.slice(2)

const program = AsyncTasks.run(killInputs(Number(count)), {
  batchSize: 100,
  inFlight: 300,
  schedule: Schedule.spaced("500 millis"),
  journal: FileJournal.make(journalPath)
}).pipe(
  Stream.runForEach((outcome) => Effect.sync(() => process.stdout.write(`outcome ${outcome.id}\n`))),
  Effect.provide(CloroClient.layer.pipe(
    Layer.provide(Layer.mergeAll(CloroConfig.layer({ apiKey, baseUrl: url }), FetchHttpClient.layer, Cloro.layerBare))
  ))
)

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  process.stderr.write(String(error))
  process.exit(1)
})
