import { randomUUID } from 'node:crypto';
import type { NewAuditEvent } from '../../../src/domain/audit/audit.js';
import type { NewSession } from '../../../src/domain/sessions/session.js';
import { payloadKey } from '../../../src/store/prisma/payload-store.js';
import { SessionService } from '../../../src/domain/sessions/session-service.js';
import { PrismaAuditLog } from '../../../src/store/prisma/audit-log.js';
import { PrismaSessionIndex } from '../../../src/store/prisma/session-index.js';
import { breakInserts, committedNotifications } from '../../support/database-faults.js';
import { databaseKinds } from '../../support/databases.js';
import { openStoreDatabase, type StoreDatabase } from './store-database.js';

const AT = new Date('2026-03-01T10:00:00Z');
const LATER = new Date('2026-03-01T11:00:00Z');
const ADMIN = { type: 'admin' as const, id: 'ops-client', ip: '192.0.2.7', userAgent: 'curl/8' };

function newSession(id: string, userId: string, clientIds: string[]): NewSession {
  return {
    id,
    userId,
    createdAt: AT,
    lastSeenAt: AT,
    idleExpiresAt: new Date(AT.getTime() + 30 * 60_000),
    absoluteExpiresAt: new Date(AT.getTime() + 12 * 3600_000),
    ipCreated: '192.0.2.1',
    ipLastSeen: '192.0.2.1',
    userAgent: null,
    deviceLabel: 'Unknown device',
    amr: ['pwd'],
    acr: null,
    authTime: AT,
    passwordAt: AT,
    secondFactorAt: null,
    remember: false,
    clients: clientIds.map((clientId) => ({ clientId, sid: `sid-${id}-${clientId}`, grantId: `grant-${id}-${clientId}`, firstSeenAt: AT })),
  };
}

function endEvent(sessionId: string, userId: string): NewAuditEvent {
  return { at: LATER, type: 'session.revoked_by_admin', actor: ADMIN, userId, sessionId, clientId: null, details: null };
}

