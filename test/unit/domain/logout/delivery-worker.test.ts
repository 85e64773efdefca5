import type { NewAuditEvent } from '../../../../src/domain/audit/audit.js';
import { LogoutDelivery, type LogoutDeliveryDeps, type LogoutTokenSigner, type LogoutTransport } from '../../../../src/domain/logout/delivery-worker.js';
import type { AttemptOutcome, LogoutNotification, LogoutOutbox } from '../../../../src/domain/logout/logout-notification.js';
import { TestClock } from '../../../support/clock.js';

const T0 = new Date('2026-03-01T10:00:00Z');

/** The outbox port in memory, with the claim rules of the real one. */
class MemoryOutbox implements LogoutOutbox {
  readonly rows = new Map<string, LogoutNotification>();
  readonly audits: NewAuditEvent[] = [];

  add(id: string, clientId: string): void {
    this.rows.set(id, {
      id, sessionId: 's1', userId: 'u1', clientId, sid: `sid-${clientId}`, reason: 'revoked_by_admin', state: 'pending', createdAt: T0, attempts: 0,
      nextAttemptAt: T0, claimedBy: null, claimedUntil: null, lastAttemptAt: null, lastError: null, deliveredAt: null, failedAt: null,
    });
  }

  async claimDue(input: { now: Date; limit: number; workerId: string; leaseUntil: Date }) {
    const due = [...this.rows.values()]
      .filter((n) => n.state === 'pending' && n.nextAttemptAt <= input.now && (!n.claimedUntil || n.claimedUntil < input.now))
      .slice(0, input.limit)
      .map((n) => ({ ...n, claimedBy: input.workerId, claimedUntil: input.leaseUntil }));
    for (const n of due) this.rows.set(n.id, n);
    return due;
  }

  async settle(id: string, workerId: string, outcome: AttemptOutcome, audit?: NewAuditEvent) {
    const row = this.rows.get(id)!;
    if (row.claimedBy !== workerId) return false;
    this.rows.set(id, {
      ...row, state: outcome.state, attempts: outcome.attempts, lastAttemptAt: outcome.at, claimedBy: null, claimedUntil: null,
      lastError: outcome.state === 'delivered' ? null : outcome.lastError,
      ...(outcome.state === 'pending' ? { nextAttemptAt: outcome.nextAttemptAt } : {}),
      ...(outcome.state === 'delivered' ? { deliveredAt: outcome.at } : {}),
      ...(outcome.state === 'failed' ? { failedAt: outcome.at } : {}),
    });
    if (audit) this.audits.push(audit);
    return true;
  }

  async release(id: string, workerId: string) {
    const row = this.rows.get(id)!;
    if (row.claimedBy === workerId) this.rows.set(id, { ...row, claimedBy: null, claimedUntil: null });
  }

  async find(id: string) {
    return this.rows.get(id);
  }

  async list() {
    return [...this.rows.values()];
  }

  async countByState() {
    const counts = { pending: 0, delivered: 0, failed: 0 };
    for (const n of this.rows.values()) counts[n.state] += 1;
    return counts;
  }

  async countByClient() {
    const byClient = new Map<string, { pending: number; delivered: number; failed: number }>();
    for (const n of this.rows.values()) {
      const counts = byClient.get(n.clientId) ?? { pending: 0, delivered: 0, failed: 0 };
      counts[n.state] += 1;
      byClient.set(n.clientId, counts);
    }
    return [...byClient.entries()].map(([clientId, counts]) => ({ clientId, counts }));
  }

  async requeue() {
    return undefined;
  }
}

/** A transport whose answers the test releases one by one; it records the most requests open at once. */
class HeldTransport implements LogoutTransport {
  open = 0;
  peak = 0;
  readonly calls: { uri: string; token: string }[] = [];
  private readonly waiting: ((status: number) => void)[] = [];

