/** Time, injectable so tests can move it without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Stops a timer; calling it again, or after a one-off timer fired, does nothing. */
export type CancelTimer = () => void;

/**
 * Timers, injectable like the clock: tests fire them by moving a test clock (test/support/clock.ts) instead of
 * waiting. The delay is in milliseconds of the clock that goes with them.
 */
export interface Timers {
  /** Runs `task` every `ms` until cancelled; a repeating timer never keeps the process alive by itself. */
  every(ms: number, task: () => void): CancelTimer;
  /** Runs `task` once after `ms`, unless cancelled first. */
  after(ms: number, task: () => void): CancelTimer;
}

export const systemTimers: Timers = {
  every(ms, task) {
    const timer = setInterval(task, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  after(ms, task) {
    const timer = setTimeout(task, ms);
    return () => clearTimeout(timer);
  },
};
