import { settle, TestClock } from '../../../support/clock.js';
import { deliveryWorker, HeldTransport, T0, type WorkerOptions } from '../../../support/delivery.js';
import { MemoryOutbox } from '../../../support/memory-outbox.js';

const worker = (outbox: MemoryOutbox, transport: HeldTransport, clock: TestClock, options: WorkerOptions = {}) => deliveryWorker(outbox, transport, { clock, ...options }).delivery;

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
    expect(delivery.counters).toEqual({ attempts: 6, delivered: 0, retried: 4, failed: 2, stalls: 0 });
  });

  it('abandons an attempt past the timeout, and at stop gives claims back without counting an attempt', async () => {
    const outbox = new MemoryOutbox();
    outbox.add('n1', 'app1');
    const transport = new HeldTransport();
    const { delivery: slow, timers } = deliveryWorker(outbox, transport, { timeoutMs: 20 });
    const drained = slow.drain();
    await settle();
    expect(transport.open).toBe(1);
    await timers.advance(19);
    expect(transport.open).toBe(1);
    await timers.advance(1);
    expect(await drained).toEqual({ attempts: 1, delivered: 0, retried: 1, failed: 0 });
    expect(outbox.rows.get('n1')).toMatchObject({ state: 'pending', lastError: 'no answer within 20 ms', claimedBy: null });

    outbox.add('n2', 'app2');
    const clock = new TestClock(new Date(T0.getTime() + 10_000));
    const stopping = worker(outbox, transport, clock);
    stopping.start(3_600_000);
    await settle();
    expect(transport.open).toBe(2);
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
    await settle();
    expect(transport.calls).toHaveLength(0);
    expect(outbox.rows.get('n1')!.claimedBy).toBeNull();
  });
});
