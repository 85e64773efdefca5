import { RecordingSessionTerminator } from '../../support/fakes.js';
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
import { totpCode } from '../../support/mfa-fakes.js';
import { openStoreDatabase, type StoreDatabase } from './store-database.js';

const SECRET = 'store-test-secret-with-enough-characters-0123';
const USER = 'user-1';

describe.each(databaseKinds())('MFA repositories on %s', (kind) => {
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
    await store.db.$transaction([store.db.totpFactor.deleteMany(), store.db.recoveryCode.deleteMany()]);
    clock = new TestClock(new Date('2026-03-01T12:00:00.000Z'));
    mfa = new MfaService({
      sessions: new RecordingSessionTerminator(),
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
    expect(raw.secretEncrypted).toMatch(/^v1\./);
    expect(JSON.stringify(raw)).not.toContain(secret);
    expect(new AesGcmSecretBox(SECRET).open(raw.secretEncrypted)).toBe(secret);
    expect((await factors.find(USER))!.secret).toBe(secret);
    const rawCodes = JSON.stringify(await store.db.recoveryCode.findMany());
    for (const code of recovery) expect(rawCodes).not.toContain(code.replace('-', ''));
    await expect(new PrismaTotpFactorRepository(store.db, new AesGcmSecretBox('another-secret-with-enough-characters-9999')).find(USER)).rejects.toThrow(
      SecretMismatchError,
    );
  });

  it('keeps the repository contracts: pending replacement, one activation, replay refusal, failures and lock', async () => {
    expect(await factors.savePending(USER, 'AAAA', clock.now())).toBe(true);
    expect(await factors.savePending(USER, 'BBBB', clock.now())).toBe(true);
    expect((await factors.find(USER))!.secret).toBe('BBBB');
    expect(await factors.activate(USER, clock.now(), 100)).toBe(true);
    expect(await factors.activate(USER, clock.now(), 101)).toBe(false);
    expect(await factors.savePending(USER, 'CCCC', clock.now())).toBe(false);
    expect(await factors.recordSuccess(USER, 100)).toBe(false);
    expect(await factors.recordSuccess(USER, 101)).toBe(true);
    // Two concurrent acceptances of one step: exactly one wins.
    expect((await Promise.all([factors.recordSuccess(USER, 102), factors.recordSuccess(USER, 102)])).filter(Boolean)).toHaveLength(1);
    expect(await factors.recordFailure(USER)).toBe(1);
    expect(await factors.recordFailure(USER)).toBe(2);
    const until = new Date(clock.now().getTime() + 60_000);
    await factors.lock(USER, until);
    expect(await factors.find(USER)).toMatchObject({ secret: 'BBBB', lastUsedStep: 102, failedAttempts: 0, lockedUntil: until });
    expect(await factors.recordSuccess(USER, 103)).toBe(true);
    expect(await factors.find(USER)).toMatchObject({ lockedUntil: null, failedAttempts: 0 });
    expect(await factors.delete(USER)).toBe(true);
    expect(await factors.find(USER)).toBeUndefined();
  });

  it('uses a recovery code once, even when two requests race, and regeneration replaces the set', async () => {
    const { secret } = await mfa.startEnrolment(USER, 'ada@example.com');
    const recovery = await mfa.activate(USER, totpCode(secret, clock.now()));
    const results = await Promise.all([mfa.useRecoveryCode(USER, recovery[0]!), mfa.useRecoveryCode(USER, recovery[0]!)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await mfa.status(USER)).toEqual({ enabled: true, recoveryCodesLeft: 9 });
    await mfa.regenerateRecoveryCodes(USER);
    expect(await mfa.useRecoveryCode(USER, recovery[1]!)).toBe(false);
    expect(await store.db.recoveryCode.count({ where: { userId: USER } })).toBe(10);
    await mfa.disable(USER);
    expect(await store.db.recoveryCode.count()).toBe(0);
    expect(await store.db.totpFactor.count()).toBe(0);
  });
});
