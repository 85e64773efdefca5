import { randomUUID } from 'node:crypto';
import { AccountService } from '../../../src/domain/accounts/account-service.js';
import type { NewUser } from '../../../src/domain/accounts/user.js';
import { ConflictError, NotFoundError } from '../../../src/domain/errors.js';
import { PrismaUserRepository } from '../../../src/store/prisma/user-repository.js';
import { TestClock } from '../../support/clock.js';
import { databaseKinds } from '../../support/databases.js';
import { CountingHasher, FixedSecondFactorStatus, RecordingSessionTerminator } from '../../support/fakes.js';
import { defaultPasswordPolicy } from '../../support/password-policy.js';
import { openStoreDatabase, type StoreDatabase } from './store-database.js';

function newUser(email: string, overrides: Partial<NewUser> = {}): NewUser {
  return { id: randomUUID(), email, name: null, passwordHash: `hash-of-${email}`, ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe.each(databaseKinds())('PrismaUserRepository on %s', (kind) => {
  let store: StoreDatabase;
  let users: PrismaUserRepository;

  beforeAll(async () => {
    store = await openStoreDatabase(kind);
    users = new PrismaUserRepository(store.db, kind);
  });

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(async () => {
    await store.truncate();
  });

  it('creates a user and finds it by id and by email', async () => {
    const input = newUser('alice@example.com', { name: 'Alice' });
    const created = await users.create(input);
    expect(created).toEqual({ id: input.id, email: 'alice@example.com', name: 'Alice', disabledAt: null, admin: false, createdAt: expect.any(Date), updatedAt: expect.any(Date) });
    expect(created).not.toHaveProperty('passwordHash');
    expect(await users.findById(input.id)).toEqual(created);
    expect(await users.findByEmail('alice@example.com')).toEqual({ ...created, passwordHash: 'hash-of-alice@example.com' });
  });

  it('grants and revokes admin, and searches by email or name', async () => {
    const alice = await users.create(newUser('alice@example.com', { name: 'Alice Admin' }));
    await users.create(newUser('bob@example.org', { name: 'Bob' }));
    expect((await users.setAdmin(alice.id, true)).admin).toBe(true);
    expect((await users.findById(alice.id))?.admin).toBe(true);
    expect((await users.setAdmin(alice.id, false)).admin).toBe(false);
    expect(await rejection(users.setAdmin('missing', true))).toBeInstanceOf(NotFoundError);
    expect((await users.search('EXAMPLE.ORG', 10)).map((u) => u.email)).toEqual(['bob@example.org']);
    expect((await users.search('Admin', 10)).map((u) => u.email)).toEqual(['alice@example.com']);
    expect((await users.search('', 1)).map((u) => u.email)).toEqual(['alice@example.com']);
  });

  it('searches names ignoring case on this database too, and pages with limit and offset', async () => {
    await users.create(newUser('alice@example.com', { name: 'Alice Admin' }));
    await users.create(newUser('bob@example.org', { name: 'Bob ADMINSON' }));
    await users.create(newUser('carol@example.net', { name: 'carol' }));
    expect((await users.search('admin', 10)).map((u) => u.email)).toEqual(['alice@example.com', 'bob@example.org']);
    expect((await users.search('ADMIN', 10)).map((u) => u.email)).toEqual(['alice@example.com', 'bob@example.org']);
    expect((await users.search('CAROL', 10)).map((u) => u.email)).toEqual(['carol@example.net']);
    expect((await users.search('', 2)).map((u) => u.email)).toEqual(['alice@example.com', 'bob@example.org']);
    expect((await users.search('', 2, 2)).map((u) => u.email)).toEqual(['carol@example.net']);
    expect(await users.search('', 2, 3)).toEqual([]);
  });

  it('saves each change with its audit event in one transaction: an event that cannot be written undoes the change', async () => {
    const event = (type: 'user.created' | 'user.admin_granted' | 'user.disabled', userId: string, at = new Date('2026-03-01T00:00:00Z')) => ({
      at, type, actor: { type: 'admin' as const, id: 'cli' }, userId, sessionId: null, clientId: null, details: null,
    });
    const alice = newUser('alice@example.com');
    await users.create(alice, event('user.created', alice.id));
    await users.setAdmin(alice.id, true, event('user.admin_granted', alice.id));
    expect((await store.db.auditEvent.findMany({ where: { userId: alice.id }, orderBy: { type: 'asc' } })).map((e) => e.type)).toEqual(['user.admin_granted', 'user.created']);

    // An audit event with an impossible time fails to insert, after the change itself was written in the transaction.
    const broken = event('user.disabled', alice.id, new Date(Number.NaN));
    await expect(users.setDisabledAt(alice.id, new Date('2026-03-02T00:00:00Z'), broken)).rejects.toThrow();
    expect((await users.findById(alice.id))!.disabledAt).toBeNull();
    const bob = newUser('bob@example.com');
    await expect(users.create(bob, event('user.created', bob.id, new Date(Number.NaN)))).rejects.toThrow();
    expect(await users.findById(bob.id)).toBeUndefined();
    expect(await store.db.auditEvent.count()).toBe(2);

    // A change that fails writes no event either.
    await expect(users.setAdmin('missing', true, event('user.admin_granted', 'missing'))).rejects.toThrow(NotFoundError);
    expect(await store.db.auditEvent.count()).toBe(2);
  });

  it('returns undefined for unknown ids and emails', async () => {
    expect(await users.findById('missing')).toBeUndefined();
    expect(await users.findByEmail('missing@example.com')).toBeUndefined();
  });

  it('refuses a second user with the same email as ConflictError naming it', async () => {
    await users.create(newUser('alice@example.com'));
    const error = await rejection(users.create(newUser('alice@example.com')));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('alice@example.com');
    expect(await users.list()).toHaveLength(1);
  });

  it('lists users by email without their hashes', async () => {
    await users.create(newUser('carol@example.com'));
    await users.create(newUser('alice@example.com'));
    await users.create(newUser('bob@example.com'));
    const list = await users.list();
    expect(list.map((u) => u.email)).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.com']);
    for (const user of list) expect(user).not.toHaveProperty('passwordHash');
  });

  it('updates the password hash', async () => {
    const { id } = await users.create(newUser('alice@example.com'));
    const updated = await users.updatePasswordHash(id, 'new-hash');
    expect(updated).not.toHaveProperty('passwordHash');
    expect((await users.findByEmail('alice@example.com'))!.passwordHash).toBe('new-hash');
  });

  it('sets and clears disabledAt', async () => {
    const { id } = await users.create(newUser('alice@example.com'));
    const at = new Date('2026-02-03T04:05:06.789Z');
    expect((await users.setDisabledAt(id, at)).disabledAt).toEqual(at);
    expect((await users.findById(id))!.disabledAt).toEqual(at);
    expect((await users.setDisabledAt(id, null)).disabledAt).toBeNull();
  });

  it('reports updates of a missing user as NotFoundError', async () => {
    await expect(users.updatePasswordHash('missing', 'hash')).rejects.toThrow(NotFoundError);
    await expect(users.setDisabledAt('missing', new Date())).rejects.toThrow(NotFoundError);
  });

  describe('with AccountService', () => {
    it('refuses an email that differs from an existing one only by case as ConflictError', async () => {
      const accounts = new AccountService({ users, hasher: new CountingHasher(), clock: new TestClock(), sessions: new RecordingSessionTerminator(), secondFactor: new FixedSecondFactorStatus(), passwordPolicy: defaultPasswordPolicy() });
      await accounts.createUser({ email: 'Alice@Example.com', password: 'long enough password' });
      await expect(accounts.createUser({ email: ' ALICE@example.COM ', password: 'another long password' })).rejects.toThrow(ConflictError);
      expect((await users.list()).map((u) => u.email)).toEqual(['alice@example.com']);
    });

    it('signs in a stored user and disables them with the clock time', async () => {
      const clock = new TestClock(new Date('2026-05-05T05:05:05.005Z'));
      const accounts = new AccountService({ users, hasher: new CountingHasher(), clock, sessions: new RecordingSessionTerminator(), secondFactor: new FixedSecondFactorStatus(), passwordPolicy: defaultPasswordPolicy() });
      const alice = await accounts.createUser({ email: 'alice@example.com', password: 'long enough password' });
      expect((await accounts.authenticate('ALICE@example.com', 'long enough password')).id).toBe(alice.id);
      expect((await accounts.disable('alice@example.com')).disabledAt).toEqual(clock.now());
      expect(await accounts.findActiveById(alice.id)).toBeUndefined();
    });
  });
});
