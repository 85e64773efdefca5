import { RecordingSessionTerminator } from '../../support/fakes.js';
import type { AuditEventType, NewAuditEvent } from '../../../src/domain/audit/audit.js';
import { SecretMismatchError } from '../../../src/domain/errors.js';
import { MfaService } from '../../../src/domain/mfa/mfa-service.js';
import { HmacRecoveryCodeHasher } from '../../../src/infra/hmac-code-hasher.js';
import { OtplibTotp } from '../../../src/infra/otplib-totp.js';
import { AesGcmSecretBox } from '../../../src/infra/secret-box.js';
import { PrismaRecoveryCodeRepository } from '../../../src/store/prisma/recovery-code-repository.js';
import { PrismaTotpFactorRepository } from '../../../src/store/prisma/totp-factor-repository.js';
import { TestClock } from '../../support/clock.js';
import { databaseKinds } from '../../support/databases.js';
import { InMemoryAuditLog } from '../../support/fakes.js';
import { CountingRecoveryCodeHasher, CountingTotp, totpCode } from '../../support/mfa-fakes.js';
import { breakInserts } from '../../support/database-faults.js';
import { openStoreDatabase, type StoreDatabase } from './store-database.js';

const SECRET = 'store-test-secret-with-enough-characters-0123';
const USER = 'user-1';