  post(uri: string, token: string, signal: AbortSignal): Promise<{ status: number }> {
    this.calls.push({ uri, token });
    this.open += 1;
    this.peak = Math.max(this.peak, this.open);
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => {
        this.open -= 1;
        reject(new Error('aborted'));
      });
      this.waiting.push((status) => {
        this.open -= 1;
        resolve({ status });
      });
    });
  }

  async answerAll(status: number): Promise<void> {
    while (this.waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
    for (const answer of this.waiting.splice(0)) answer(status);
  }
}

interface WorkerOverrides {
  concurrency?: number;
  timeoutMs?: number;
  knownClients?: string[];
  findTarget?: LogoutDeliveryDeps['findTarget'];
  signer?: LogoutTokenSigner;
}

function worker(outbox: MemoryOutbox, transport: LogoutTransport, clock: TestClock, overrides: WorkerOverrides = {}) {
  const known = new Set(overrides.knownClients ?? [...outbox.rows.values()].map((n) => n.clientId));
  return new LogoutDelivery({
    outbox,
    findTarget: overrides.findTarget ?? (async (clientId) => (known.has(clientId) ? { uri: `https://${clientId}.example/logout`, sessionRequired: true, alg: 'RS256' } : undefined)),
    signer: overrides.signer ?? { sign: async (claims) => `token-for-${claims.aud}-${claims.jti}` },
    transport,
    clock,
    random: () => 0.5,
    policy: { baseDelayMs: 5000, maxDelayMs: 60_000, retryWindowMs: 3_600_000 },
    issuer: 'https://id.example.com',
    workerId: 'w1',
    concurrency: overrides.concurrency ?? 16,
    timeoutMs: overrides.timeoutMs ?? 5000,
    leaseMs: 60_000,
    log: { info() {}, warn() {}, error() {} },
  });
}

