import fc from 'fast-check';
import type { LogoutTransport } from '../../../../src/domain/logout/delivery-worker.js';
import type { RetryPolicy } from '../../../../src/domain/logout/delivery-policy.js';
import { settle, TestClock, TestTimers } from '../../../support/clock.js';
import { deliveryWorker, T0 } from '../../../support/delivery.js';
import { MemoryOutbox } from '../../../support/memory-outbox.js';

// One or two workers (processes) against one in-memory outbox and receivers of random latency and answers (2xx, 5xx,
// connection errors, no answer until the timeout), notifications arriving at random times (some with a wake, as a
// session ending in that process; some without, as one ended by the CLI), random drain() calls and a stop/start, all
// on the injected clock and timers. The promises checked after every event:
// - a notification due is attempted within one poll interval of clock time during which a worker had a slot free;
// - never more than `concurrency` requests at once from one worker, never two for one notification, never one for a
//   row the sending worker does not hold;
// - none is lost: in the end each is delivered (its last answer a 2xx) or failed by the retry policy (an error that
//   retrying cannot cure, or the retry window over), with as many attempts recorded as were made;
// - the self-check never takes this worker for a stalled one.

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
  /** Queued by the process of this worker (it is woken), or by another (the CLI: the workers find out on their poll). */
  readonly wakes: number | null;
  /** The receiver's replies to this notification's attempts, in turn (cycled). */
  readonly replies: Reply[];
}
interface Scenario {
  /** Processes on one database, each with its worker. */
  readonly workers: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly arrivals: Arrival[];
  /** drain() calls on the first worker. */
  readonly drainsAtMs: number[];
  /** The first worker stopped and started again. */
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
  workers: fc.integer({ min: 1, max: 2 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  timeoutMs: fc.integer({ min: 100, max: 2500 }),
  arrivals: fc.array(
    fc.record({
      atMs: fc.integer({ min: 0, max: 6000 }),
      wakes: fc.option(fc.integer({ min: 0, max: 1 }), { nil: null }),
      replies: fc.array(fc.record({ latencyMs: fc.integer({ min: 0, max: 3000 }), answer }), { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 10 },
  ),
  drainsAtMs: fc.array(fc.integer({ min: 0, max: 8000 }), { maxLength: 2 }),
  restart: fc.option(fc.record({ atMs: fc.integer({ min: 0, max: 8000 }), downMs: fc.integer({ min: 0, max: 3000 }) }), { nil: null }),
  jitter: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 4 }),
});

interface OpenPost {
  readonly id: string;
  readonly workerId: string;
}

/**
 * The receivers: answer each notification's attempts by its script, on the test timers, and check every request as it
 * comes, whichever worker sends it (`from(workerId)` is that worker's transport).
 */
class ScriptedReceivers {
  readonly open = new Set<OpenPost>();
  readonly peak = new Map<string, number>();
  readonly posts = new Map<string, number>();
  readonly lastAnswer = new Map<string, Answer | 'aborted'>();
  readonly violations: string[] = [];

  constructor(private readonly timers: TestTimers, private readonly outbox: MemoryOutbox, private readonly scripts: Map<string, Reply[]>, private readonly concurrency: number) {}

  openFrom(workerId: string): OpenPost[] {
    return [...this.open].filter((post) => post.workerId === workerId);
  }

  from(workerId: string): LogoutTransport {
    return { post: (_uri, token, signal) => this.post(workerId, token, signal) };
  }

  private post(workerId: string, token: string, signal: AbortSignal): ReturnType<LogoutTransport['post']> {
    const id = token.slice(token.lastIndexOf('-') + 1);
    const row = this.outbox.rows.get(id);
    if (row?.claimedBy !== workerId || row.state !== 'pending') this.violations.push(`${workerId} posted ${id} while ${row?.state} and held by ${row?.claimedBy}`);
    if ([...this.open].some((post) => post.id === id)) this.violations.push(`${id} posted twice at once`);
    const attempt = this.posts.get(id) ?? 0;
    this.posts.set(id, attempt + 1);
    const open: OpenPost = { id, workerId };
    this.open.add(open);
    const mine = this.openFrom(workerId).length;
    this.peak.set(workerId, Math.max(this.peak.get(workerId) ?? 0, mine));
    if (mine > this.concurrency) this.violations.push(`${workerId} has ${mine} requests at once, concurrency ${this.concurrency}`);
    const script = this.scripts.get(id)!;
    const reply = script[attempt % script.length]!;
    return new Promise((resolve, reject) => {
      const finish = (outcome: Answer | 'aborted') => {
        this.open.delete(open);
        this.lastAnswer.set(id, outcome);
      };
      const cancel = reply.answer === 'no answer' ? () => {} : this.timers.after(reply.latencyMs, () => {
        if (!this.open.has(open)) return;
        finish(reply.answer);
        resolve(reply.answer as Exclude<Answer, 'no answer'>);
      });
      signal.addEventListener('abort', () => {
        if (!this.open.has(open)) return;
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
  const receivers = new ScriptedReceivers(timers, outbox, scripts, s.concurrency);
  let draw = 0;
  const workers = Array.from({ length: s.workers }, (_, i) => {
    const workerId = `w${i}`;
    const { delivery } = deliveryWorker(outbox, receivers.from(workerId), {
      timers, workerId, concurrency: s.concurrency, timeoutMs: s.timeoutMs, policy: POLICY, random: () => s.jitter[draw++ % s.jitter.length]!,
    });
    return { workerId, delivery, running: true };
  });
  const first = workers[0]!;
  const at = (ms: number) => new Date(T0.getTime() + ms);
  const abandoned = new Map<string, number>();
  const drains: { done: boolean }[] = [];
  const failures: string[] = [];

  s.arrivals.forEach((arrival, i) => timers.after(arrival.atMs, () => {
    outbox.add(`n${i}`, `app${i % 3}`, { createdAt: at(arrival.atMs), sessionId: `s${i}` });
    if (arrival.wakes !== null) workers[arrival.wakes % s.workers]!.delivery.wake();
  }));
  for (const ms of s.drainsAtMs) timers.after(ms, () => {
    const drain = { done: false };
    drains.push(drain);
    void first.delivery.drain().then(() => (drain.done = true), (error: unknown) => failures.push(`drain failed: ${String(error)}`));
  });
  if (s.restart) {
    const { atMs, downMs } = s.restart;
    timers.after(atMs, () => {
      first.running = false;
      // What stop() abandons is given back, not an attempt.
      for (const { id } of receivers.openFrom(first.workerId)) abandoned.set(id, (abandoned.get(id) ?? 0) + 1);
      void first.delivery.stop();
    });
    timers.after(atMs + downMs, () => {
      first.running = true;
      first.delivery.start(POLL);
    });
  }
  for (const { delivery } of workers) delivery.start(POLL);
  await settle();

  // Clock time each waiting notification has been due and unclaimed while a worker was running with a slot free, by
  // worker, since its last attempt (which may have come and gone between two looks: an instant answer).
  const waitedWithFreeSlot = new Map<string, { readonly posts: number; readonly ms: number }>();
  const settled = () => [...outbox.rows.values()].every((n) => n.state !== 'pending') && outbox.rows.size === s.arrivals.length && drains.every((d) => d.done);
  while (!settled() && clock.now().getTime() - T0.getTime() < GIVE_UP_AFTER_MS && failures.length === 0 && receivers.violations.length === 0) {
    const from = clock.now().getTime();
    const to = Math.min(timers.nextAt ?? from + POLL, from + POLL);
    for (const worker of workers) {
      const slotFree = worker.running && receivers.openFrom(worker.workerId).length < s.concurrency;
      for (const n of outbox.rows.values()) {
        const key = `${n.id} for ${worker.workerId}`;
        const waiting = n.state === 'pending' && n.claimedBy === null && n.nextAttemptAt.getTime() < to;
        const posts = receivers.posts.get(n.id) ?? 0;
        const before = waitedWithFreeSlot.get(key);
        if (!waiting) {
          waitedWithFreeSlot.delete(key);
          continue;
        }
        const waited = (before?.posts === posts ? before.ms : 0) + (slotFree ? to - Math.max(from, n.nextAttemptAt.getTime()) : 0);
        waitedWithFreeSlot.set(key, { posts, ms: waited });
        if (waited > POLL) failures.push(`${n.id} due since ${n.nextAttemptAt.getTime() - T0.getTime()} ms waited ${waited} ms while ${worker.workerId} had a slot free (at ${to - T0.getTime()} ms)`);
      }
    }
    await timers.advance(to - from);
  }

  expect(receivers.violations).toEqual([]);
  expect(failures).toEqual([]);
  const lost = [...outbox.rows.values()].flatMap((n) => {
    const last = receivers.lastAnswer.get(n.id);
    const attempts = (receivers.posts.get(n.id) ?? 0) - (abandoned.get(n.id) ?? 0);
    const line = `${n.id}: ${n.state} after ${n.attempts} attempts (${attempts} made), last answer ${JSON.stringify(last)}`;
    if (n.claimedBy !== null || n.attempts !== attempts) return [line];
    if (n.state === 'delivered') return typeof last === 'object' && 'status' in last && (last.status === 200 || last.status === 204) ? [] : [line];
    if (n.state !== 'failed') return [line];
    const curable = typeof last !== 'object' || 'status' in last || last.retryable;
    return curable && n.failedAt!.getTime() < n.createdAt.getTime() + POLICY.retryWindowMs ? [`${line}, failed before the retry window closed`] : [];
  });
  expect(lost).toEqual([]);
  for (const worker of workers) {
    expect([worker.workerId, (receivers.peak.get(worker.workerId) ?? 0) <= s.concurrency]).toEqual([worker.workerId, true]);
    // Busy or idle, a worker that claims is never taken for a stalled one.
    expect([worker.workerId, worker.delivery.counters.stalls]).toEqual([worker.workerId, 0]);
    await worker.delivery.stop();
  }
}

describe('LogoutDelivery under random arrivals, latencies, failures and concurrency (property)', () => {
  it('attempts every due notification within a poll interval of a free slot, within the concurrency, once at a time, and loses none, on one worker or two', async () => {
    await fc.assert(fc.asyncProperty(scenario, run), { numRuns: 500 });
  });
});
