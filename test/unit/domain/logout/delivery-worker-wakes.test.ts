import { settle } from '../../../support/clock.js';
import { deliveryRig } from '../../../support/delivery.js';

// Every way the worker is woken (its poll, wake() after a session ends here, drain()), in each state it can be woken
// in: every slot busy, a claim in flight, stopped and started again. Whatever woke it, every due notification is
// attempted as soon as a slot is free, and later logouts on the same worker are delivered too: a wake in the wrong
// state once left the worker claiming nothing, for good.

const POLL = 1000;

const rig = (concurrency: number) => ({ ...deliveryRig({ concurrency }), drains: [] as Promise<unknown>[] });

type Rig = ReturnType<typeof rig>;

const wakers: [string, (rig: Rig) => Promise<void>][] = [
  ['its poll', (r) => r.timers.advance(POLL)],
  ['wake()', async (r) => {
    r.delivery.wake();
    await settle();
  }],
  ['drain()', async (r) => {
    r.drains.push(r.delivery.drain());
    await settle();
  }],
];

/**
 * Lets the receivers answer the requests open now (200), one round at a time, expecting the next round to be
 * `rounds[i]`: what the freed slots took at once, without waiting for a poll. Then a later logout on this worker is
 * delivered on its wake, a poll finds nothing left, every row is delivered, and every drain() resolves.
 */
async function expectServedInTurn(r: Rig, rounds: string[][]): Promise<void> {
  for (const next of rounds) {
    await r.transport.answerOpen(200);
    expect(r.transport.held).toEqual(next);
  }
  await r.transport.answerOpen(200);
  await r.expectLaterLogoutSent();
  await r.timers.advance(POLL);
  expect(r.transport.held).toEqual([]);
  expect([...r.outbox.rows.values()].filter((n) => n.state !== 'delivered').map((n) => n.id)).toEqual([]);
  await Promise.all(r.drains);
  expect(r.log.errors()).toEqual([]);
  await r.delivery.stop();
}

describe.each(wakers)('LogoutDelivery woken by %s', (_name, wakeBy) => {
  it('while every slot is busy: the notifications due wait for a slot, and each freed slot takes the next at once', async () => {
    const r = rig(1);
    const first = r.queue();
    r.delivery.start(POLL);
    await settle();
    expect(r.transport.held).toEqual([first]);
    const second = r.queue();
    const third = r.queue();
    await wakeBy(r);
    await r.timers.advance(3 * POLL);
    expect(r.transport.held).toEqual([first]);
    await expectServedInTurn(r, [[second], [third]]);
  });

  it('while a claim is in flight: the wake is not lost (the same claim loop looks again), and the worker carries on as time passes', async () => {
    const r = rig(2);
    const first = r.queue();
    const release = r.outbox.holdNextClaim();
    r.delivery.start(POLL);
    await settle();
    expect(r.outbox.claims).toBe(1);
    const second = r.queue();
    const third = r.queue();
    await wakeBy(r);
    release();
    await settle();
    // The claim in flight took only the first; the wake made the loop claim again for the free slot, before any poll.
    expect(r.transport.held).toEqual([first, second]);
    await r.timers.advance(3 * POLL);
    await expectServedInTurn(r, [[third]]);
  });

  it('after stop() and start(): nothing is claimed while stopped, and the started worker delivers what was abandoned and what came since', async () => {
    const r = rig(1);
    const first = r.queue();
    r.delivery.start(POLL);
    await settle();
    await r.delivery.stop();
    expect(r.transport.held).toEqual([]);
    const second = r.queue();
    await wakeBy(r);
    expect(r.transport.held).toEqual([]);
    r.delivery.start(POLL);
    await settle();
    expect(r.transport.held).toEqual([first]);
    await wakeBy(r);
    expect(r.transport.held).toEqual([first]);
    await expectServedInTurn(r, [[second]]);
    expect(r.outbox.rows.get('n1')!.attempts).toBe(1);
  });
});

describe('LogoutDelivery claim loop', () => {
  it('fills a slot that frees while a claim is in flight, in that same claim loop', async () => {
    const r = rig(2);
    const first = r.queue();
    r.delivery.start(POLL);
    await settle();
    const second = r.queue();
    const third = r.queue();
    const release = r.outbox.holdNextClaim();
    r.delivery.wake();
    await settle();
    expect(r.outbox.claims).toBe(2);
    // The first's slot frees while the claim (which took the second) is in flight.
    await r.transport.answerOpen(200);
    release();
    await settle();
    expect(r.transport.held).toEqual([second, third]);
    await expectServedInTurn(r, []);
  });

  it('gives back what a claim in flight at stop() returns, starts none of it, and resolves stop() without waiting for an answer', async () => {
    const r = rig(2);
    r.queue();
    r.queue();
    const release = r.outbox.holdNextClaim();
    r.delivery.start(POLL);
    await settle();
    let stopped = false;
    void r.delivery.stop().then(() => (stopped = true));
    release();
    await settle();
    expect(stopped).toBe(true);
    expect(r.transport.calls).toEqual([]);
    expect([...r.outbox.rows.values()].map((n) => [n.id, n.claimedBy, n.attempts])).toEqual([['n1', null, 0], ['n2', null, 0]]);
  });

  it('logs a claim that fails (the database) and claims again on the next wake', async () => {
    const r = rig(1);
    const first = r.queue();
    r.outbox.failClaims = 1;
    r.delivery.start(POLL);
    await settle();
    expect(r.log.errors()).toEqual(['claiming logout notifications failed']);
    expect(r.transport.held).toEqual([]);
    await r.timers.advance(POLL);
    expect(r.transport.held).toEqual([first]);
    r.log.lines.length = 0;
    await expectServedInTurn(r, []);
  });
});
