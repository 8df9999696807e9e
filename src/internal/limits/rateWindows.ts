/**
 * The in-memory rate limiter's windows: one per key (every path in
 * `"shared"` mode, each path in `"perEndpoint"` mode), each the starts that
 * may still be in the server's count (`rateOccupancy.ts`), a log of its recent
 * admissions, an even-pace due time, a hold, and a line of waiters.
 * Everything here is synchronous and runs inside the limiter's `Ref` updates
 * (`admit`, `pump`, `learn`), which keep the counters next to the windows
 * atomic; the public module (`RateLimiter.ts`) owns the fibers, the timers and
 * the errors.
 *
 * @internal
 */
import type { RateLimiter } from "../../RateLimiter.js"
import * as Clock from "effect/Clock"
import type * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { FieldIssue } from "../../CloroError.js"
import { clockOf, millisOfNanos } from "../fiberClock.js"
import { show } from "../request/input.js"
import * as Occupancy from "./rateOccupancy.js"
import * as SlidingLog from "./slidingLog.js"
import * as WaitQueue from "./waitQueue.js"

/** @internal */
export type Mode = "shared" | "perEndpoint"

/** @internal */
export type Source = "default" | "configured" | "learned" | "unlimited"

/**
 * One rate window: the starts that occupy it, the log of its recent
 * admissions, a hold set by a response that said nothing remains, and its
 * waiters. Mutated in place, only inside the limiter's `Ref.modify` (see
 * `internal/slidingLog.ts` for why).
 */
export interface Window {
  readonly occupancy: Occupancy.Occupancy
  /** admission times, for telling whether our own starts explain a "none left" */
  log: SlidingLog.SlidingLog
  holdUntil: number
  readonly waiters: WaitQueue.WaitQueue<Waiter>
  /** whether a timer fiber is looking after `waiters` */
  timer: boolean
  /** `"even"` pace: when the next start is due on an even spacing (the GCRA's theoretical arrival time) */
  due: number
  /** whether a start was ever finished by its answer (`permit`), which makes the occupancy exact */
  answered: boolean
  /**
   * Starts the server's own count allows beyond the occupancy (`creditFrom`),
   * for requests to `creditPath`; every admission spends one.
   */
  credit: number
  creditPath: string | undefined
  /** whether it ever had a credit */
  credited: boolean
  /**
   * Until when a start finished without an answer may still reach the server:
   * a bare take (finished when its fiber ran, before the request was sent) or
   * a call that ended without a reading (interrupted, timed out, or a caller
   * that gives none), each up to a window after it finished.
   */
  unsureUntil: number
}

/** What an answer said in `X-RateLimit-Limit` and `X-RateLimit-Remaining`: the public `RateLimiter.Reading`. */
export type Reading = RateLimiter.Reading

/** A request waiting in line; `start` is its start once the timer admits it. */
export interface Waiter {
  readonly deferred: Deferred.Deferred<void>
  /** its path without the query (`routeOf`) */
  readonly path: string
  start: Occupancy.Start | undefined
}

/** An admitted start, to be finished (`finish`) when its answer is back or, for a bare take, at once. */
export interface Ticket {
  readonly window: Window
  readonly start: Occupancy.Start
  readonly path: string
}

/** How a start is finished: `"take"` when its fiber runs (the request still to be sent), `"answer"` once answered. */
export type Finish = "take" | "answer"

export interface State {
  readonly limit: number
  readonly source: Source
  readonly waiting: number
  readonly admitted: number
  /** Windows by key; in perEndpoint mode idle ones are swept once it grows past `sweepAt`. */
  readonly windows: Map<string, Window>
  readonly sweepAt: number
}

export type Admission =
  | { readonly _tag: "Admitted"; readonly ticket: Ticket }
  | { readonly _tag: "Full" }
  | { readonly _tag: "TooLate"; readonly wait: number }
  | {
    readonly _tag: "Queued"
    readonly window: Window
    readonly node: WaitQueue.Node<Waiter>
    readonly waiter: Waiter
    readonly startTimer: boolean
  }

const full: Admission = { _tag: "Full" }

const nobody: ReadonlyArray<Waiter> = []

/** Waiters to wake, and when the timer must look again (undefined: the line is empty, the timer stops). */
export interface Pump {
  readonly wake: ReadonlyArray<Waiter>
  readonly next: number | undefined
}

const sharedKey = "*"
const minimumSweep = 64

/** A path without its query: what a window's credit is for. @internal */
export const routeOf = (path: string): string => typeof path === "string" ? path.split("?")[0] ?? path : "*"

/** A count a header may carry: a whole number, not negative. */
const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0

/** @internal */
export const defaultLimit = (mode: Mode): number => mode === "shared" ? 500 : 1000

