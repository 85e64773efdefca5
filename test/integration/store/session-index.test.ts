import { randomUUID } from 'node:crypto';
import type { NewAuditEvent } from '../../../src/domain/audit/audit.js';
import type { NewSession } from '../../../src/domain/sessions/session.js';
import { payloadKey } from '../../../src/store/prisma/payload-store.js';
import { PrismaSessionIndex } from '../../../src/store/prisma/session-index.js';
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
    let calls = 0;
    const notifying = new PrismaSessionIndex(store.db, { onHandOff: () => (calls += 1) });
    await seed('w1', 'u9');
    expect(await notifying.end({ sessionId: 'w1', reason: 'revoked_by_admin', at: LATER, audit: endEvent('w1', 'u9') })).toBe(true);
    expect(calls).toBe(1);
    expect(await notifying.end({ sessionId: 'w1', reason: 'revoked_by_admin', at: LATER, audit: endEvent('w1', 'u9') })).toBe(false);
    expect(calls).toBe(1);
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
