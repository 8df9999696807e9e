/**
 * Which starts of one rate window may still be in the server's count.
 *
 * The server counts a request when it arrives, and the client cannot see
 * that moment; it only knows it lies between the admission and the answer.
 * So a start occupies its window from its admission until one window after
 * it finished (`finish`: the answer came back, or, for a bare `take`, its
 * fiber ran again), and a new start is admitted only while fewer than `limit`
 * starts occupy it. Then any two starts the server could count in one window
 * (fixed or sliding, at any phase) both occupied the client's window at the
 * later one's admission, so the server never counts more than `limit`,
 * whatever the event loop, the connection pool or the network did to the
 * requests on their way. Against cheap requests it costs the round trip per
 * window: 5,000 calls at 500/s end after about 9 s plus ten round trips.
 * An answer's `X-RateLimit-Remaining` can admit more at once on a second
 * rule (`creditFrom` in `rateWindows.ts`, using `mayFollow` below).
 *
 * A start holds its place for as long as its call runs: a slow call's request
 * most likely reached the server early, but nothing proves it, and a client
 * starved of CPU (a loaded machine) was seen taking more than ten seconds to
 * put admitted requests on the wire. Every call ends (the client's timeout
 * ends it), so every place comes back.
 *
 * Mutable and O(1) per start, on the project's wait queue (a FIFO): it lives
 * inside the rate limiter's `Ref` and is changed only by its update functions.
 *
 * @internal
 */
import * as WaitQueue from "./waitQueue.js"

/** One admitted start, until it is finished. */
export interface Start {
  finished: boolean
  /** when it was admitted */
  readonly admittedAt: number
  /** starts not finished yet when it was admitted (itself not included) */
  readonly liveBefore: number
  /** `Occupancy.admitted` once it was admitted (itself included) */
  readonly seq: number
}

export interface Occupancy {
  /** admitted starts not finished yet */
  live: number
  /** every start admitted so far */
  admitted: number
  /**
   * Release times (finish plus the margin's window) of finished starts, one
   * FIFO per margin: each is pushed at the current time plus a constant, so
   * each stays in order.
   */
  readonly released: ReadonlyArray<WaitQueue.WaitQueue<number>>
}

/** An empty occupancy with one release FIFO per margin. */
export const make = (margins: number): Occupancy => ({
  live: 0,
  admitted: 0,
  released: Array.from({ length: margins }, () => WaitQueue.make<number>())
})

/** Drops the releases past at `now`. */
export const drop = (self: Occupancy, now: number): void => {
  for (const fifo of self.released) {
    while (fifo.head !== undefined && fifo.head.value <= now) WaitQueue.shift(fifo)
  }
}

/** Starts occupying the window (call `drop` first). */
export const count = (self: Occupancy): number =>
  self.released.reduce((sum, fifo) => sum + fifo.length, self.live)

/** Records a start admitted `now`. */
export const admit = (self: Occupancy, now: number): Start => {
  const liveBefore = self.live
  self.live++
  self.admitted++
  return { finished: false, admittedAt: now, liveBefore, seq: self.admitted }
}

/**
 * Starts that may have reached the server after `start` did, as far as this
 * client can tell once `start` is answered: those unfinished when it was
 * admitted (finished since, if at all, after its admission) and every start
 * admitted after it. Any other start was answered before `start` was even
 * admitted, so it reached the server earlier.
 */
export const mayFollow = (self: Occupancy, start: Start): number => start.liveBefore + (self.admitted - start.seq)

/** Finishes `start`: it occupies the window until `release` (now plus the window of margin `margin`). */
export const finish = (self: Occupancy, start: Start, margin: number, release: number): void => {
  if (start.finished) return
  start.finished = true
  self.live--
  const fifo = self.released[margin]
  if (fifo !== undefined) WaitQueue.push(fifo, release)
}

/**
 * When the occupancy may next drop: the earliest release known, or +Infinity
 * when only unfinished starts occupy the window (a `finish` tells then).
 */
export const nextFree = (self: Occupancy): number => {
  let next = Number.POSITIVE_INFINITY
  for (const fifo of self.released) {
    const head = fifo.head?.value
    if (head !== undefined && head < next) next = head
  }
  return next
}