/** The current time in milliseconds, from the monotonic clock: a wall clock set back must not stall admissions. */
export const nowMillis: Effect.Effect<number> = Effect.map(Clock.currentTimeNanos, millisOfNanos)

/** `nowMillis`, read in a fiber's own step from its clock (the test clock under `TestClock`). */
export const millisOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): number =>
  millisOfNanos(clockOf(fiber).unsafeCurrentTimeNanos())

/** @internal */
export const checkMode = (mode: unknown): Effect.Effect<Mode, FieldIssue> =>
  mode === undefined
    ? Effect.succeed("shared")
    : mode === "shared" || mode === "perEndpoint"
    ? Effect.succeed(mode)
    : Effect.fail(new FieldIssue({ field: "mode", message: `must be "shared" or "perEndpoint", got ${show(mode)}` }))

/** @internal */
export const checkPace = (pace: unknown): Effect.Effect<"burst" | "even", FieldIssue> =>
  pace === undefined || pace === "burst" || pace === "even"
    ? Effect.succeed(pace ?? "burst")
    : Effect.fail(new FieldIssue({ field: "pace", message: `must be "burst" or "even", got ${show(pace)}` }))

/** What the windows need from the limiter's checked options. @internal */
export interface Settings {
  readonly mode: Mode
  /** the configured limit, if any */
  readonly configured: number | undefined
  readonly configuredWindow: number
  readonly even: boolean
  readonly maxWaiting: number | undefined
  readonly maxWaitMillis: number | undefined
}

/**
 * The window logic for one limiter: the state to start from, and the `Ref`
 * update functions that admit, wake and hold.
 *
 * @internal
 */
