import fc from 'fast-check';
import type { LogoutTransport } from '../../../../src/domain/logout/delivery-worker.js';
import type { RetryPolicy } from '../../../../src/domain/logout/delivery-policy.js';
import { settle, TestClock, TestTimers } from '../../../support/clock.js';
import { deliveryWorker, T0 } from '../../../support/delivery.js';
import { MemoryOutbox } from '../../../support/memory-outbox.js';

// The worker against the in-memory outbox and a receiver of random latency and answers (2xx, 5xx, connection errors,
// no answer until the timeout), notifications arriving at random times (some with a wake, as a session ending in
// this process; some without, as one ended by the CLI or another process), random drain() calls and a stop/start,
// all on the injected clock and timers. The promises checked after every event:
// - a notification due is attempted within one poll interval of clock time during which a slot was free;
// - never more than `concurrency` requests at once, never two for one notification, never one for a row this worker
//   does not hold;
// - none is lost: in the end each is delivered (its last answer a 2xx) or failed by the retry policy (an error that
//   retrying cannot cure, or the retry window over), with as many attempts recorded as were made.

const POLL = 1000;
const POLICY: RetryPolicy = { baseDelayMs: 1000, maxDelayMs: 4000, retryWindowMs: 10_000 };
/** Far beyond every scenario's last possible attempt: still not settled by then is lost. */
const GIVE_UP_AFTER_MS = 3_600_000;

type Answer = { readonly status: number } | { readonly error: string; readonly retryable: boolean } | 'no answer';
interface Reply {
  readonly latencyMs: number;
  readonly answer: Answer;
}
interface Arrival {
  readonly atMs: number;
  /** Queued by this process (the worker is woken) or by another (it finds out on its poll). */
  readonly wakes: boolean;
  /** The receiver's replies to this notification's attempts, in turn (cycled). */
  readonly replies: Reply[];
}
interface Scenario {
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly arrivals: Arrival[];
  readonly drainsAtMs: number[];
  readonly restart: { readonly atMs: number; readonly downMs: number } | null;
  readonly jitter: number[];
}