describe('LogoutDelivery', () => {
  it('keeps at most `concurrency` attempts in flight and claims more as slots free up, until all are done', async () => {
    const outbox = new MemoryOutbox();
    for (let i = 0; i < 7; i += 1) outbox.add(`n${i}`, `app${i}`);
    const transport = new HeldTransport();
    const delivery = worker(outbox, transport, new TestClock(T0), { concurrency: 3 });
    const drained = delivery.drain();
    for (let round = 0; round < 3; round += 1) await transport.answerAll(204);
    expect(await drained).toEqual({ attempts: 7, delivered: 7, retried: 0, failed: 0 });
    expect(transport.peak).toBe(3);
    expect([...outbox.rows.values()].every((n) => n.state === 'delivered' && n.attempts === 1 && n.claimedBy === null)).toBe(true);
    expect(transport.calls.map((c) => c.token).sort()).toEqual([...outbox.rows.values()].map((n) => `token-for-${n.clientId}-${n.id}`).sort());
  });

  it('schedules a retry on failure, due by the injected clock, and fails a client without a URI at once with an audit event', async () => {
    const outbox = new MemoryOutbox();
    outbox.add('n1', 'app1');
    outbox.add('n2', 'gone');
    const clock = new TestClock(T0);
    const transport = new HeldTransport();
    const delivery = worker(outbox, transport, clock, { knownClients: ['app1'] });
    const first = delivery.drain();
    await transport.answerAll(500);
    expect(await first).toEqual({ attempts: 2, delivered: 0, retried: 1, failed: 1 });
    expect(outbox.rows.get('n1')).toMatchObject({ state: 'pending', lastError: 'HTTP 500', nextAttemptAt: new Date(T0.getTime() + 3000) });
    expect(outbox.rows.get('n2')).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/no back-channel logout URI/) });
    expect(outbox.audits).toEqual([expect.objectContaining({ type: 'logout.delivery_failed', clientId: 'gone', sessionId: 's1', userId: 'u1' })]);
    expect(await delivery.drain()).toMatchObject({ attempts: 0 });
    clock.advance(3000);
    const second = delivery.drain();
    await transport.answerAll(200);
    expect(await second).toMatchObject({ delivered: 1 });
  });

  it('records an unexpected error before the POST (signer or client lookup throwing) as a failed attempt: retried with backoff, then failed and audited', async () => {
    const outbox = new MemoryOutbox();
    outbox.add('n1', 'app1');
    outbox.add('n2', 'app2');
    const clock = new TestClock(T0);
    const transport = new HeldTransport();
    const delivery = worker(outbox, transport, clock, {
      signer: { sign: async (_claims, alg) => { throw new Error(`no signing key for ${alg}`); } },
      findTarget: async (clientId) => {
        if (clientId === 'app2') throw new Error('database is locked');
        return { uri: 'https://app1.example/logout', sessionRequired: true, alg: 'ES512' };
      },
    });
    expect(await delivery.drain()).toEqual({ attempts: 2, delivered: 0, retried: 2, failed: 0 });
    expect(outbox.rows.get('n1')).toMatchObject({ state: 'pending', attempts: 1, claimedBy: null, lastError: 'internal error: no signing key for ES512', nextAttemptAt: new Date(T0.getTime() + 3000) });
    expect(outbox.rows.get('n2')).toMatchObject({ state: 'pending', attempts: 1, claimedBy: null, lastError: 'internal error: database is locked' });
    expect(transport.calls).toHaveLength(0);
    // Not due again before the backoff; then retried, and given up at the end of the retry window.
    expect(await delivery.drain()).toMatchObject({ attempts: 0 });
    clock.advance(3000);
    expect(await delivery.drain()).toMatchObject({ attempts: 2, retried: 2 });
    clock.advance(3_600_000);
    expect(await delivery.drain()).toEqual({ attempts: 2, delivered: 0, retried: 0, failed: 2 });
    expect(outbox.rows.get('n1')).toMatchObject({ state: 'failed', attempts: 3, lastError: 'internal error: no signing key for ES512' });
    expect(outbox.audits.map((a) => [a.type, a.clientId, (a.details as { last_error: string }).last_error]).sort()).toEqual([
      ['logout.delivery_failed', 'app1', 'internal error: no signing key for ES512'],
      ['logout.delivery_failed', 'app2', 'internal error: database is locked'],
    ]);
    expect(delivery.counters).toEqual({ attempts: 6, delivered: 0, retried: 4, failed: 2 });
  });

  it('abandons an attempt past the timeout, and at stop gives claims back without counting an attempt', async () => {
    const outbox = new MemoryOutbox();
    outbox.add('n1', 'app1');
    const transport = new HeldTransport();
    const slow = worker(outbox, transport, new TestClock(T0), { timeoutMs: 20 });
    expect(await slow.drain()).toEqual({ attempts: 1, delivered: 0, retried: 1, failed: 0 });
    expect(outbox.rows.get('n1')).toMatchObject({ state: 'pending', lastError: 'no answer within 20 ms', claimedBy: null });

    outbox.add('n2', 'app2');
    const clock = new TestClock(new Date(T0.getTime() + 10_000));
    const stopping = worker(outbox, transport, clock);
    stopping.start(3_600_000);
    while (transport.open < 2) await new Promise((resolve) => setImmediate(resolve));
    await stopping.stop();
    expect(stopping.counters.attempts).toBe(0);
    expect([...outbox.rows.values()].map((n) => [n.id, n.state, n.claimedBy, n.attempts])).toEqual([['n1', 'pending', null, 1], ['n2', 'pending', null, 0]]);
    // A stopped worker neither claims nor wakes.
    stopping.wake();
    expect(transport.open).toBe(0);
  });

  it('does nothing on wake() before start() (the CLI queues, the server delivers)', async () => {
    const outbox = new MemoryOutbox();
    outbox.add('n1', 'app1');
    const transport = new HeldTransport();
    worker(outbox, transport, new TestClock(T0)).wake();
    await new Promise((resolve) => setImmediate(resolve));
    expect(transport.calls).toHaveLength(0);
    expect(outbox.rows.get('n1')!.claimedBy).toBeNull();
  });
});
