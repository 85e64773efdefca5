import { randomUUID } from 'node:crypto';
import type { NewAuditEvent } from '../../../src/domain/audit/audit.js';
import type { LogoutNotification } from '../../../src/domain/logout/logout-notification.js';
import { PrismaLogoutOutbox } from '../../../src/store/prisma/logout-outbox.js';
import { breakInserts } from '../../support/database-faults.js';
import { databaseKinds } from '../../support/databases.js';
import { expectOldestDueAtContract } from '../../support/outbox-contract.js';
import { openStoreDatabase, type StoreDatabase } from './store-database.js';

const T0 = new Date('2026-03-01T10:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const retriedEvent = (n: LogoutNotification): NewAuditEvent => ({
  at: at(10), type: 'logout.delivery_retried', actor: { type: 'admin', id: 'cli' }, userId: n.userId, sessionId: n.sessionId, clientId: n.clientId, details: { notification_id: n.id },
});

describe.each(databaseKinds())('PrismaLogoutOutbox on %s', (kind) => {
  let store: StoreDatabase;
  let outbox: PrismaLogoutOutbox;

  beforeAll(async () => {
    store = await openStoreDatabase(kind);
    outbox = new PrismaLogoutOutbox(store.db, kind);
  });

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(async () => {
    await store.db.$transaction([store.db.logoutNotification.deleteMany(), store.db.auditEvent.deleteMany()]);
  });

  async function queue(count: number, due = T0, clientPrefix = 'client'): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    await store.db.logoutNotification.createMany({
      data: ids.map((id, i) => ({ id, sessionId: 's1', userId: 'u1', clientId: `${clientPrefix}-${i}`, sid: `sid-${i}`, reason: 'revoked_by_admin', createdAt: T0, nextAttemptAt: due })),
    });
    return ids;
  }

  it('claims due, unclaimed pending rows only, up to the limit, oldest due first', async () => {
    const [first, second] = await queue(2, T0);
    await queue(1, at(60), 'later');
    const claimed = await outbox.claimDue({ now: at(1), limit: 1, workerId: 'w1', leaseUntil: at(61) });
    expect(claimed).toHaveLength(1);
    expect([first, second]).toContain(claimed[0]!.id);
    expect(claimed[0]).toMatchObject({ state: 'pending', claimedBy: 'w1', claimedUntil: at(61), attempts: 0 });
    // The claimed row is held; the other due one is claimable; the one due later is not.
    const rest = await outbox.claimDue({ now: at(1), limit: 10, workerId: 'w2', leaseUntil: at(61) });
    expect(rest.map((n) => n.id)).toEqual([first, second].filter((id) => id !== claimed[0]!.id));
    expect(await outbox.claimDue({ now: at(1), limit: 10, workerId: 'w3', leaseUntil: at(61) })).toEqual([]);
  });

  it('tells when the longest-waiting claimable row fell due (the self-check), hiding live claims and settled rows', async () => {
    await expectOldestDueAtContract(outbox, T0, async (due) => {
      const ids: string[] = [];
      for (const [i, nextAttemptAt] of due.entries()) ids.push(...(await queue(1, nextAttemptAt, `due-${i}`)));
      return ids;
    });
  });

  it('lets another worker take over a row whose lease ran out (the first worker died mid-delivery)', async () => {
    const [id] = await queue(1);
    await outbox.claimDue({ now: at(0), limit: 10, workerId: 'dead', leaseUntil: at(60) });
    expect(await outbox.claimDue({ now: at(59), limit: 10, workerId: 'w2', leaseUntil: at(119) })).toEqual([]);
    const taken = await outbox.claimDue({ now: at(61), limit: 10, workerId: 'w2', leaseUntil: at(121) });
    expect(taken.map((n) => n.id)).toEqual([id]);
    // The dead worker's late result is not recorded over the new claim.
    expect(await outbox.settle(id!, 'dead', { state: 'delivered', attempts: 1, at: at(62) })).toBe(false);
    expect(await outbox.settle(id!, 'w2', { state: 'delivered', attempts: 1, at: at(63) })).toBe(true);
    expect(await outbox.find(id!)).toMatchObject({ state: 'delivered', deliveredAt: at(63), attempts: 1, claimedBy: null, claimedUntil: null, lastError: null });
  });

  it('settles retries and failures (the failure with its audit event in the same transaction)', async () => {
    const [retried, failed] = await queue(2);
    await outbox.claimDue({ now: at(0), limit: 10, workerId: 'w', leaseUntil: at(60) });
    await outbox.settle(retried!, 'w', { state: 'pending', attempts: 1, at: at(1), nextAttemptAt: at(6), lastError: 'HTTP 500' });
    await outbox.settle(failed!, 'w', { state: 'failed', attempts: 1, at: at(1), lastError: 'destination refused' }, {
      at: at(1), type: 'logout.delivery_failed', actor: { type: 'system', id: null }, userId: 'u1', sessionId: 's1', clientId: 'client-1', details: { notification_id: failed },
    });
    expect(await outbox.find(retried!)).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAt: at(6), lastAttemptAt: at(1), lastError: 'HTTP 500', claimedBy: null });
    expect(await outbox.find(failed!)).toMatchObject({ state: 'failed', failedAt: at(1), lastError: 'destination refused' });
    expect(await store.db.auditEvent.count({ where: { type: 'logout.delivery_failed', clientId: 'client-1' } })).toBe(1);
    expect((await outbox.claimDue({ now: at(5), limit: 10, workerId: 'w', leaseUntil: at(65) })).map((n) => n.id)).toEqual([]);
    expect((await outbox.claimDue({ now: at(6), limit: 10, workerId: 'w', leaseUntil: at(66) })).map((n) => n.id)).toEqual([retried]);
    // release gives a claim back at once; requeue makes a failed one due again.
    await outbox.release(retried!, 'w');
    expect(await outbox.find(retried!)).toMatchObject({ claimedBy: null, claimedUntil: null, attempts: 1 });
    expect(await outbox.requeue(failed!, at(10), retriedEvent)).toMatchObject({ state: 'pending', nextAttemptAt: at(10), failedAt: null, attempts: 1 });
    expect(await store.db.auditEvent.findMany({ where: { type: 'logout.delivery_retried' } })).toMatchObject([{ clientId: 'client-1', sessionId: 's1', details: JSON.stringify({ notification_id: failed }) }]);
    expect((await outbox.list({ state: 'pending', limit: 10 })).map((n) => n.id).sort()).toEqual([retried, failed].sort());
    expect(await outbox.list({ clientId: 'client-1', limit: 10 })).toHaveLength(1);
    expect(await outbox.list({ sessionId: 'other', limit: 10 })).toEqual([]);
  });

  it('does not requeue a delivered notification', async () => {
    const [id] = await queue(1);
    await outbox.claimDue({ now: at(0), limit: 1, workerId: 'w', leaseUntil: at(60) });
    await outbox.settle(id!, 'w', { state: 'delivered', attempts: 1, at: at(1) });
    expect(await outbox.requeue(id!, at(2), retriedEvent)).toBeUndefined();
    expect(await outbox.requeue('no-such-id', at(2), retriedEvent)).toBeUndefined();
    expect(await store.db.auditEvent.count({ where: { type: 'logout.delivery_retried' } })).toBe(0);
  });

  it('keeps a notification as it was when the audit event of its retry cannot be saved', async () => {
    const [id] = await queue(1);
    await outbox.claimDue({ now: at(0), limit: 1, workerId: 'w', leaseUntil: at(60) });
    await outbox.settle(id!, 'w', { state: 'failed', attempts: 1, at: at(1), lastError: 'HTTP 500' });
    const repair = await breakInserts(store.db, kind, 'AuditEvent');
    try {
      await expect(outbox.requeue(id!, at(2), retriedEvent)).rejects.toThrow();
    } finally {
      await repair();
    }
    expect(await outbox.find(id!)).toMatchObject({ state: 'failed', failedAt: at(1) });
  });

  it('never gives one row to two concurrent claimers', async () => {
    const ids = await queue(120);
    // Separate clients (connection pools) claim at the same moment, repeatedly, like several Gatehouse processes.
    const { createDb } = await import('../../../src/store/prisma/database.js');
    const others = [createDb(store.database), createDb(store.database), createDb(store.database)];
    try {
      const claimers = [outbox, ...others.map((db) => new PrismaLogoutOutbox(db, kind))];
      const got = await Promise.all(
        claimers.map(async (claimer, i) => {
          const mine: string[] = [];
          for (let round = 0; round < 10; round += 1) {
            mine.push(...(await claimer.claimDue({ now: at(1), limit: 7, workerId: `w${i}`, leaseUntil: at(61) })).map((n) => n.id));
          }
          return mine;
        }),
      );
      const all = got.flat();
      expect(new Set(all).size).toBe(all.length);
      expect(all.sort()).toEqual([...ids].sort());
      for (const [i, mine] of got.entries()) {
        const rows = await store.db.logoutNotification.findMany({ where: { id: { in: mine } } });
        expect(rows.every((r) => r.claimedBy === `w${i}`)).toBe(true);
      }
    } finally {
      await Promise.all(others.map((db) => db.$disconnect()));
    }
  });
});
