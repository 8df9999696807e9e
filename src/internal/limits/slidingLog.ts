/**
 * The admission times of the last `capacity` admissions of one rate window, in
 * a ring indexed by sequence number. The rate limiter keeps it to tell whether
 * a "none left" from the server is explained by its own recent starts
 * (`oldestOfFull`); which starts occupy the window is `rateOccupancy.ts`'s.
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

/** The oldest admission time held once the log is full (the `capacity`-th newest), if it is full. */
export const oldestOfFull = (self: SlidingLog): number | undefined => {
  const time = timeOf(self, self.count - self.capacity)
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