const answer: fc.Arbitrary<Answer> = fc.oneof(
  fc.constantFrom(200, 204).map((status) => ({ status })),
  fc.constantFrom(500, 502, 503, 404).map((status) => ({ status })),
  fc.record({ error: fc.constantFrom('ECONNREFUSED', 'refused destination'), retryable: fc.boolean() }),
  fc.constant('no answer' as const),
);
const scenario: fc.Arbitrary<Scenario> = fc.record({
  concurrency: fc.integer({ min: 1, max: 4 }),
  timeoutMs: fc.integer({ min: 100, max: 2500 }),
  arrivals: fc.array(
    fc.record({
      atMs: fc.integer({ min: 0, max: 6000 }),
      wakes: fc.boolean(),
      replies: fc.array(fc.record({ latencyMs: fc.integer({ min: 0, max: 3000 }), answer }), { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 10 },
  ),
  drainsAtMs: fc.array(fc.integer({ min: 0, max: 8000 }), { maxLength: 2 }),
  restart: fc.option(fc.record({ atMs: fc.integer({ min: 0, max: 8000 }), downMs: fc.integer({ min: 0, max: 3000 }) }), { nil: null }),
  jitter: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 4 }),
});

/** The receiver side: answers each notification's attempts by its script, on the test timers, and checks every request as it comes. */
class ScriptedReceiver implements LogoutTransport {
  open = 0;
  peak = 0;
  readonly openFor = new Map<string, number>();
  readonly posts = new Map<string, number>();
  readonly lastAnswer = new Map<string, Answer | 'aborted'>();
  readonly violations: string[] = [];

  constructor(private readonly timers: TestTimers, private readonly outbox: MemoryOutbox, private readonly scripts: Map<string, Reply[]>, private readonly concurrency: number) {}

  post(_uri: string, token: string, signal: AbortSignal): ReturnType<LogoutTransport['post']> {
    const id = token.slice(token.lastIndexOf('-') + 1);
    const row = this.outbox.rows.get(id);
    if (row?.claimedBy !== 'w1' || row.state !== 'pending') this.violations.push(`${id} posted while ${row?.state} and held by ${row?.claimedBy}`);
    const attempt = this.posts.get(id) ?? 0;
    this.posts.set(id, attempt + 1);
    this.open += 1;
    this.peak = Math.max(this.peak, this.open);
    if (this.open > this.concurrency) this.violations.push(`${this.open} requests at once, concurrency ${this.concurrency}`);
    this.openFor.set(id, (this.openFor.get(id) ?? 0) + 1);
    if (this.openFor.get(id)! > 1) this.violations.push(`${id} posted twice at once`);
    const script = this.scripts.get(id)!;
    const reply = script[attempt % script.length]!;
    return new Promise((resolve, reject) => {
      let finished = false;
      const finish = (outcome: Answer | 'aborted') => {
        finished = true;
        this.open -= 1;
        this.openFor.set(id, this.openFor.get(id)! - 1);
        this.lastAnswer.set(id, outcome);
      };
      const cancel = reply.answer === 'no answer' ? () => {} : this.timers.after(reply.latencyMs, () => {
        if (finished) return;
        finish(reply.answer);
        resolve(reply.answer as Exclude<Answer, 'no answer'>);
      });
      signal.addEventListener('abort', () => {
        if (finished) return;
        cancel();
        finish('aborted');
        reject(new Error('aborted'));
      });
    });
  }
}

async function run(s: Scenario): Promise<void> {
  const clock = new TestClock(T0);
  const timers = new TestTimers(clock);
  const outbox = new MemoryOutbox(T0);
  const scripts = new Map(s.arrivals.map((a, i) => [`n${i}`, a.replies] as const));
  const receiver = new ScriptedReceiver(timers, outbox, scripts, s.concurrency);
  let draw = 0;
  const { delivery } = deliveryWorker(outbox, receiver, {
    timers, concurrency: s.concurrency, timeoutMs: s.timeoutMs, policy: POLICY, random: () => s.jitter[draw++ % s.jitter.length]!,
  });
  const at = (ms: number) => new Date(T0.getTime() + ms);
  let running = true;
  const abandoned = new Map<string, number>();
  const drains: { done: boolean }[] = [];
  const failures: string[] = [];

  s.arrivals.forEach((arrival, i) => timers.after(arrival.atMs, () => {
    outbox.add(`n${i}`, `app${i % 3}`, { createdAt: at(arrival.atMs), sessionId: `s${i}` });
    if (arrival.wakes) delivery.wake();
  }));
  for (const ms of s.drainsAtMs) timers.after(ms, () => {
    const drain = { done: false };
    drains.push(drain);
    void delivery.drain().then(() => (drain.done = true), (error: unknown) => failures.push(`drain failed: ${String(error)}`));
  });
  if (s.restart) {
    const { atMs, downMs } = s.restart;
    timers.after(atMs, () => {
      running = false;
      // What stop() abandons is given back, not an attempt.
      for (const [id, open] of receiver.openFor) if (open > 0) abandoned.set(id, (abandoned.get(id) ?? 0) + 1);
      void delivery.stop();
    });
    timers.after(atMs + downMs, () => {
      running = true;
      delivery.start(POLL);
    });
  }
  delivery.start(POLL);
  await settle();

  // Clock time each waiting notification has been due, unclaimed, with a slot free and the worker running.
  const waitedWithFreeSlot = new Map<string, number>();
  const settled = () => [...outbox.rows.values()].every((n) => n.state !== 'pending') && outbox.rows.size === s.arrivals.length && drains.every((d) => d.done);
  while (!settled() && clock.now().getTime() - T0.getTime() < GIVE_UP_AFTER_MS && failures.length === 0 && receiver.violations.length === 0) {
    const from = clock.now().getTime();
    const to = Math.min(timers.nextAt ?? from + POLL, from + POLL);
    const slotFree = running && receiver.open < s.concurrency;
    for (const n of outbox.rows.values()) {
      const waiting = n.state === 'pending' && n.claimedBy === null && n.nextAttemptAt.getTime() < to;
      if (!waiting) {
        waitedWithFreeSlot.delete(n.id);
        continue;
      }
      const waited = (waitedWithFreeSlot.get(n.id) ?? 0) + (slotFree ? to - Math.max(from, n.nextAttemptAt.getTime()) : 0);
      waitedWithFreeSlot.set(n.id, waited);
      if (waited > POLL) failures.push(`${n.id} due since ${n.nextAttemptAt.getTime() - T0.getTime()} ms waited ${waited} ms with a slot free (at ${to - T0.getTime()} ms)`);
    }
    await timers.advance(to - from);
  }

  expect(receiver.violations).toEqual([]);
  expect(failures).toEqual([]);
  const lost = [...outbox.rows.values()].flatMap((n) => {
    const last = receiver.lastAnswer.get(n.id);
    const attempts = (receiver.posts.get(n.id) ?? 0) - (abandoned.get(n.id) ?? 0);
    const line = `${n.id}: ${n.state} after ${n.attempts} attempts (${attempts} made), last answer ${JSON.stringify(last)}`;
    if (n.claimedBy !== null || n.attempts !== attempts) return [line];
    if (n.state === 'delivered') return typeof last === 'object' && 'status' in last && (last.status === 200 || last.status === 204) ? [] : [line];
    if (n.state !== 'failed') return [line];
    const curable = typeof last !== 'object' || 'status' in last || last.retryable;
    return curable && n.failedAt!.getTime() < n.createdAt.getTime() + POLICY.retryWindowMs ? [`${line}, failed before the retry window closed`] : [];
  });
  expect(lost).toEqual([]);
  expect(receiver.peak).toBeLessThanOrEqual(s.concurrency);
  await delivery.stop();
}

describe('LogoutDelivery under random arrivals, latencies, failures and concurrency (property)', () => {
  it('attempts every due notification within a poll interval of a free slot, within the concurrency, once at a time, and loses none', async () => {
    await fc.assert(fc.asyncProperty(scenario, run), { numRuns: 300 });
  });
});