describe.each(databaseKinds())('PrismaSessionIndex ending sessions on %s', (kind) => {
  let store: StoreDatabase;
  let index: PrismaSessionIndex;

  beforeAll(async () => {
    store = await openStoreDatabase(kind);
    index = new PrismaSessionIndex(store.db);
    // Notifications are queued for clients registered with a back-channel logout URI; 'diary' has none.
    const metadata = (uri: string | null) => JSON.stringify({ redirectUris: [], postLogoutRedirectUris: [], backchannelLogoutUri: uri, grantTypes: [], tokenEndpointAuthMethod: 'none', jwksUri: null, scope: 'openid', idTokenSignedResponseAlg: 'RS256' });
    await store.db.client.createMany({
      data: [
        { clientId: 'notebook', name: 'Notebook', metadata: metadata('https://notebook.example/logout') },
        { clientId: 'calendar', name: 'Calendar', metadata: metadata('https://calendar.example/logout') },
        { clientId: 'diary', name: 'Diary', metadata: metadata(null) },
      ],
    });
  });

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(async () => {
    const { db } = store;
    await db.$transaction([db.logoutNotification.deleteMany(), db.auditEvent.deleteMany(), db.ssoSessionClient.deleteMany(), db.ssoSession.deleteMany(), db.oidcPayload.deleteMany()]);
  });

  /** A session as oidc-provider and the index leave it: the index rows, its Session, each client's Grant and tokens. */
  async function seed(id: string, userId: string, clientIds = ['notebook', 'calendar']): Promise<void> {
    const session = newSession(id, userId, clientIds);
    await index.create(session, { at: AT, type: 'session.created', actor: { type: 'user', id: userId }, userId, sessionId: id, clientId: null, details: null });
    await store.db.oidcPayload.createMany({
      data: [
        { model: 'Session', id: payloadKey(`cookie-${id}`), uid: id, payload: '{}' },
        ...session.clients.flatMap((c) => [
          { model: 'Grant', id: payloadKey(c.grantId!), payload: '{}' },
          { model: 'RefreshToken', id: payloadKey(randomUUID()), grantId: c.grantId, payload: '{}' },
          { model: 'AccessToken', id: payloadKey(randomUUID()), grantId: c.grantId, payload: '{}' },
        ]),
      ],
    });
  }

  /** Everything ending `id` must have produced or removed. */
  async function effects(id: string) {
    const { db } = store;
    const grantIds = (await db.ssoSessionClient.findMany({ where: { sessionId: id } })).map((c) => c.grantId!);
    return {
      session: await db.ssoSession.findUniqueOrThrow({ where: { id }, select: { endedAt: true, endReason: true } }),
      oidcSession: await db.oidcPayload.count({ where: { model: 'Session', uid: id } }),
      grants: await db.oidcPayload.count({ where: { model: 'Grant', id: { in: grantIds.map(payloadKey) } } }),
      tokens: await db.oidcPayload.count({ where: { grantId: { in: grantIds } } }),
      notifications: (await db.logoutNotification.findMany({ where: { sessionId: id }, orderBy: { clientId: 'asc' } })).map(({ id: _id, ...rest }) => rest),
      audit: (await db.auditEvent.findMany({ where: { sessionId: id, type: 'session.revoked_by_admin' } })).map(({ id: _id, ...rest }) => rest),
    };
  }

  function endedEffects(id: string, userId: string) {
    return {
      session: { endedAt: LATER, endReason: 'revoked_by_admin' },
      oidcSession: 0,
      grants: 0,
      tokens: 0,
      notifications: ['calendar', 'notebook'].map((clientId) => ({
        sessionId: id, userId, clientId, sid: `sid-${id}-${clientId}`, reason: 'revoked_by_admin', state: 'pending', createdAt: LATER,
        attempts: 0, nextAttemptAt: LATER, claimedBy: null, claimedUntil: null, lastAttemptAt: null, lastError: null, deliveredAt: null, failedAt: null,
      })),
      audit: [{
        at: LATER, type: 'session.revoked_by_admin', actorType: 'admin', actorId: 'ops-client', userId, sessionId: id, clientId: null,
        ip: '192.0.2.7', userAgent: 'curl/8', details: null,
      }],
    };
  }

  it('end() ends a session with every effect, once', async () => {
    await seed('s1', 'u1', ['notebook', 'calendar', 'diary']);
    await seed('s2', 'u1');
    expect(await index.end({ sessionId: 's1', reason: 'revoked_by_admin', at: LATER, audit: endEvent('s1', 'u1') })).toBe(true);
    expect(await effects('s1')).toEqual(endedEffects('s1', 'u1'));
    expect(await index.end({ sessionId: 's1', reason: 'revoked_by_admin', at: LATER, audit: endEvent('s1', 'u1') })).toBe(false);
    expect(await effects('s1')).toEqual(endedEffects('s1', 'u1'));
    // The other session kept everything.
    expect(await effects('s2')).toMatchObject({ session: { endedAt: null }, oidcSession: 1, grants: 2, tokens: 4, notifications: [], audit: [] });
  });

  it('runs onHandOff after a transaction that queued notifications has committed', async () => {
    // What another connection (another process's worker) can see when the hand-off runs: the rows must be committed.
    const seen: number[] = [];
    const notifying = new PrismaSessionIndex(store.db, { onHandOff: () => seen.push(committedNotifications(store.database, 'w1')) });
    await seed('w1', 'u9');
    expect(await notifying.end({ sessionId: 'w1', reason: 'revoked_by_admin', at: LATER, audit: endEvent('w1', 'u9') })).toBe(true);
    expect(seen).toEqual([2]);
    expect(await notifying.end({ sessionId: 'w1', reason: 'revoked_by_admin', at: LATER, audit: endEvent('w1', 'u9') })).toBe(false);
    expect(seen).toEqual([2]);
  });

  it('rolls the whole end back when the outbox insert fails: the session stays live, nothing is half-written', async () => {
    let handOffs = 0;
    const notifying = new PrismaSessionIndex(store.db, { onHandOff: () => (handOffs += 1) });
    await seed('r1', 'u8');
    await seed('r2', 'u8');
    const live = await effects('r1');
    const repair = await breakInserts(store.db, kind, 'LogoutNotification');
    try {
      await expect(notifying.end({ sessionId: 'r1', reason: 'revoked_by_admin', at: LATER, audit: endEvent('r1', 'u8') })).rejects.toThrow(/logoutNotification.createMany|LogoutNotification is unavailable/);
      await expect(notifying.endMany({ reason: 'revoked_by_admin', at: LATER, sessions: ['r1', 'r2'].map((id) => ({ sessionId: id, audit: endEvent(id, 'u8') })) })).rejects.toThrow(/logoutNotification.createMany|LogoutNotification is unavailable/);
    } finally {
      await repair();
    }
    expect(live).toMatchObject({ session: { endedAt: null }, oidcSession: 1, grants: 2, tokens: 4, notifications: [], audit: [] });
    expect(await effects('r1')).toEqual(live);
    expect(await effects('r2')).toEqual({ ...live, notifications: [], audit: [] });
    expect(handOffs).toBe(0);
    // Once the database takes inserts again, the same end goes through with every effect.
    expect(await notifying.end({ sessionId: 'r1', reason: 'revoked_by_admin', at: LATER, audit: endEvent('r1', 'u8') })).toBe(true);
    expect(await effects('r1')).toEqual(endedEffects('r1', 'u8'));
    expect(handOffs).toBe(1);
  });

  it('update() leaves an ended session as it ended: no client joins it, nothing changes', async () => {
    await seed('e1', 'u7', ['notebook']);
    await index.end({ sessionId: 'e1', reason: 'revoked_by_admin', at: LATER, audit: endEvent('e1', 'u7') });
    const before = await store.db.ssoSession.findUniqueOrThrow({ where: { id: 'e1' }, include: { clients: true } });
    const joined = await index.update('e1', {
      lastSeenAt: LATER, idleExpiresAt: LATER, absoluteExpiresAt: LATER, ipLastSeen: '192.0.2.99', amr: ['pwd'], acr: null, authTime: AT, passwordAt: AT,
      secondFactorAt: null, remember: false, addClients: [{ clientId: 'calendar', sid: 'sid-late', grantId: 'grant-late', firstSeenAt: LATER }], removeClients: [],
    }, { ...endEvent('e1', 'u7'), type: 'session.refreshed' }, LATER);
    expect(joined).toBe(false);
    expect(await store.db.ssoSession.findUniqueOrThrow({ where: { id: 'e1' }, include: { clients: true } })).toEqual(before);
    expect(await store.db.auditEvent.count({ where: { sessionId: 'e1', type: 'session.refreshed' } })).toBe(0);
  });

  it('recordSave does not attach a client to a session that ended after it was read (a concurrent end)', async () => {
    await seed('c1', 'u6', ['notebook']);
    // The end lands between recordSave's read of the session and its update, as a revocation in another request can.
    class EndsAfterRead extends PrismaSessionIndex {
      override async find(id: string) {
        const found = await super.find(id);
        await super.end({ sessionId: id, reason: 'revoked_by_admin', at: LATER, audit: endEvent(id, 'u6') });
        return found;
      }
    }
    const clock = { now: () => new Date(AT.getTime() + 60_000) };
    const sessions = new SessionService({
      index: new EndsAfterRead(store.db),
      audit: new PrismaAuditLog(store.db),
      clock,
      deviceLabel: () => 'Unknown device',
      policy: { idleTimeoutMs: 30 * 60_000, absoluteLifetimeMs: 12 * 3600_000, rememberIdleTimeoutMs: 7 * 86_400_000, rememberAbsoluteLifetimeMs: 30 * 86_400_000, limit: 0, limitPolicy: 'evict-oldest', reauthenticationMaxAgeMs: 300_000 },
    });
    const decision = await sessions.recordSave({
      uid: 'c1', accountId: 'u6', loginTs: AT.getTime() / 1000, amr: ['pwd'], acr: undefined, transient: true,
      authorizations: { notebook: { sid: 'sid-c1-notebook', grantId: 'grant-c1-notebook' }, calendar: { sid: 'sid-c1-calendar', grantId: 'grant-c1-calendar' } },
    }, { ip: null, userAgent: null });
    expect(decision).toEqual({ store: false });
    expect((await store.db.ssoSessionClient.findMany({ where: { sessionId: 'c1' } })).map((c) => c.clientId)).toEqual(['notebook']);
    // The client that was told is the one that was in the session when it ended.
    expect((await effects('c1')).notifications.map((n) => n.clientId)).toEqual(['notebook']);
  });

  it('endMany() gives each session exactly what end() gives it, across batches, skipping those already ended', async () => {
    const ids = Array.from({ length: 450 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    for (const id of ids) await seed(id, 'u2');
    await seed('elsewhere', 'u3');
    // Two had ended before (with another reason), and one id is unknown.
    await index.end({ sessionId: ids[10]!, reason: 'logged_out', at: AT, audit: { ...endEvent(ids[10]!, 'u2'), type: 'session.logged_out' } });
    await index.end({ sessionId: ids[300]!, reason: 'logged_out', at: AT, audit: { ...endEvent(ids[300]!, 'u2'), type: 'session.logged_out' } });
    const notificationsBefore = await store.db.logoutNotification.count();

    const requested = [...ids, 'no-such-session'];
    const ended = await index.endMany({ reason: 'revoked_by_admin', at: LATER, sessions: requested.map((id) => ({ sessionId: id, audit: endEvent(id, 'u2') })) });

    expect(ended).toEqual(ids.filter((id) => id !== ids[10] && id !== ids[300]));
    for (const id of [ids[0]!, ids[199]!, ids[200]!, ids[449]!]) expect(await effects(id)).toEqual(endedEffects(id, 'u2'));
    expect(await store.db.logoutNotification.count()).toBe(notificationsBefore + ended.length * 2);
    expect(await store.db.auditEvent.count({ where: { type: 'session.revoked_by_admin' } })).toBe(ended.length);
    expect(await store.db.ssoSession.count({ where: { userId: 'u2', endedAt: null } })).toBe(0);
    // Those that had ended keep their end; nothing was added for them.
    expect(await effects(ids[10]!)).toMatchObject({ session: { endedAt: AT, endReason: 'logged_out' }, audit: [] });
    expect((await effects(ids[10]!)).notifications.map((n) => n.reason)).toEqual(['logged_out', 'logged_out']);
    // Another user's session is untouched.
    expect(await effects('elsewhere')).toMatchObject({ session: { endedAt: null }, oidcSession: 1, grants: 2, tokens: 4, notifications: [] });

    expect(await index.endMany({ reason: 'revoked_by_admin', at: LATER, sessions: ids.map((id) => ({ sessionId: id, audit: endEvent(id, 'u2') })) })).toEqual([]);
    expect(await index.endMany({ reason: 'revoked_by_admin', at: LATER, sessions: [] })).toEqual([]);
  });
});
