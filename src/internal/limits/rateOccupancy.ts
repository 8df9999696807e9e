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
 *
 * A start not finished within a cap (ten windows) of its admission (a slow
 * call) is taken to have reached the server by then: it occupies the window
 * until a window after that, not for as long as the call runs.
 *
 * Mutable and O(1) per start (amortized), like the wait queue: it lives inside
 * the rate limiter's `Ref` and is changed only by its update functions.
 *
 * @internal
 */

/** One admitted start, until it leaves `open`. */
export interface Start {
  readonly at: number
  /** finished (its release is in `released`), or forgotten because it expired */
  done: boolean
}

/** A FIFO of numbers, non-decreasing, with an O(1) amortized shift. */
interface Times {
  items: Array<number>
  head: number
}

/** A FIFO of starts in admission order. */
interface Starts {
  items: Array<Start>
  head: number
}

export interface Occupancy {
  /** every start not yet done, in admission order (done ones are dropped once at the front) */
  readonly open: Starts
  /** starts in `open` not done and not expired */
  live: number
  /**
   * Release times (finish plus the margin's window) of finished starts, one
   * FIFO per margin: each is pushed at the current time plus a constant, so
   * each stays in order.
   */
  readonly released: ReadonlyArray<Times>
}

/** An empty occupancy with one release FIFO per margin. */
export const make = (margins: number): Occupancy => ({
  open: { items: [], head: 0 },
  live: 0,
  released: Array.from({ length: margins }, () => ({ items: [], head: 0 }))
})

const compact = <A>(fifo: { items: Array<A>; head: number }): void => {
  if (fifo.head > 64 && fifo.head * 2 > fifo.items.length) {
    fifo.items = fifo.items.slice(fifo.head)
    fifo.head = 0
  }
}

/**
 * Drops what no longer occupies the window at `now`: releases past, and open
 * starts that are done or older than `expiry` (the cap plus the window).
 */
export const drop = (self: Occupancy, now: number, expiry: number): void => {
  for (const fifo of self.released) {
    while (fifo.head < fifo.items.length && (fifo.items[fifo.head] ?? Number.POSITIVE_INFINITY) <= now) fifo.head++
    compact(fifo)
  }
  const open = self.open
  while (open.head < open.items.length) {
    const start = open.items[open.head]
    if (start === undefined) break
    if (!start.done && start.at + expiry > now) break
    if (!start.done) {
      start.done = true
      self.live--
    }
    open.head++
  }
  compact(open)
}

/** Starts occupying the window (call `drop` first). */
export const count = (self: Occupancy): number =>
  self.released.reduce((sum, fifo) => sum + fifo.items.length - fifo.head, self.live)

/** Records a start admitted at `now`. */
export const admit = (self: Occupancy, now: number): Start => {
  const start: Start = { at: now, done: false }
  self.open.items.push(start)
  self.live++
  return start
}

/**
 * Finishes `start` at `now`: it occupies the window until `release` (now
 * plus the window of margin `margin`). A start past its cap (`now` at least
 * `cap` after its admission) keeps its expiry instead, which is earlier.
 */
export const finish = (self: Occupancy, start: Start, now: number, cap: number, margin: number, release: number): void => {
  if (start.done || now - start.at >= cap) return
  start.done = true
  self.live--
  self.released[margin]?.items.push(release)
}

/**
 * When the occupancy may next drop below what it is at `now`: the earliest
 * release or expiry, or +Infinity when only unfinished starts within their
 * cap occupy the window (a `finish` tells then).
 */
export const nextFree = (self: Occupancy, expiry: number): number => {
  let next = Number.POSITIVE_INFINITY
  for (const fifo of self.released) {
    const head = fifo.items[fifo.head]
    if (head !== undefined && head < next) next = head
  }
  const first = self.open.items[self.open.head]
  if (first !== undefined && !first.done && first.at + expiry < next) next = first.at + expiry
  return next
}
