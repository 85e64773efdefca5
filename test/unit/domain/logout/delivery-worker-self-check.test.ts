import { STALL_POLLS } from '../../../../src/domain/logout/delivery-worker.js';
import { settle } from '../../../support/clock.js';
import { deliveryRig } from '../../../support/delivery.js';

// The bug guard: a worker whose claim loop is stuck while notifications wait is found out on its poll, said so in the
// log (counts and ages, nothing else), counted (/metrics), and given a fresh claim loop. A worker whose slots are all
// held by slow receivers is busy, not stuck.

const POLL = 1000;
const STALLED = 'logout delivery stalled: notifications are due and this worker has claimed nothing; restarting its claim loop';

function rig(options: { concurrency: number; timeoutMs?: number }) {
  const r = deliveryRig(options);
  return { ...r, stalls: () => r.log.lines.filter((line) => line.message === STALLED) };
}

describe('LogoutDelivery self-check', () => {
  it('finds a claim that never returns once notifications have waited over three polls, says so, counts it and claims again', async () => {
    const r = rig({ concurrency: 2 });
    const releaseStuckClaim = r.outbox.holdNextClaim('before');
    r.delivery.start(POLL);
    await settle();
    // Stuck, but nothing is due: nothing is owed, nothing is reported.
    await r.timers.advance(10 * POLL);
    expect([r.stalls(), r.delivery.counters.stalls, r.outbox.claims]).toEqual([[], 0, 1]);

    // Queued by another process (no wake); due for three polls is not yet a stall, past them it is.
    const first = r.queue();
    await r.timers.advance(STALL_POLLS * POLL);
    expect(r.delivery.counters.stalls).toBe(0);
    await r.timers.advance(POLL);
    expect(r.delivery.counters.stalls).toBe(1);
    expect(r.stalls()).toEqual([{
      level: 'error',
      message: STALLED,
      fields: { oldestDueMs: 4 * POLL, sinceLastClaimMs: 14 * POLL, inFlight: 0, concurrency: 2, stalls: 1 },
    }]);
    // The fresh claim loop took it at once.
    expect(r.transport.held).toEqual([first]);

    // The stuck claim comes back late: what it took is given back, not started twice or held by a dead loop.
    const second = r.queue();
    releaseStuckClaim();
    await settle();
    expect(r.transport.held).toEqual([first]);
    expect(r.outbox.rows.get('n2')).toMatchObject({ claimedBy: null, attempts: 0 });
    await r.timers.advance(POLL);
    expect(r.transport.held).toEqual([first, second]);
    await r.transport.answerOpen(200);
    // Healthy again: later logouts go out on their wake, and no more stalls are reported.
    await r.expectLaterLogoutSent();
    await r.timers.advance(20 * POLL);
    expect(r.delivery.counters.stalls).toBe(1);
    expect([...r.outbox.rows.values()].map((n) => n.state)).toEqual(['delivered', 'delivered', 'delivered']);
    await r.delivery.stop();
  });

  it('recovers from the state the old bug left behind (a settled claim still marked running)', async () => {
    const r = rig({ concurrency: 1 });
    r.delivery.start(POLL);
    await settle();
    // What pump() once did: kept a promise that had already settled as the claim in flight, so every wake joined it.
    (r.delivery as unknown as { claimRun: { done: Promise<number> } }).claimRun = { done: Promise.resolve(0) };
    const first = r.queue();
    r.delivery.wake();
    await r.timers.advance(STALL_POLLS * POLL);
    expect(r.transport.held).toEqual([]);
    await r.timers.advance(POLL);
    expect(r.delivery.counters.stalls).toBe(1);
    expect(r.transport.held).toEqual([first]);
    expect(r.log.errors()).toEqual([STALLED]);
    await r.delivery.stop();
  });

  it('does not take a busy worker (every slot held by slow receivers) or an idle one for a stalled one, and reads nothing extra for it', async () => {
    const r = rig({ concurrency: 2, timeoutMs: 30 * POLL });
    const held = [r.queue(), r.queue()];
    const waiting = [r.queue(), r.queue(), r.queue()];
    r.delivery.start(POLL);
    await settle();
    expect(r.transport.held).toEqual(held);
    // The waiting ones are due for twenty polls, but no slot is free: not a stall.
    await r.timers.advance(20 * POLL);
    expect(r.transport.held).toEqual(held);
    await r.transport.answerOpen(200);
    expect(r.transport.held).toEqual(waiting.slice(0, 2));
    await r.transport.answerOpen(200);
    await r.transport.answerOpen(200);
    // Idle, nothing due, for a long time.
    await r.timers.advance(50 * POLL);
    expect([r.delivery.counters.stalls, r.stalls(), r.outbox.oldestDueReads]).toEqual([0, [], 0]);
    expect([...r.outbox.rows.values()].every((n) => n.state === 'delivered')).toBe(true);
    await r.delivery.stop();
  });

  it('does not take a database outage (every claim failing, each logged) for a stall, and delivers once it is over', async () => {
    const r = rig({ concurrency: 2 });
    const first = r.queue();
    r.outbox.failClaims = 10;
    r.delivery.start(POLL);
    await settle();
    await r.timers.advance(9 * POLL);
    expect(r.log.errors()).toEqual(Array(10).fill('claiming logout notifications failed'));
    expect([r.delivery.counters.stalls, r.stalls(), r.transport.held]).toEqual([0, [], []]);
    await r.timers.advance(POLL);
    expect(r.transport.held).toEqual([first]);
    expect(r.delivery.counters.stalls).toBe(0);
    await r.delivery.stop();
  });

  it('logs a self-check that cannot read the outbox as a warning and carries on', async () => {
    const r = rig({ concurrency: 1 });
    r.outbox.holdNextClaim('before');
    r.delivery.start(POLL);
    r.queue();
    r.outbox.oldestDueAt = async () => {
      throw new Error('database is locked');
    };
    await r.timers.advance((STALL_POLLS + 1) * POLL);
    expect(r.log.lines.filter((line) => line.level !== 'info').map((line) => [line.level, line.message])).toEqual([
      ['warn', 'the logout delivery self-check could not read the outbox'],
    ]);
    expect(r.delivery.counters.stalls).toBe(0);
  });
});
