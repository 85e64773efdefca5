import type { LogoutOutbox } from '../../src/domain/logout/logout-notification.js';

/**
 * What oldestDueAt promises, for any LogoutOutbox: the due time of the longest-waiting row claimDue would take now
 * (pending, due, no live claim). `queue` adds pending rows created at `created` and due at the given times, returning
 * their ids in that order.
 */
export async function expectOldestDueAtContract(outbox: LogoutOutbox, created: Date, queue: (due: Date[]) => Promise<string[]>): Promise<void> {
  const at = (seconds: number) => new Date(created.getTime() + seconds * 1000);
  expect(await outbox.oldestDueAt(at(0))).toBeUndefined();
  const [first, second] = await queue([at(20), at(10), at(30)]);
  // Not due yet; then the oldest due, whatever the order they were queued in.
  expect(await outbox.oldestDueAt(at(5))).toBeUndefined();
  expect(await outbox.oldestDueAt(at(25))).toEqual(at(10));
  // A live claim hides a row; its lease running out shows it again.
  expect((await outbox.claimDue({ now: at(25), limit: 1, workerId: 'w1', leaseUntil: at(85) })).map((n) => n.id)).toEqual([second]);
  expect(await outbox.oldestDueAt(at(25))).toEqual(at(20));
  expect(await outbox.oldestDueAt(at(86))).toEqual(at(10));
  // Settled rows are not waiting, delivered or failed; a retry waits from its new due time.
  expect((await outbox.claimDue({ now: at(26), limit: 1, workerId: 'w1', leaseUntil: at(86) })).map((n) => n.id)).toEqual([first]);
  await outbox.settle(second!, 'w1', { state: 'delivered', attempts: 1, at: at(26) });
  await outbox.settle(first!, 'w1', { state: 'pending', attempts: 1, at: at(26), nextAttemptAt: at(40), lastError: 'HTTP 500' });
  expect(await outbox.oldestDueAt(at(35))).toEqual(at(30));
  expect(await outbox.oldestDueAt(at(86))).toEqual(at(30));
  expect((await outbox.claimDue({ now: at(86), limit: 1, workerId: 'w1', leaseUntil: at(146) })).map((n) => n.id)).toHaveLength(1);
  await outbox.settle((await outbox.list({ state: 'pending', limit: 10 })).find((n) => n.claimedBy === 'w1')!.id, 'w1', { state: 'failed', attempts: 1, at: at(86), lastError: 'HTTP 500' });
  expect(await outbox.oldestDueAt(at(86))).toEqual(at(40));
}
