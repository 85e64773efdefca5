import type { CancelTimer, Clock, Timers } from '../../src/domain/clock.js';

/** A clock tests move by hand. */
export class TestClock implements Clock {
  private current: number;

  constructor(start: Date | number = Date.now()) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

interface PendingTimer {
  at: number;
  readonly order: number;
  readonly every: number | undefined;
  readonly task: () => void;
}

/** Lets every promise reaction already queued (and those they queue) run: what follows a fired timer, without I/O. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Timers on a TestClock: nothing fires until the test moves the clock with advance(), which fires each timer due on
 * the way at its own time (the clock reads that time while it runs), in time order, settling what it set off before
 * the next one fires.
 */
export class TestTimers implements Timers {
  private readonly pending = new Set<PendingTimer>();
  private created = 0;

  constructor(readonly clock: TestClock) {}

  every(ms: number, task: () => void): CancelTimer {
    if (!(ms > 0)) throw new Error(`a repeating timer needs a positive interval, not ${ms}`);
    return this.add(ms, ms, task);
  }

  after(ms: number, task: () => void): CancelTimer {
    return this.add(Math.max(0, ms), undefined, task);
  }

  /** How many timers are set (repeating ones until cancelled, one-off ones until they fire or are cancelled). */
  get count(): number {
    return this.pending.size;
  }

  /** When the next timer is due (epoch ms), or undefined when none is set. */
  get nextAt(): number | undefined {
    let next: number | undefined;
    for (const timer of this.pending) if (next === undefined || timer.at < next) next = timer.at;
    return next;
  }

  /** Moves the clock forward by `ms`, firing the timers due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.clock.now().getTime() + ms;
    for (let next = this.nextDue(end); next; next = this.nextDue(end)) {
      this.clock.advance(Math.max(0, next.at - this.clock.now().getTime()));
      if (next.every === undefined) this.pending.delete(next);
      else next.at += next.every;
      next.task();
      await settle();
    }
    this.clock.advance(Math.max(0, end - this.clock.now().getTime()));
    await settle();
  }

  private add(delay: number, every: number | undefined, task: () => void): CancelTimer {
    const timer: PendingTimer = { at: this.clock.now().getTime() + delay, order: (this.created += 1), every, task };
    this.pending.add(timer);
    return () => void this.pending.delete(timer);
  }

  private nextDue(end: number): PendingTimer | undefined {
    let next: PendingTimer | undefined;
    for (const timer of this.pending) {
      if (timer.at > end) continue;
      if (!next || timer.at < next.at || (timer.at === next.at && timer.order < next.order)) next = timer;
    }
    return next;
  }
}
