import { AccountService, normalizeEmail, PASSWORD_MAX_LENGTH } from '../../../../src/domain/accounts/account-service.js';
import { ConflictError, InvalidCredentialsError, NotFoundError, ReauthenticationRequiredError, ValidationError } from '../../../../src/domain/errors.js';
import { TestClock } from '../../../support/clock.js';
import { defaultPasswordPolicy } from '../../../support/password-policy.js';
import { CountingHasher, FixedSecondFactorStatus, InMemoryUserRepository, RecordingSessionTerminator } from '../../../support/fakes.js';

const PASSWORD = 'correct horse battery staple';

function setup() {
  const clock = new TestClock(new Date('2026-01-01T00:00:00Z'));
  const users = new InMemoryUserRepository(clock);
  const hasher = new CountingHasher();
  const sessions = new RecordingSessionTerminator();
  const secondFactor = new FixedSecondFactorStatus();
  const accounts = new AccountService({ users, hasher, clock, sessions, secondFactor, passwordPolicy: defaultPasswordPolicy() });
  return { clock, users, hasher, accounts, sessions, secondFactor };
}

/** The error an operation rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('normalizeEmail', () => {
  it.each([
    ['Alice@Example.COM', 'alice@example.com'],
    ['  alice@example.com\t', 'alice@example.com'],
    [' ALICE@EXAMPLE.COM ', 'alice@example.com'],
  ])('normalises %j to %j', (raw, expected) => {
    expect(normalizeEmail(raw)).toBe(expected);
  });

  it.each(['', '   ', 'alice', 'alice@', '@example.com', 'alice@example', 'al ice@example.com', 'a@b@example.com', `${'a'.repeat(250)}@example.com`])(
    'refuses %j as a ValidationError on the email field',
    (raw) => {
      let caught: unknown;
      try {
        normalizeEmail(raw);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).field).toBe('email');
    },
  );
});

describe('AccountService', () => {
  describe('createUser', () => {
    it('stores a normalised email, a trimmed name and a hash, never the password', async () => {
      const { accounts, users } = setup();
      const user = await accounts.createUser({ email: '  Alice@Example.com ', password: PASSWORD, name: '  Alice Liddell ' });
      expect(user).toMatchObject({ email: 'alice@example.com', name: 'Alice Liddell', disabledAt: null });
      expect(user).not.toHaveProperty('passwordHash');
      const row = users.rows.get(user.id)!;
      expect(row.passwordHash).toBe(`fake:${PASSWORD}`);
    });

    it('stores an empty or missing name as null', async () => {
      const { accounts } = setup();
      expect((await accounts.createUser({ email: 'a@example.com', password: PASSWORD, name: '   ' })).name).toBeNull();
      expect((await accounts.createUser({ email: 'b@example.com', password: PASSWORD })).name).toBeNull();
    });

    it('gives every user a distinct id', async () => {
      const { accounts } = setup();
      const a = await accounts.createUser({ email: 'a@example.com', password: PASSWORD });
      const b = await accounts.createUser({ email: 'b@example.com', password: PASSWORD });
      expect(a.id).not.toBe(b.id);
    });

    it('refuses a name with control characters or over 200 characters', async () => {
      const { accounts } = setup();
      const control = await rejection(accounts.createUser({ email: 'a@example.com', password: PASSWORD, name: 'Bob\nAdmin' }));
      expect(control).toBeInstanceOf(ValidationError);
      expect((control as ValidationError).field).toBe('name');
      await expect(accounts.createUser({ email: 'a@example.com', password: PASSWORD, name: 'n'.repeat(201) })).rejects.toThrow(ValidationError);
    });

    it('refuses a bad password before hashing anything', async () => {
      const { accounts, hasher, users } = setup();
      const error = await rejection(accounts.createUser({ email: 'a@example.com', password: 'short' }));
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('password');
      await expect(accounts.createUser({ email: 'a@example.com', password: 'x'.repeat(PASSWORD_MAX_LENGTH + 1) })).rejects.toThrow(ValidationError);
      expect(hasher.hashCalls).toBe(0);
      expect(users.rows.size).toBe(0);
    });

    it('refuses an email that differs from an existing one only by case or spaces', async () => {
      const { accounts } = setup();
      await accounts.createUser({ email: 'alice@example.com', password: PASSWORD });
      await expect(accounts.createUser({ email: ' ALICE@example.com', password: PASSWORD })).rejects.toThrow(ConflictError);
    });
  });

  describe('authenticate', () => {
    async function withAlice() {
      const context = setup();
      const alice = await context.accounts.createUser({ email: 'alice@example.com', password: PASSWORD, name: 'Alice' });
      context.hasher.verifyCalls.length = 0;
      return { ...context, alice };
    }

    it('returns the user for the right password, without the hash', async () => {
      const { accounts, alice } = await withAlice();
      const user = await accounts.authenticate('alice@example.com', PASSWORD);
      expect(user).toEqual(alice);
      expect(user).not.toHaveProperty('passwordHash');
    });

    it('accepts the login in any case and with surrounding spaces', async () => {
      const { accounts, alice } = await withAlice();
      expect((await accounts.authenticate('  ALICE@Example.com ', PASSWORD)).id).toBe(alice.id);
    });

    it('does not trim or fold the password', async () => {
      const { accounts } = await withAlice();
      await expect(accounts.authenticate('alice@example.com', ` ${PASSWORD}`)).rejects.toThrow(InvalidCredentialsError);
      await expect(accounts.authenticate('alice@example.com', PASSWORD.toUpperCase())).rejects.toThrow(InvalidCredentialsError);
    });

    it('gives the same error for an unknown user, a wrong password, a disabled user and a malformed login', async () => {
      const { accounts } = await withAlice();
      await accounts.createUser({ email: 'bob@example.com', password: PASSWORD });
      await accounts.disable('bob@example.com');

      const errors = [
        await rejection(accounts.authenticate('nobody@example.com', PASSWORD)),
        await rejection(accounts.authenticate('alice@example.com', 'wrong password')),
        await rejection(accounts.authenticate('bob@example.com', PASSWORD)),
        await rejection(accounts.authenticate('not an email', PASSWORD)),
        await rejection(accounts.authenticate('alice@example.com', 'x'.repeat(PASSWORD_MAX_LENGTH + 1))),
      ];
      for (const error of errors) {
        expect(error).toBeInstanceOf(InvalidCredentialsError);
        expect(error.message).toBe('Invalid email or password.');
        expect((error as InvalidCredentialsError).status).toBe(401);
      }
    });

    it('keeps the reason for logs only', async () => {
      const { accounts } = await withAlice();
      const unknown = (await rejection(accounts.authenticate('nobody@example.com', PASSWORD))) as InvalidCredentialsError;
      const wrong = (await rejection(accounts.authenticate('alice@example.com', 'wrong password'))) as InvalidCredentialsError;
      expect(unknown.debug).toEqual({ reason: 'unknown-user' });
      expect(wrong.debug).toEqual({ reason: 'password' });
      expect(unknown.message).toBe(wrong.message);
    });

    it('costs exactly one password verification whether or not the user exists', async () => {
      const { accounts, hasher } = await withAlice();

      await rejection(accounts.authenticate('nobody@example.com', PASSWORD));
      expect(hasher.verifyCalls).toHaveLength(1);
      // Against a real hash, so a real hasher does real work.
      expect(hasher.verifyCalls[0]!.hash).toMatch(/^fake:/);

      await rejection(accounts.authenticate('alice@example.com', 'wrong password'));
      expect(hasher.verifyCalls).toHaveLength(2);

      await rejection(accounts.authenticate('not an email', PASSWORD));
      expect(hasher.verifyCalls).toHaveLength(3);

      await accounts.authenticate('alice@example.com', PASSWORD);
      expect(hasher.verifyCalls).toHaveLength(4);
    });

    it('computes the stand-in hash for unknown users only once', async () => {
      const { accounts, hasher } = await withAlice();
      const before = hasher.hashCalls;
      await rejection(accounts.authenticate('nobody@example.com', PASSWORD));
      await rejection(accounts.authenticate('nobody-else@example.com', PASSWORD));
      expect(hasher.hashCalls - before).toBe(1);
    });

    it('does not let the stand-in password sign in as an unknown user', async () => {
      const { accounts } = await withAlice();
      await expect(accounts.authenticate('nobody@example.com', 'gatehouse-timing-equaliser')).rejects.toThrow(InvalidCredentialsError);
    });

    it('never hashes an over-long password, yet still verifies once', async () => {
      const { accounts, hasher } = await withAlice();
      const huge = 'x'.repeat(1_000_000);
      await expect(accounts.authenticate('alice@example.com', huge)).rejects.toThrow(InvalidCredentialsError);
      expect(hasher.verifyCalls).toHaveLength(1);
      expect(hasher.verifyCalls[0]!.password.length).toBeLessThanOrEqual(PASSWORD_MAX_LENGTH);
    });

    it('refuses a disabled user even with the right password, and accepts them again once enabled', async () => {
      const { accounts } = await withAlice();
      await accounts.disable('alice@example.com');
      const error = (await rejection(accounts.authenticate('alice@example.com', PASSWORD))) as InvalidCredentialsError;
      expect(error).toBeInstanceOf(InvalidCredentialsError);
      expect(error.debug).toMatchObject({ reason: 'disabled' });
      await accounts.enable('alice@example.com');
      await expect(accounts.authenticate('alice@example.com', PASSWORD)).resolves.toMatchObject({ email: 'alice@example.com' });
    });
  });

  describe('account administration', () => {
    it('disables at the current time, and disabling twice keeps the first time', async () => {
      const { accounts, clock } = setup();
      await accounts.createUser({ email: 'alice@example.com', password: PASSWORD });
      const first = await accounts.disable('Alice@example.com');
      expect(first.disabledAt).toEqual(new Date('2026-01-01T00:00:00Z'));
      clock.advance(60_000);
      expect((await accounts.disable('alice@example.com')).disabledAt).toEqual(first.disabledAt);
      expect((await accounts.enable('alice@example.com')).disabledAt).toBeNull();
    });

    it('hides disabled users from findActiveById', async () => {
      const { accounts } = setup();
      const alice = await accounts.createUser({ email: 'alice@example.com', password: PASSWORD });
      expect(await accounts.findActiveById(alice.id)).toMatchObject({ id: alice.id });
      await accounts.disable('alice@example.com');
      expect(await accounts.findActiveById(alice.id)).toBeUndefined();
      expect(await accounts.findActiveById('no-such-id')).toBeUndefined();
    });

    it('sets a new password: the old one stops working, the new one works', async () => {
      const { accounts } = setup();
      await accounts.createUser({ email: 'alice@example.com', password: PASSWORD });
      await accounts.setPassword(' ALICE@example.com', 'a brand new password');
      await expect(accounts.authenticate('alice@example.com', PASSWORD)).rejects.toThrow(InvalidCredentialsError);
      await expect(accounts.authenticate('alice@example.com', 'a brand new password')).resolves.toMatchObject({ email: 'alice@example.com' });
    });

    it('validates a new password like a first one', async () => {
      const { accounts } = setup();
      await accounts.createUser({ email: 'alice@example.com', password: PASSWORD });
      await expect(accounts.setPassword('alice@example.com', 'short')).rejects.toThrow(ValidationError);
      await expect(accounts.authenticate('alice@example.com', PASSWORD)).resolves.toBeDefined();
    });

    it('reports an unknown email as NotFoundError naming it', async () => {
      const { accounts } = setup();
      for (const operation of [
        () => accounts.getByEmail('Nobody@Example.com'),
        () => accounts.setPassword('nobody@example.com', 'long enough password'),
        () => accounts.disable('nobody@example.com'),
        () => accounts.enable('nobody@example.com'),
      ]) {
        const error = await rejection(operation());
        expect(error).toBeInstanceOf(NotFoundError);
        expect(error.message).toContain('nobody@example.com');
      }
    });

    it('finds by email without exposing the hash', async () => {
      const { accounts } = setup();
      await accounts.createUser({ email: 'alice@example.com', password: PASSWORD });
      const found = await accounts.getByEmail('ALICE@EXAMPLE.COM');
      expect(found.email).toBe('alice@example.com');
      expect(found).not.toHaveProperty('passwordHash');
    });

    it('lists users', async () => {
      const { accounts } = setup();
      await accounts.createUser({ email: 'bob@example.com', password: PASSWORD });
      await accounts.createUser({ email: 'alice@example.com', password: PASSWORD });
      expect((await accounts.list()).map((u) => u.email)).toEqual(['alice@example.com', 'bob@example.com']);
    });
  });

  describe('sensitive actions of the user (the recent-authentication rule is checked here, not trusted from the caller)', () => {
    const SESSION = 'session-1';
    const actor = (id: string) => ({ type: 'user' as const, id });

    it('changes the password of a user with a second factor only after a recent second-factor check in that session', async () => {
      const { accounts, sessions, secondFactor } = setup();
      const user = await accounts.createUser({ email: 'ada@example.com', password: PASSWORD });
      secondFactor.enabled.add(user.id);
      // No recent check: refused, whatever password is given, and nothing changes.
      for (const proof of [{}, { currentPassword: PASSWORD }]) {
        const error = await rejection(accounts.changeOwnPassword(user.id, proof, 'a brand new passphrase', SESSION, actor(user.id)));
        expect(error).toBeInstanceOf(ReauthenticationRequiredError);
        expect((error as ReauthenticationRequiredError).secondFactor).toBe(true);
      }
      await expect(accounts.authenticate('ada@example.com', PASSWORD)).resolves.toMatchObject({ id: user.id });
      expect(sessions.calls).toEqual([]);
      // A recent password check is not enough for a user with a second factor.
      sessions.recent.add(`${SESSION}:${user.id}`);
      await expect(accounts.changeOwnPassword(user.id, {}, 'a brand new passphrase', SESSION, actor(user.id))).rejects.toThrow(ReauthenticationRequiredError);
      sessions.recent.add(`${SESSION}:${user.id}:second-factor`);
      await accounts.changeOwnPassword(user.id, {}, 'a brand new passphrase', SESSION, actor(user.id));
      await expect(accounts.authenticate('ada@example.com', 'a brand new passphrase')).resolves.toMatchObject({ id: user.id });
      expect(sessions.calls).toEqual([expect.objectContaining({ userId: user.id, reason: 'password_changed', exceptId: SESSION })]);
    });

    it('changes the password of a user without a second factor with the current password', async () => {
      const { accounts, sessions } = setup();
      const user = await accounts.createUser({ email: 'bob@example.com', password: PASSWORD });
      expect(await rejection(accounts.changeOwnPassword(user.id, {}, 'a brand new passphrase', SESSION, actor(user.id)))).toMatchObject({ field: 'current_password' });
      await accounts.changeOwnPassword(user.id, { currentPassword: PASSWORD }, 'a brand new passphrase', SESSION, actor(user.id));
      expect(sessions.checks).toEqual([]);
    });

    it('logs out everywhere only after a recent check of the kind the user needs', async () => {
      const { accounts, sessions, secondFactor } = setup();
      const ada = await accounts.createUser({ email: 'ada@example.com', password: PASSWORD });
      const bob = await accounts.createUser({ email: 'bob@example.com', password: PASSWORD });
      secondFactor.enabled.add(ada.id);
      await expect(accounts.endOwnSessions(ada.id, SESSION, { keepCurrent: true }, actor(ada.id))).rejects.toThrow(ReauthenticationRequiredError);
      sessions.recent.add(`${SESSION}:${ada.id}`);
      await expect(accounts.endOwnSessions(ada.id, SESSION, { keepCurrent: false }, actor(ada.id))).rejects.toThrow(ReauthenticationRequiredError);
      expect(sessions.calls).toEqual([]);
      sessions.recent.add(`${SESSION}:${ada.id}:second-factor`);
      await accounts.endOwnSessions(ada.id, SESSION, { keepCurrent: true }, actor(ada.id));
      await accounts.endOwnSessions(ada.id, SESSION, { keepCurrent: false }, actor(ada.id));
      // Without a second factor, a recent password check is what counts.
      await expect(accounts.endOwnSessions(bob.id, SESSION, { keepCurrent: false }, actor(bob.id))).rejects.toThrow(ReauthenticationRequiredError);
      sessions.recent.add(`${SESSION}:${bob.id}`);
      await accounts.endOwnSessions(bob.id, SESSION, { keepCurrent: false }, actor(bob.id));
      expect(sessions.calls).toEqual([
        expect.objectContaining({ userId: ada.id, reason: 'revoked_by_user', exceptId: SESSION }),
        expect.objectContaining({ userId: ada.id, reason: 'revoked_by_user', exceptId: undefined }),
        expect.objectContaining({ userId: bob.id, reason: 'revoked_by_user', exceptId: undefined }),
      ]);
    });
  });
});
