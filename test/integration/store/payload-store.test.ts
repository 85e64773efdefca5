import type { PayloadStore } from '../../../src/domain/sessions/payload-store.js';
import { payloadKey, PrismaPayloadStore } from '../../../src/store/prisma/payload-store.js';
import { TestClock } from '../../support/clock.js';
import { databaseKinds } from '../../support/databases.js';
import { openStoreDatabase, type StoreDatabase } from './store-database.js';

const MINUTE = 60_000;

describe.each(databaseKinds())('PrismaPayloadStore on %s', (kind) => {
  let store: StoreDatabase;
  let payloads: PayloadStore;
  let clock: TestClock;

  beforeAll(async () => {
    store = await openStoreDatabase(kind);
    payloads = new PrismaPayloadStore(store.db);
  });

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(async () => {
    await store.truncate();
    clock = new TestClock(new Date('2026-03-01T12:00:00.000Z'));
  });

  const inMinutes = (minutes: number) => new Date(clock.now().getTime() + minutes * MINUTE);

  it('returns what was stored, JSON and all', async () => {
    const payload = { accountId: 'u1', scope: 'openid email', nested: { claims: ['email'], n: 1.5, flag: true, none: null }, text: 'ünïcødé "quoted"' };
    await payloads.upsert('Session', 's1', payload, inMinutes(10), {});
    // The id comes back as jti, from the caller's id: the row itself holds neither.
    expect(await payloads.find('Session', 's1', clock.now())).toEqual({ payload: { ...payload, jti: 's1' }, consumedAt: null, expiresAt: inMinutes(10) });
  });

  it('replaces the payload, expiry and index on a second upsert of the same id', async () => {
    await payloads.upsert('Session', 's1', { v: 1 }, inMinutes(1), { uid: 'uid-1', grantId: 'g1' });
    await payloads.upsert('Session', 's1', { v: 2 }, inMinutes(60), { uid: 'uid-2' });
    clock.advance(30 * MINUTE);
    expect((await payloads.find('Session', 's1', clock.now()))?.payload).toEqual({ v: 2, jti: 's1' });
    expect(await payloads.findByUid('Session', 'uid-1', clock.now())).toBeUndefined();
    expect((await payloads.findByUid('Session', 'uid-2', clock.now()))?.payload).toEqual({ v: 2 });
    // The grant index was replaced too: revoking the old grant leaves the row alone.
    await payloads.revokeByGrantId('g1');
    expect(await payloads.find('Session', 's1', clock.now())).toBeDefined();
  });

  it('returns undefined for an id it does not have', async () => {
    expect(await payloads.find('Session', 'missing', clock.now())).toBeUndefined();
  });

  it('keeps a row without expiry forever', async () => {
    await payloads.upsert('Grant', 'g1', { v: 1 }, null, {});
    clock.advance(10 * 365 * 24 * 60 * MINUTE);
    expect(await payloads.find('Grant', 'g1', clock.now())).toBeDefined();
    expect(await payloads.purgeExpired(clock.now())).toBe(0);
  });

  it('never returns an expired row, from any lookup', async () => {
    await payloads.upsert('Interaction', 'i1', { v: 1 }, inMinutes(10), { uid: 'uid-1', userCode: 'CODE-1' });
    clock.advance(10 * MINUTE - 1);
    expect(await payloads.find('Interaction', 'i1', clock.now())).toBeDefined();
    expect(await payloads.findByUid('Interaction', 'uid-1', clock.now())).toBeDefined();
    expect(await payloads.findByUserCode('Interaction', 'CODE-1', clock.now())).toBeDefined();
    clock.advance(1);
    expect(await payloads.find('Interaction', 'i1', clock.now())).toBeUndefined();
    expect(await payloads.findByUid('Interaction', 'uid-1', clock.now())).toBeUndefined();
    expect(await payloads.findByUserCode('Interaction', 'CODE-1', clock.now())).toBeUndefined();
  });

  it('purges expired rows only, and says how many', async () => {
    await payloads.upsert('AccessToken', 'expired-1', { v: 1 }, inMinutes(1), {});
    await payloads.upsert('AuthorizationCode', 'expired-2', { v: 1 }, inMinutes(2), {});
    await payloads.upsert('AccessToken', 'live', { v: 1 }, inMinutes(60), {});
    await payloads.upsert('Grant', 'forever', { v: 1 }, null, {});
    clock.advance(2 * MINUTE);
    expect(await payloads.purgeExpired(clock.now())).toBe(2);
    expect(await store.db.oidcPayload.count()).toBe(2);
    expect(await payloads.find('AccessToken', 'live', clock.now())).toBeDefined();
    expect(await payloads.find('Grant', 'forever', clock.now())).toBeDefined();
    expect(await payloads.purgeExpired(clock.now())).toBe(0);
  });

  it('keeps models apart: the same id, uid or user code in another model is another row', async () => {
    await payloads.upsert('AccessToken', 'same-id', { model: 'AccessToken' }, inMinutes(10), { uid: 'same-uid', userCode: 'SAME-CODE' });
    await payloads.upsert('RefreshToken', 'same-id', { model: 'RefreshToken' }, inMinutes(10), { uid: 'same-uid', userCode: 'SAME-CODE' });
    const now = clock.now();
    expect((await payloads.find('AccessToken', 'same-id', now))?.payload).toEqual({ model: 'AccessToken', jti: 'same-id' });
    expect((await payloads.find('RefreshToken', 'same-id', now))?.payload).toEqual({ model: 'RefreshToken', jti: 'same-id' });
    expect((await payloads.findByUid('RefreshToken', 'same-uid', now))?.payload).toEqual({ model: 'RefreshToken' });
    expect((await payloads.findByUserCode('AccessToken', 'SAME-CODE', now))?.payload).toEqual({ model: 'AccessToken' });
    expect(await payloads.find('Session', 'same-id', now)).toBeUndefined();
    expect(await payloads.findByUid('Session', 'same-uid', now)).toBeUndefined();
    expect(await payloads.findByUserCode('DeviceCode', 'SAME-CODE', now)).toBeUndefined();
  });

  it('consumes once: the first time is kept, and other rows are not touched', async () => {
    await payloads.upsert('AuthorizationCode', 'c1', { v: 1 }, inMinutes(1), {});
    await payloads.upsert('AuthorizationCode', 'c2', { v: 1 }, inMinutes(1), {});
    await payloads.upsert('RefreshToken', 'c1', { v: 1 }, inMinutes(1), {});
    const first = clock.now();
    await payloads.consume('AuthorizationCode', 'c1', first);
    clock.advance(5_000);
    await payloads.consume('AuthorizationCode', 'c1', clock.now());
    expect((await payloads.find('AuthorizationCode', 'c1', clock.now()))?.consumedAt).toEqual(first);
    expect((await payloads.find('AuthorizationCode', 'c2', clock.now()))?.consumedAt).toBeNull();
    expect((await payloads.find('RefreshToken', 'c1', clock.now()))?.consumedAt).toBeNull();
  });

  it('keeps millisecond precision on consumption times', async () => {
    await payloads.upsert('AuthorizationCode', 'c1', { v: 1 }, inMinutes(1), {});
    const at = new Date('2026-03-01T12:00:00.123Z');
    await payloads.consume('AuthorizationCode', 'c1', at);
    expect((await payloads.find('AuthorizationCode', 'c1', clock.now()))?.consumedAt).toEqual(at);
  });

  it('does not create a row when consuming a missing one', async () => {
    await payloads.consume('AuthorizationCode', 'missing', clock.now());
    expect(await store.db.oidcPayload.count()).toBe(0);
  });

  it('destroys one row, and destroying a missing row is not an error', async () => {
    await payloads.upsert('Session', 's1', { v: 1 }, inMinutes(10), {});
    await payloads.upsert('Session', 's2', { v: 1 }, inMinutes(10), {});
    await payloads.destroy('Session', 's1');
    expect(await payloads.find('Session', 's1', clock.now())).toBeUndefined();
    expect(await payloads.find('Session', 's2', clock.now())).toBeDefined();
    await expect(payloads.destroy('Session', 's1')).resolves.toBeUndefined();
    await expect(payloads.destroy('Nothing', 'never-existed')).resolves.toBeUndefined();
  });

  it('revokes every artifact of a grant, in every model, and nothing else', async () => {
    for (const model of ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'Grant']) {
      await payloads.upsert(model, `${model}-a`, { grantId: 'grant-a' }, inMinutes(10), { grantId: 'grant-a' });
      await payloads.upsert(model, `${model}-b`, { grantId: 'grant-b' }, inMinutes(10), { grantId: 'grant-b' });
    }
    await payloads.upsert('Session', 'session', { v: 1 }, inMinutes(10), {});
    await payloads.revokeByGrantId('grant-a');
    const left = await store.db.oidcPayload.findMany({ select: { model: true, id: true } });
    expect(left.map((r) => r.id).sort()).toEqual(['AccessToken-b', 'AuthorizationCode-b', 'Grant-b', 'RefreshToken-b', 'session'].map(payloadKey).sort());
    await expect(payloads.revokeByGrantId('no-such-grant')).resolves.toBeUndefined();
  });
});

