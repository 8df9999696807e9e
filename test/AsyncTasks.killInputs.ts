/** The work of the SIGKILL scenario, shared by the child that is killed and the parent that re-runs it. */
import type * as AsyncTasks from "../src/AsyncTasks.js"
import * as Task from "../src/Task.js"

export const killInputs = (n: number): ReadonlyArray<AsyncTasks.RunRequest> =>
  Array.from({ length: n }, (_, i) => ({ id: `killed-${i}`, task: Task.make("google", { query: `killed ${i}`, country: "US" }) }))