describe.each(databaseKinds())('MFA repositories on %s', (kind) => {
  const event = (type: AuditEventType): NewAuditEvent => ({ at: clock.now(), type, actor: { type: 'user', id: USER }, userId: USER, sessionId: null, clientId: null, details: null });
  const auditTypes = async () => (await store.db.auditEvent.findMany({ where: { userId: USER }, orderBy: { at: 'asc' } })).map((e) => e.type);
  let store: StoreDatabase;
  let factors: PrismaTotpFactorRepository;
  let codes: PrismaRecoveryCodeRepository;
  let clock: TestClock;
  let mfa: MfaService;

  beforeAll(async () => {
    store = await openStoreDatabase(kind);
    factors = new PrismaTotpFactorRepository(store.db, new AesGcmSecretBox(SECRET));
    codes = new PrismaRecoveryCodeRepository(store.db);
  });

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(async () => {
    await store.db.$transaction([store.db.totpFactor.deleteMany(), store.db.recoveryCode.deleteMany(), store.db.auditEvent.deleteMany()]);
    clock = new TestClock(new Date('2026-03-01T12:00:00.000Z'));
    const sessions = new RecordingSessionTerminator();
    sessions.recent.add(`session-1:${USER}:second-factor`);
    mfa = new MfaService({
      sessions,
      factors,
      recoveryCodes: codes,
      totp: new OtplibTotp(),
      hasher: new HmacRecoveryCodeHasher(Buffer.alloc(32, 3)),
      clock,
      audit: new InMemoryAuditLog(),
      issuerName: 'Gatehouse',
    });
  });

  it('keeps the TOTP secret encrypted at rest and the recovery codes hashed', async () => {
    const { secret } = await mfa.startEnrolment(USER, 'ada@example.com');
    const recovery = await mfa.activate(USER, totpCode(secret, clock.now()));
    const raw = await store.db.totpFactor.findUniqueOrThrow({ where: { userId: USER } });
    expect(raw.secretEncrypted).toMatch(/^v2\./);
    expect(JSON.stringify(raw)).not.toContain(secret);
    expect(new AesGcmSecretBox(SECRET).open(raw.secretEncrypted, `totp:${USER}`)).toBe(secret);
    expect((await factors.find(USER))!.secret).toBe(secret);
    const rawCodes = JSON.stringify(await store.db.recoveryCode.findMany());
    for (const code of recovery) expect(rawCodes).not.toContain(code.replace('-', ''));
    await expect(new PrismaTotpFactorRepository(store.db, new AesGcmSecretBox('another-secret-with-enough-characters-9999')).find(USER)).rejects.toThrow(
      SecretMismatchError,
    );
  });

  it('binds the secret to its user: a ciphertext copied into another user\'s row does not open', async () => {
    const { secret } = await mfa.startEnrolment(USER, 'ada@example.com');
    await mfa.activate(USER, totpCode(secret, clock.now()));
    const { secretEncrypted } = await store.db.totpFactor.findUniqueOrThrow({ where: { userId: USER } });
    await factors.savePending('user-2', 'MFRGGZDFMZTWQ2LK', clock.now());
    await store.db.totpFactor.update({ where: { userId: 'user-2' }, data: { secretEncrypted, activatedAt: clock.now() } });
    await expect(factors.find('user-2')).rejects.toThrow(SecretMismatchError);
  });

  it('refuses a secret sealed without its user (a client secret\'s ciphertext copied into the row)', async () => {
    const box = new AesGcmSecretBox(SECRET);
    await store.db.totpFactor.create({ data: { userId: USER, secretEncrypted: box.seal('JBSWY3DPEHPK3PXP'), createdAt: clock.now(), activatedAt: clock.now() } });
    await expect(factors.find(USER)).rejects.toThrow(SecretMismatchError);
  });

  it('keeps the repository contracts: pending replacement, one activation, replay refusal, removal', async () => {
    expect(await factors.isActive(USER)).toBe(false);
    expect(await factors.savePending(USER, 'AAAA', clock.now())).toBe(true);
    expect(await factors.savePending(USER, 'BBBB', clock.now())).toBe(true);
    expect((await factors.find(USER))!.secret).toBe('BBBB');
    expect(await factors.isActive(USER)).toBe(false);
    expect(await factors.activate(USER, { at: clock.now(), step: 100, recoveryCodeHashes: ['h1', 'h2'] }, event('mfa.enrolled'))).toBe(true);
    expect(await factors.activate(USER, { at: clock.now(), step: 101, recoveryCodeHashes: ['h3'] }, event('mfa.enrolled'))).toBe(false);
    expect(await factors.isActive(USER)).toBe(true);
    expect((await codes.listUnused(USER)).map((c) => c.codeHash).sort()).toEqual(['h1', 'h2']);
    expect(await factors.savePending(USER, 'CCCC', clock.now())).toBe(false);
    expect(await factors.recordSuccess(USER, 100)).toBe(false);
    expect(await factors.recordSuccess(USER, 101)).toBe(true);
    // Two concurrent acceptances of one step: exactly one wins.
    expect((await Promise.all([factors.recordSuccess(USER, 102), factors.recordSuccess(USER, 102)])).filter(Boolean)).toHaveLength(1);
    expect(await factors.remove(USER)).toBe(true);
    expect(await factors.isActive(USER)).toBe(false);
    expect(await factors.find(USER)).toBeUndefined();
    expect(await codes.countUnused(USER)).toBe(0);
    expect(await factors.remove(USER)).toBe(false);
    // Only the one activation that happened is in the audit log; removal without an event writes none.
    expect(await auditTypes()).toEqual(['mfa.enrolled']);
  });

  it('reserves second-factor attempts: five in a row, the fifth locking at once, a success or an expired lock starting again', async () => {
    const now = clock.now();
    const lockUntil = new Date(now.getTime() + 60_000);
    const reserve = (at: Date = now) => factors.reserveAttempt(USER, { now: at, maxAttempts: 5, lockUntil });
    // No factor, or one not active yet: nothing to count.
    expect(await reserve()).toEqual({ reserved: false, lockedUntil: null });
    await factors.savePending(USER, 'AAAA', now);
    expect(await reserve()).toEqual({ reserved: false, lockedUntil: null });
    await factors.activate(USER, { at: now, step: 100, recoveryCodeHashes: [] }, event('mfa.enrolled'));
    for (let attempt = 1; attempt <= 4; attempt += 1) expect(await reserve()).toEqual({ reserved: true, attempt, locks: false });
    expect(await reserve()).toEqual({ reserved: true, attempt: 5, locks: true });
    expect(await factors.find(USER)).toMatchObject({ failedAttempts: 5, lockedUntil: lockUntil });
    expect(await reserve()).toEqual({ reserved: false, lockedUntil: lockUntil });
    // A success (the fifth attempt was right, say) lifts the lock.
    expect(await factors.recordSuccess(USER, 101)).toBe(true);
    expect(await factors.find(USER)).toMatchObject({ failedAttempts: 0, lockedUntil: null });
    for (let i = 0; i < 5; i += 1) await reserve();
    await factors.clearFailures(USER);
    expect(await reserve()).toEqual({ reserved: true, attempt: 1, locks: false });
    for (let i = 0; i < 4; i += 1) await reserve();
    // Once the lock is over, the next attempt is the first of a new count.
    expect(await reserve(new Date(lockUntil.getTime() - 1))).toEqual({ reserved: false, lockedUntil: lockUntil });
    expect(await reserve(lockUntil)).toEqual({ reserved: true, attempt: 1, locks: false });
    expect(await factors.find(USER)).toMatchObject({ failedAttempts: 1, lockedUntil: null });
  });

  it('checks at most five guesses of a concurrent burst of TOTP and recovery codes before the lock', async () => {
    const totp = new CountingTotp();
    const hasher = new CountingRecoveryCodeHasher(Buffer.alloc(32, 3));
    const audit = new InMemoryAuditLog();
    const counted = new MfaService({ sessions: new RecordingSessionTerminator(), factors, recoveryCodes: codes, totp, hasher, clock, audit, issuerName: 'Gatehouse' });
    const { secret } = await counted.startEnrolment(USER, 'ada@example.com');
    const recovery = await counted.activate(USER, totpCode(secret, clock.now()));
    clock.advance(30_000);
    const valid = new Set([-1, 0, 1].map((d) => totpCode(secret, clock.now().getTime() + d * 30_000)));
    const wrong = ['000000', '111111', '222222', '333333'].find((c) => !valid.has(c))!;
    totp.checked = 0;
    hasher.hashed = 0;
    const burst = await Promise.all(
      Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? counted.verifyTotp(USER, wrong) : counted.useRecoveryCode(USER, `zzzz${i % 10}-zzzzz`))),
    );
    expect(totp.checked + hasher.hashed).toBe(5);
    expect(burst.filter((r) => r.result !== 'locked')).toHaveLength(4);
    expect(audit.events.filter((e) => e.type === 'mfa.failed')).toHaveLength(5);
    expect(audit.events.filter((e) => e.type === 'mfa.locked')).toHaveLength(1);
    // Locked: the right recovery code is refused unchecked and stays unused.
    const row = await store.db.totpFactor.findUniqueOrThrow({ where: { userId: USER } });
    expect(row.lockedUntil!.getTime()).toBeGreaterThan(clock.now().getTime());
    expect(await counted.useRecoveryCode(USER, recovery[0]!)).toEqual({ result: 'locked', retryAt: row.lockedUntil });
    expect(totp.checked + hasher.hashed).toBe(5);
    expect(await counted.status(USER)).toEqual({ enabled: true, recoveryCodesLeft: 10 });
  });


  it('uses a recovery code once, even when two requests race, and regeneration replaces the set', async () => {
    const { secret } = await mfa.startEnrolment(USER, 'ada@example.com');
    const recovery = await mfa.activate(USER, totpCode(secret, clock.now()));
    const results = await Promise.all([mfa.useRecoveryCode(USER, recovery[0]!), mfa.useRecoveryCode(USER, recovery[0]!)]);
    expect(results.filter((r) => r.result === 'ok')).toHaveLength(1);
    expect(await mfa.status(USER)).toEqual({ enabled: true, recoveryCodesLeft: 9 });
    await mfa.regenerateRecoveryCodes(USER, 'session-1');
    expect(await mfa.useRecoveryCode(USER, recovery[1]!)).toEqual({ result: 'invalid' });
    expect(await store.db.recoveryCode.count({ where: { userId: USER } })).toBe(10);
    await mfa.disable(USER, 'session-1');
    expect(await store.db.recoveryCode.count()).toBe(0);
    expect(await store.db.totpFactor.count()).toBe(0);
  });
  it('saves each change of the factor with its audit event, in one transaction', async () => {
    const { secret } = await mfa.startEnrolment(USER, 'ada@example.com');
    const recovery = await mfa.activate(USER, totpCode(secret, clock.now()));
    expect(await mfa.useRecoveryCode(USER, recovery[0]!)).toEqual({ result: 'ok' });
    // A code used already writes no event of its own (only the counted failure, which the audit log takes).
    expect(await mfa.useRecoveryCode(USER, recovery[0]!)).toEqual({ result: 'invalid' });
    await mfa.regenerateRecoveryCodes(USER, 'session-1');
    await mfa.disable(USER, 'session-1');
    expect(await auditTypes()).toEqual(['mfa.enrolled', 'mfa.recovery_code_used', 'mfa.recovery_codes_regenerated', 'mfa.disabled']);
  });

  it('keeps nothing of a change whose audit event cannot be saved', async () => {
    const { secret } = await mfa.startEnrolment(USER, 'ada@example.com');
    const repair = await breakInserts(store.db, kind, 'AuditEvent');
    try {
      // Activation: the factor stays inactive and has no recovery codes.
      await expect(mfa.activate(USER, totpCode(secret, clock.now()))).rejects.toThrow();
      expect(await factors.find(USER)).toMatchObject({ activatedAt: null });
      expect(await store.db.recoveryCode.count()).toBe(0);
    } finally {
      await repair();
    }
    const recovery = await mfa.activate(USER, totpCode(secret, clock.now()));
    const breakAgain = await breakInserts(store.db, kind, 'AuditEvent');
    try {
      // Using a recovery code, renewing them, and removing the factor: each is refused whole.
      await expect(mfa.useRecoveryCode(USER, recovery[0]!)).rejects.toThrow();
      await expect(mfa.regenerateRecoveryCodes(USER, 'session-1')).rejects.toThrow();
      await expect(mfa.reset(USER, { type: 'admin', id: 'cli' })).rejects.toThrow();
      expect(await store.db.recoveryCode.count({ where: { userId: USER, usedAt: null } })).toBe(10);
      expect((await store.db.recoveryCode.findMany({ where: { userId: USER } })).map((c) => c.codeHash).sort()).toEqual(
        recovery.map((c) => new HmacRecoveryCodeHasher(Buffer.alloc(32, 3)).hash(c.replace('-', ''))).sort(),
      );
      expect(await factors.find(USER)).toMatchObject({ userId: USER });
    } finally {
      await breakAgain();
    }
    expect(await auditTypes()).toEqual(['mfa.enrolled']);
  });
});