describe.each(databaseKinds())('what PrismaPayloadStore keeps at rest on %s', (kind) => {
  let store: StoreDatabase;

  beforeAll(async () => {
    store = await openStoreDatabase(kind);
  });

  afterAll(async () => {
    await store?.close();
  });

  it('keys rows by a hash of the id and stores neither the id nor an interaction\'s session cookie', async () => {
    const clock = new TestClock();
    const payloads = new PrismaPayloadStore(store.db);
    const cookie = 'session-cookie-value-0123456789';
    const token = 'bearer-token-value-0123456789';
    await payloads.upsert('Session', cookie, { jti: cookie, uid: 'u-1', accountId: 'a' }, null, { uid: 'u-1' });
    await payloads.upsert('AccessToken', token, { jti: token, accountId: 'a' }, null, {});
    await payloads.upsert('Interaction', 'i-1', { jti: 'i-1', session: { uid: 'u-1', cookie, accountId: 'a' } }, null, { uid: 'i-1' });
    const raw = JSON.stringify(await store.db.oidcPayload.findMany());
    expect(raw).not.toContain(cookie);
    expect(raw).not.toContain(token);
    expect((await payloads.find('Session', cookie, clock.now()))!.payload).toMatchObject({ jti: cookie, uid: 'u-1' });
    expect((await payloads.find('AccessToken', token, clock.now()))!.payload.jti).toBe(token);
    expect((await payloads.find('Interaction', 'i-1', clock.now()))!.payload.session).toEqual({ uid: 'u-1', accountId: 'a' });
  });
});
