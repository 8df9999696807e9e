/**
 * The start times of the last `capacity` admissions of one rate window, in a
 * ring. Admission k may start no earlier than admission k - capacity plus the
 * window, which is exactly "at most `capacity` starts in any rolling window".
 *
 * Like the wait queue it is mutable and lives inside the rate limiter's `Ref`,
 * changed only by its update functions: recording an admission must be O(1),
 * and copying a 1,000-entry log per request would not be.
 *
 * @internal
 */

/** A ring of admission times (milliseconds), oldest first from `start`. */
export interface SlidingLog {
  readonly capacity: number
  /**
   * Grows by `push` until it holds `capacity` times (start stays 0 until
   * then), so a log that never fills costs only what it holds.
   */
  readonly times: Array<number>
  start: number
}

/** An empty log for a limit of `capacity` admissions per window. */
export const make = (capacity: number): SlidingLog => ({ capacity, times: [], start: 0 })

/** The `index`-th oldest time held, for 0 <= index < times.length. */
const at = (self: SlidingLog, index: number): number =>
  self.times[(self.start + index) % self.times.length] ?? Number.NEGATIVE_INFINITY

/** Records an admission at `time`, forgetting the oldest once full. */
export const record = (self: SlidingLog, time: number): void => {
  if (self.times.length < self.capacity) {
    self.times.push(time)
  } else {
    self.times[self.start] = time
    self.start = (self.start + 1) % self.capacity
  }
}

/** The oldest admission time held once the log is full (the `capacity`-th newest), if it is full. */
export const oldestOfFull = (self: SlidingLog): number | undefined =>
  self.times.length < self.capacity || self.times.length === 0 ? undefined : at(self, 0)

/** The latest admission time held, if any. */
export const newest = (self: SlidingLog): number | undefined =>
  self.times.length === 0 ? undefined : at(self, self.times.length - 1)

/** A log for a new limit that keeps the newest admissions that still matter. */
export const resize = (self: SlidingLog, capacity: number): SlidingLog => {
  const keep = Math.min(capacity, self.times.length)
  const times: Array<number> = []
  for (let i = self.times.length - keep; i < self.times.length; i++) {
    times.push(at(self, i))
  }
  return { capacity, times, start: 0 }
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
  const index = ahead % self.capacity
  const missing = self.capacity - self.times.length
  const predecessor = index < missing ? Number.NEGATIVE_INFINITY : at(self, index - missing)
  const base = Math.max(predecessor, now - windowMillis, holdUntil - windowMillis)
  return base + (round + 1) * windowMillis
}