export const make = (settings: Settings) => {
  const { configured, configuredWindow, even, maxWaitMillis, maxWaiting, mode } = settings
  // How long a finished start still occupies the window. One answered
  // (`"answer"`) reached the server before its answer came back: a window
  // from then, plus a millisecond per second for a server clock that counts
  // whole milliseconds or runs a little faster than ours. A bare take finishes
  // when its fiber runs, before the request is sent: with even pace it counts
  // 3 % longer, as a request may reach the server that much later than the one
  // a limit before it (the event loop, GC, the connection pool) and still fit.
  const answerWindow = configuredWindow + Math.max(1, configuredWindow / 1000)
  const takeWindow = even ? configuredWindow * 103 / 100 : configuredWindow
  const windowMillis = Math.max(answerWindow, takeWindow)
  // Even pace is a GCRA on top of the occupancy: starts are due one
  // `interval` apart, a late timer may catch up by at most `slack` (so an
  // event loop that woke late does not lose throughput), and the occupancy
  // still caps every window at the limit whatever the spacing allowed.
  // (spaced over the window its starts occupy: a bare take's keeps the 3 %)
  const spanOf = (window: Window) => window.answered ? answerWindow : takeWindow
  const intervalOf = (window: Window, limit: number) => spanOf(window) / limit
  const slackOf = (window: Window, limit: number) => (Math.max(2, Math.ceil(limit / 20)) - 1) * intervalOf(window, limit)
  const tick = Math.min(4, windowMillis / 250)
  /**
   * The earliest start of the waiter `ahead` places behind the next one,
   * spacing and hold included. For the next one it is exact when the window
   * has room; when it is full, a time to look again that is never late: the
   * first release known, or a window from now (a start finished from now on
   * frees its place no earlier). Further back it is a lower bound: a window
   * per `limit` places, unless the server's word ever let starts in beyond
   * the occupancy (`creditFrom`): then more than `limit` may free in one
   * window, or start on a credit yet to come, and only the first release is
   * certain.
   */
  const earliest = (window: Window, limit: number, ahead: number, now: number, path: string | undefined): number => {
    Occupancy.drop(window.occupancy, now)
    const over = Occupancy.count(window.occupancy) + ahead - limit
    // the server's word (`creditFrom`) admits at once what it allows, for its path
    const credited = path !== undefined && path === window.creditPath ? window.credit : 0
    const free = over < 0 || ahead < credited
      ? now
      : Math.min(Occupancy.nextFree(window.occupancy), now + configuredWindow) +
        (window.credited ? 0 : Math.floor(over / limit) * configuredWindow)
    const held = Math.max(free, now, window.holdUntil)
    return even ? Math.max(held, window.due + ahead * intervalOf(window, limit)) : held
  }
  /** Records a start at `now`; it spends a credit, whichever rule admitted it (see `creditFrom`). */
  const record = (window: Window, limit: number, now: number): Occupancy.Start => {
    if (even) window.due = Math.max(window.due, now - slackOf(window, limit)) + intervalOf(window, limit)
    if (window.credit > 0) window.credit--
    SlidingLog.record(window.log, now)
    return Occupancy.admit(window.occupancy, now)
  }
  /**
   * What the server's own count allows once `ticket`'s answer said it had
   * counted `limit - remaining` requests when that one reached it.
   *
   * The occupancy alone must assume that a request reached the server as late
   * as its answer came back, so each window costs a round trip, and the
   * client's own time to read an answer (a busy event loop: tens to hundreds
   * of milliseconds) on top. The answer's `X-RateLimit-Remaining` tells more:
   * the count the server held when the request arrived (at some instant `s`,
   * between its admission and its answer). Any rate window the server keeps
   * (fixed at any phase, sliding, a sliding counter, a token bucket) counts
   * no more at a later instant than it held at `s` plus what arrived after
   * `s`. What can have arrived after `s` is bounded without knowing `s`: a
   * start answered before this one was admitted arrived before it; every
   * other start may have arrived after (`Occupancy.mayFollow`). So
   * `min(limit - counted, remaining) - mayFollow` more starts cannot take any
   * window of the server past the limit, at any time from now on: each later
   * admission, by either rule, spends one. In any server window that would
   * hold one request too many, the one admitted last was admitted either by
   * the occupancy (which excludes it) or by this credit (which excludes it).
   *
   * It rests on what the occupancy already rests on: only this limiter sends
   * on the key (another process's requests after `s` are not seen), and an
   * answered request reached the server before its answer was read. A start
   * finished without an answer (a bare take, whose request is sent after its
   * fiber ran; a call interrupted or timed out) may reach the server up to a
   * window after it finished, so no credit is learned from a start admitted
   * while one may be on its way (`unsureUntil`).
   * The credit is per path: in `"shared"` mode against a server that counts
   * per path, one path's remaining says nothing about another's.
   */
  const creditFrom = (ticket: Ticket, reading: Reading, limit: number): boolean => {
    const { start, window } = ticket
    const { limit: serverLimit, remaining } = reading
    if (!isCount(serverLimit) || !isCount(remaining) || remaining > serverLimit) return false
    if (window.unsureUntil > start.admittedAt) return false
    const credit = Math.min(limit - (serverLimit - remaining), remaining) -
      Occupancy.mayFollow(window.occupancy, start)
    if (credit <= 0 || credit <= window.credit) return false
    window.credit = credit
    window.creditPath = ticket.path
    window.credited = true
    return true
  }
  /** Admits every waiter of `window` that may start at `now`, first in line first. */
  const drain = (window: Window, now: number, current: State): readonly [ReadonlyArray<Waiter>, State] => {
    const wake: Array<Waiter> = []
    while (window.waiters.length > 0 && earliest(window, current.limit, 0, now, window.waiters.head?.value.path) <= now) {
      const next = WaitQueue.shift(window.waiters)
      if (next === undefined) break
      next.start = record(window, current.limit, now)
      wake.push(next)
    }
    return wake.length === 0
      ? [nobody, current]
      : [wake, { ...current, waiting: current.waiting - wake.length, admitted: current.admitted + wake.length }]
  }
  /**
   * Ends a start's time in flight: it occupies the window a window longer
   * (see `answerWindow`). An answer's reading may let waiters start at once
   * (`creditFrom`): those are returned, to be woken.
   */
  const finish = (ticket: Ticket, how: Finish, now: number, reading?: Reading | undefined) =>
  (state: State): readonly [ReadonlyArray<Waiter>, State] => {
    const { start, window } = ticket
    if (start.finished) return [nobody, state]
    if (how === "answer") window.answered = true
    // no reading: no telling that its request has reached the server
    if (how === "take" || reading === undefined) {
      window.unsureUntil = Math.max(window.unsureUntil, now + (how === "take" ? takeWindow : answerWindow))
    }
    const credited = how === "answer" && reading !== undefined && creditFrom(ticket, reading, state.limit)
    Occupancy.finish(window.occupancy, start, how === "take" ? 0 : 1, now + (how === "take" ? takeWindow : answerWindow))
    // the timer stays as it is: it looks again at its own time, and finds the line as this left it
    return credited && window.waiters.length > 0 ? drain(window, now, state) : [nobody, state]
  }
  // Even pace, or answered starts: "none left" that our own starts explain
  // (the limit of them within a window and a quarter, as the server counted
  // them up to a response's latency ago, bunched or not) needs no hold, the
  // occupancy already spaces the next start; at a small limit it is what
  // every answer says. Any other is the server's count being ahead of ours
  // (another process on the key): hold a whole window.
  const explainedWithin = (window: Window) => spanOf(window) + configuredWindow / 4

  // A path that is not a string counts under the shared key: tolerant, and never looser.
  const keyOf = (path: string): string =>
    mode === "shared" || typeof path !== "string" ? sharedKey : routeOf(path)

  /** The window for `key`, created on first use and kept at the current limit. */
  const windowOf = (state: State, key: string): Window => {
    const existing = state.windows.get(key)
    if (existing === undefined) {
      const created: Window = {
        occupancy: Occupancy.make(2),
        answered: false,
        log: SlidingLog.make(state.limit),
        holdUntil: Number.NEGATIVE_INFINITY,
        waiters: WaitQueue.make(),
        timer: false,
        due: Number.NEGATIVE_INFINITY,
        credit: 0,
        creditPath: undefined,
        credited: false,
        unsureUntil: Number.NEGATIVE_INFINITY
      }
      state.windows.set(key, created)
      return created
    }
    if (existing.log.capacity !== state.limit) {
      existing.log = SlidingLog.resize(existing.log, state.limit)
    }
    return existing
  }

  /**
   * Drops windows that constrain nothing any more, so a caller that passes
   * ever new paths in perEndpoint mode does not grow the map for ever.
   * Sweeping only when the map doubles keeps the cost O(1) per request.
   */
  const sweep = (state: State, now: number): State => {
    if (state.windows.size <= state.sweepAt) {
      return state
    }
    for (const [key, window] of state.windows) {
      Occupancy.drop(window.occupancy, now)
      if (
        !window.timer && window.waiters.length === 0 && window.holdUntil <= now &&
        Occupancy.count(window.occupancy) === 0
      ) {
        state.windows.delete(key)
      }
    }
    return { ...state, sweepAt: Math.max(minimumSweep, 2 * state.windows.size) }
  }

  const admit = (key: string, waiter: Waiter, now: number) =>
  (current: State): readonly [Admission, State] => {
    const state = sweep(current, now)
    const window = windowOf(state, key)
    const ahead = window.waiters.length
    const turn = earliest(window, state.limit, ahead, now, waiter.path)
    if (ahead === 0 && turn <= now) {
      const start = record(window, state.limit, now)
      return [{ _tag: "Admitted", ticket: { window, start, path: waiter.path } }, { ...state, admitted: state.admitted + 1 }]
    }
    if (maxWaiting !== undefined && state.waiting >= maxWaiting) {
      return [full, state]
    }
    // ">=": a turn exactly maxWait away would race the waiter's own timeout
    if (maxWaitMillis !== undefined && turn - now >= maxWaitMillis) {
      return [{ _tag: "TooLate", wait: turn - now }, state]
    }
    const node = WaitQueue.push(window.waiters, waiter)
    const startTimer = !window.timer
    window.timer = true
    return [{ _tag: "Queued", window, node, waiter, startTimer }, { ...state, waiting: state.waiting + 1 }]
  }

  /** Admits every waiter of `window` that may start at `now`, first in line first. */
  const pump = (window: Window, now: number) => (current: State): readonly [Pump, State] => {
    if (window.log.capacity !== current.limit) {
      window.log = SlidingLog.resize(window.log, current.limit)
    }
    const [wake, state] = drain(window, now, current)
    if (window.waiters.length === 0) {
      window.timer = false
      return [{ wake, next: undefined }, state]
    }
    return [{ wake, next: earliest(window, current.limit, 0, now, window.waiters.head?.value.path) }, state]
  }

  const initial: State = {
    limit: configured ?? defaultLimit(mode),
    source: configured === undefined ? "default" : "configured",
    waiting: 0,
    admitted: 0,
    windows: new Map(),
    sweepAt: minimumSweep
  }

  /**
   * Adopts a limit the server reported (already sanitized and clamped), and
   * on "none left" holds the window unless our own starts explain it.
   */
  const learn = (path: string, reported: number | undefined, exhausted: boolean, now: number) =>
  (current: State): State => {
    const state: State = reported === undefined
      ? current
      : configured === undefined
      ? { ...current, limit: reported, source: "learned" }
      : reported >= configured
      ? { ...current, limit: configured, source: "configured" }
      : { ...current, limit: reported, source: "learned" }
    // a credit was counted against the limit it was learned under
    if (state.limit !== current.limit) {
      for (const window of state.windows.values()) window.credit = 0
    }
    if (exhausted) {
      const window = windowOf(state, keyOf(path))
      const oldest = SlidingLog.oldestOfFull(window.log)
      const explained = (even || window.answered) && oldest !== undefined && oldest > now - explainedWithin(window)
      if (!explained) window.holdUntil = Math.max(window.holdUntil, now + spanOf(window))
    }
    return state
  }

  return { initial, keyOf, windowOf, admit, pump, learn, finish, windowMillis, tick, even }
}
