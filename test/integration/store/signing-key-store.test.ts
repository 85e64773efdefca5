import { SecretMismatchError } from '../../../src/domain/errors.js';
import { SigningKeyService } from '../../../src/domain/keys/signing-keys.js';
import { AesGcmSecretBox } from '../../../src/infra/secret-box.js';
import { PrismaSigningKeyStore } from '../../../src/store/prisma/signing-key-store.js';
import { TestClock } from '../../support/clock.js';
import { databaseKinds } from '../../support/databases.js';
import { openStoreDatabase, type StoreDatabase } from './store-database.js';

const SECRET = 'store-test-secret-with-enough-characters-0123';
const DAY = 24 * 3600 * 1000;

describe.each(databaseKinds())('PrismaSigningKeyStore on %s', (kind) => {
  let store: StoreDatabase;
  let keyStore: PrismaSigningKeyStore;
  let clock: TestClock;
  let keys: SigningKeyService;

  beforeAll(async () => {
    store = await openStoreDatabase(kind);
    keyStore = new PrismaSigningKeyStore(store.db, new AesGcmSecretBox(SECRET));
  });

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(async () => {
    await store.truncate();
    clock = new TestClock(new Date('2026-03-01T12:00:00.000Z'));
    keys = new SigningKeyService(keyStore, clock);
  });

  it('keeps private keys encrypted at rest and public keys readable', async () => {
    await keys.ensureKeys();
    const [withPrivate, rows] = await Promise.all([keyStore.listWithPrivate(), store.db.signingKey.findMany()]);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const key = withPrivate.find((k) => k.kid === row.kid)!;
      const d = key.privateJwk.d!;
      expect(d.length).toBeGreaterThan(20);
      expect(row.privateJwkEncrypted).not.toContain(d);
      expect(row.privateJwkEncrypted).not.toContain('"d"');
      expect(row.publicJwk).not.toContain(d);
      expect(JSON.parse(row.publicJwk)).toEqual(key.publicJwk);
      expect(JSON.parse(new AesGcmSecretBox(SECRET).open(row.privateJwkEncrypted))).toEqual(key.privateJwk);
    }
  });

  it('refuses to open the keys with another GATEHOUSE_SECRET', async () => {
    await keys.ensureKeys();
    const other = new PrismaSigningKeyStore(store.db, new AesGcmSecretBox('a-different-secret-with-enough-characters-99'));
    await expect(other.listWithPrivate()).rejects.toThrow(SecretMismatchError);
    // Public keys stay listable, so an operator can still see what is there.
    expect(await other.list()).toHaveLength(2);
  });

  it('creates keys once across restarts', async () => {
    expect(await keys.ensureKeys()).toHaveLength(2);
    const restarted = new SigningKeyService(new PrismaSigningKeyStore(store.db, new AesGcmSecretBox(SECRET)), clock);
    expect(await restarted.ensureKeys()).toEqual([]);
    expect(await store.db.signingKey.count()).toBe(2);
  });

  it('retires the replaced keys and lists newest first', async () => {
    const first = await keys.ensureKeys();
    clock.advance(DAY);
    const second = (await keys.rotate()).map((k) => k.kid);
    const list = await keyStore.list();
    expect(list.slice(0, 2).map((k) => k.kid).sort()).toEqual([...second].sort());
    for (const key of list) {
      expect(key.retiredAt).toEqual(first.includes(key.kid) ? clock.now() : null);
      expect(key.createdAt).toEqual(first.includes(key.kid) ? new Date('2026-03-01T12:00:00.000Z') : clock.now());
    }
  });

  it('publishes the current keys first and drops retired ones after seven days', async () => {
    const first = await keys.ensureKeys();
    clock.advance(DAY);
    const second = (await keys.rotate()).map((k) => k.kid);
    expect((await keys.signingJwks()).keys.map((k) => k.kid).slice(0, 2).sort()).toEqual([...second].sort());
    clock.advance(7 * DAY);
    const published = (await keys.signingJwks()).keys.map((k) => k.kid);
    expect(published.sort()).toEqual([...second].sort());
    for (const kid of first) expect(published).not.toContain(kid);
  });

  it('inserts and retires in one transaction', async () => {
    const [kid] = await keys.ensureKeys();
    const existing = (await keyStore.listWithPrivate()).find((k) => k.kid === kid)!;
    // A duplicate kid makes the insert fail: the retirement must not have happened either.
    const outcome = await keyStore.replace([existing], [kid!], clock.now()).then(() => 'resolved', () => 'rejected');
    expect(outcome).toBe('rejected');
    expect((await keyStore.list()).every((k) => k.retiredAt === null)).toBe(true);
  });
});
