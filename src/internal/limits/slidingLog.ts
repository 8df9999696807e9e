/**
 * The start times of the last `capacity` admissions of one rate window, in a
 * ring indexed by sequence number. Admission k may start no earlier than
 * admission k - capacity plus the window, which is exactly "at most
 * `capacity` starts in any rolling window".
 *
 * A time can be raised after the fact (`restamp`): an admission handed to a
 * waiter starts when that waiter's fiber runs, which a busy event loop or a GC
 * pause can delay by tens of milliseconds. Counting it from then keeps the
 * next window's starts from reaching the server closer together than a window
 * (cloro's sliding window would refuse them). Raising one time raises every
 * later one to at least it, so the times stay in order and the rule above
 * still bounds every rolling window.
 *
 * Like the wait queue it is mutable and lives inside the rate limiter's `Ref`,
 * changed only by its update functions: recording an admission must be O(1),
 * and copying a 1,000-entry log per request would not be.
 *
 * @internal
 */

/** A ring of admission times (milliseconds): admission `seq` sits at `times[seq % capacity]`. */
export interface SlidingLog {
  readonly capacity: number
  /**
   * Grows by `push` until it holds `capacity` times, so a log that never
   * fills costs only what it holds.
   */
  readonly times: Array<number>
  /** Admissions recorded so far: the sequence number of the next one. */
  count: number
}

/** An empty log for a limit of `capacity` admissions per window. */
export const make = (capacity: number): SlidingLog => ({ capacity, times: [], count: 0 })

/** The time of admission `seq`, or -Infinity when it was never made or is forgotten. */
const timeOf = (self: SlidingLog, seq: number): number =>
  seq < 0 || seq < self.count - self.capacity || seq >= self.count
    ? Number.NEGATIVE_INFINITY
    : self.times[seq % self.capacity] ?? Number.NEGATIVE_INFINITY

/** Records an admission at `time`, forgetting the oldest once full; returns its sequence number. */
export const record = (self: SlidingLog, time: number): number => {
  const seq = self.count
  if (self.times.length < self.capacity && self.times.length === seq) {
    self.times.push(time)
  } else {
    self.times[seq % self.capacity] = time
  }
  self.count = seq + 1
  return seq
}

/**
 * Counts admission `seq` from `time` when that is later than its recorded
 * time, and every later admission from no earlier than it. O(admissions
 * since `seq`), at most `capacity`; a forgotten admission is left alone.
 */
export const restamp = (self: SlidingLog, seq: number, time: number): void => {
  if (seq < 0 || seq < self.count - self.capacity) return
  for (let s = seq; s < self.count; s++) {
    const index = s % self.capacity
    const held = self.times[index]
    if (held === undefined || held >= time) return
    self.times[index] = time
  }
}

/** The oldest admission time held once the log is full (the `capacity`-th newest), if it is full. */
export const oldestOfFull = (self: SlidingLog): number | undefined => {
  const time = timeOf(self, self.count - self.capacity)
  return Number.isFinite(time) ? time : undefined
}

/** The latest admission time held, if any. */
export const newest = (self: SlidingLog): number | undefined => {
  const time = timeOf(self, self.count - 1)
  return Number.isFinite(time) ? time : undefined
}

/** A log for a new limit that keeps the newest admissions that still matter, under the same sequence numbers. */
export const resize = (self: SlidingLog, capacity: number): SlidingLog => {
  const times: Array<number> = new Array(capacity).fill(Number.NEGATIVE_INFINITY)
  for (let seq = Math.max(0, self.count - Math.min(capacity, self.capacity)); seq < self.count; seq++) {
    times[seq % capacity] = timeOf(self, seq)
  }
  return { capacity, times, count: self.count }
}

/**
 * The earliest time the admission `ahead` places behind the next one can
 * start (`ahead = 0` is the next admission), given that none may start before
 * `holdUntil`. For `ahead = 0` it is exact; further back it is a lower bound
 * in O(1): the admission `capacity` places earlier must be a window older,
 * and the log (padded with "now" for admissions never made) gives that one.
 */
export const earliest = (
  self: SlidingLog,
  ahead: number,
  now: number,
  windowMillis: number,
  holdUntil: number
): number => {
  const round = Math.floor(ahead / self.capacity)
  const predecessor = timeOf(self, self.count - self.capacity + (ahead % self.capacity))
  // max(predecessor + window, now, holdUntil), each `round` windows on; not
  // written as max(...) + window, whose rounding can put "now" a hair ahead
  return Math.max(predecessor + windowMillis, now, holdUntil) + round * windowMillis
}
