import { RecordingSessionTerminator } from '../../../support/fakes.js';
import { ConflictError, ReauthenticationRequiredError, ValidationError } from '../../../../src/domain/errors.js';
import { LOCK_DURATION_MS, MfaService } from '../../../../src/domain/mfa/mfa-service.js';
import { HmacRecoveryCodeHasher } from '../../../../src/infra/hmac-code-hasher.js';
import { OtplibTotp } from '../../../../src/infra/otplib-totp.js';
import { TestClock } from '../../../support/clock.js';
import { InMemoryAuditLog } from '../../../support/fakes.js';
import { CountingTotp, InMemoryRecoveryCodeRepository, InMemoryTotpFactorRepository, totpCode } from '../../../support/mfa-fakes.js';

const USER = 'user-1';
const EMAIL = 'ada@example.com';
const STEP_MS = 30_000;

describe('MfaService', () => {
  let clock: TestClock;
  let factors: InMemoryTotpFactorRepository;
  let codes: InMemoryRecoveryCodeRepository;
  let audit: InMemoryAuditLog;
  let mfa: MfaService;
  let sessions: RecordingSessionTerminator;
  /** The session a test acts in, marked as having checked the second factor recently. */
  const SESSION = 'session-1';

  beforeEach(() => {
    sessions = new RecordingSessionTerminator();
    sessions.recent.add(`${SESSION}:${USER}:second-factor`);
    // The start of a time step, so "one step later" is unambiguous.
    clock = new TestClock(new Date('2026-03-01T12:00:00.000Z'));
    audit = new InMemoryAuditLog();
    codes = new InMemoryRecoveryCodeRepository(audit);
    factors = new InMemoryTotpFactorRepository(codes, audit);
    mfa = new MfaService({
      sessions,
      factors,
      recoveryCodes: codes,
      totp: new OtplibTotp(),
      hasher: new HmacRecoveryCodeHasher(Buffer.alloc(32, 7)),
      clock,
      audit,
      issuerName: 'Gatehouse',
    });
  });

  const types = () => audit.events.map((e) => e.type);

  /** Enrols and activates; returns the secret and the recovery codes. Leaves the clock one step after activation. */
  async function enrolled(): Promise<{ secret: string; recovery: string[] }> {
    const { secret } = await mfa.startEnrolment(USER, EMAIL);
    const recovery = await mfa.activate(USER, totpCode(secret, clock.now()));
    clock.advance(STEP_MS);
    return { secret, recovery };
  }

  describe('enrolment', () => {
    it('gives a base32 secret and an otpauth URI for SHA-1, 6 digits, 30 s, and stays inactive until proven', async () => {
      const enrolment = await mfa.startEnrolment(USER, EMAIL);
      expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL(enrolment.otpauthUri);
      expect(uri.protocol).toBe('otpauth:');
      expect(uri.host).toBe('totp');
      expect(decodeURIComponent(uri.pathname)).toBe(`/Gatehouse:${EMAIL}`);
      expect(uri.searchParams.get('secret')).toBe(enrolment.secret);
      expect(uri.searchParams.get('issuer')).toBe('Gatehouse');
      expect(uri.searchParams.get('algorithm') ?? 'SHA1').toBe('SHA1');
      expect(uri.searchParams.get('digits') ?? '6').toBe('6');
      expect(uri.searchParams.get('period') ?? '30').toBe('30');
      expect(await mfa.status(USER)).toEqual({ enabled: false, recoveryCodesLeft: 0 });
      expect(await mfa.pendingEnrolment(USER, EMAIL)).toEqual(enrolment);
    });

    it('activates with the right code and returns 10 distinct recovery codes, stored only as keyed hashes', async () => {
      const { secret } = await mfa.startEnrolment(USER, EMAIL);
      const recovery = await mfa.activate(USER, totpCode(secret, clock.now()));
      expect(recovery).toHaveLength(10);
      expect(new Set(recovery).size).toBe(10);
      for (const code of recovery) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
      expect(await mfa.status(USER)).toEqual({ enabled: true, recoveryCodesLeft: 10 });
      expect(factors.rows.get(USER)!.activatedAt).toEqual(clock.now());
      const stored = JSON.stringify(codes.rows);
      for (const code of recovery) {
        expect(stored).not.toContain(code);
        expect(stored).not.toContain(code.replace('-', ''));
      }
      // Keyed: the same code under another key hashes differently.
      const plain = recovery[0]!.replace('-', '');
      expect(codes.rows.map((r) => r.codeHash)).toContain(new HmacRecoveryCodeHasher(Buffer.alloc(32, 7)).hash(plain));
      expect(codes.rows.map((r) => r.codeHash)).not.toContain(new HmacRecoveryCodeHasher(Buffer.alloc(32, 8)).hash(plain));
      expect(types()).toEqual(['mfa.enrolled']);
      expect(await mfa.pendingEnrolment(USER, EMAIL)).toBeUndefined();
    });

    it('keeps the factor inactive after a wrong code', async () => {
      const { secret } = await mfa.startEnrolment(USER, EMAIL);
      const right = totpCode(secret, clock.now());
      const wrong = right === '000000' ? '111111' : '000000';
      await expect(mfa.activate(USER, wrong)).rejects.toThrow(ValidationError);
      await expect(mfa.activate(USER, 'abcdef')).rejects.toMatchObject({ field: 'code' });
      expect(await mfa.status(USER)).toEqual({ enabled: false, recoveryCodesLeft: 0 });
      expect(codes.rows).toEqual([]);
      expect(types()).toEqual([]);
      // The same enrolment can still be completed.
      expect(await mfa.activate(USER, right)).toHaveLength(10);
    });

    it('replaces a pending enrolment, and refuses a new one while a factor is active', async () => {
      const first = await mfa.startEnrolment(USER, EMAIL);
      const second = await mfa.startEnrolment(USER, EMAIL);
      expect(second.secret).not.toBe(first.secret);
      await expect(mfa.activate(USER, totpCode(first.secret, clock.now()))).rejects.toThrow(ValidationError);
      await mfa.activate(USER, totpCode(second.secret, clock.now()));
      await expect(mfa.startEnrolment(USER, EMAIL)).rejects.toThrow(ConflictError);
      expect(factors.rows.get(USER)!.secret).toBe(second.secret);
    });

    it('does not accept the activation code again at sign-in', async () => {
      const { secret } = await mfa.startEnrolment(USER, EMAIL);
      const code = totpCode(secret, clock.now());
      await mfa.activate(USER, code);
      expect(await mfa.verifyTotp(USER, code)).toEqual({ result: 'replayed' });
    });
  });

  describe('verifyTotp', () => {
    it('accepts the current code once and refuses its replay within the window', async () => {
      const { secret } = await enrolled();
      const code = totpCode(secret, clock.now());
      expect(await mfa.verifyTotp(USER, code)).toEqual({ result: 'ok' });
      expect(await mfa.verifyTotp(USER, code)).toEqual({ result: 'replayed' });
      clock.advance(STEP_MS / 2);
      expect(await mfa.verifyTotp(USER, code)).toEqual({ result: 'replayed' });
      // The next step's code is fine; then the previous step's (still within drift) is refused as older.
      clock.advance(STEP_MS / 2);
      expect(await mfa.verifyTotp(USER, totpCode(secret, clock.now()))).toEqual({ result: 'ok' });
      expect(await mfa.verifyTotp(USER, code)).toEqual({ result: 'replayed' });
    });

    it('accepts a code one step behind or ahead, not two', async () => {
      const { secret } = await enrolled();
      clock.advance(10 * STEP_MS);
      const now = clock.now().getTime();
      expect(await mfa.verifyTotp(USER, totpCode(secret, now - STEP_MS))).toEqual({ result: 'ok' });
      clock.advance(10 * STEP_MS);
      const later = clock.now().getTime();
      expect(await mfa.verifyTotp(USER, totpCode(secret, later + STEP_MS))).toEqual({ result: 'ok' });
      clock.advance(10 * STEP_MS);
      const last = clock.now().getTime();
      for (const far of [last - 2 * STEP_MS, last + 2 * STEP_MS]) {
        const code = totpCode(secret, far);
        if (code === totpCode(secret, last) || code === totpCode(secret, last - STEP_MS) || code === totpCode(secret, last + STEP_MS)) continue;
        expect(await mfa.verifyTotp(USER, code)).toEqual({ result: 'invalid' });
      }
    });

    it('locks after 5 wrong codes in a row for 15 minutes, then accepts again', async () => {
      const { secret } = await enrolled();
      const wrong = () => {
        const right = [-1, 0, 1].map((d) => totpCode(secret, clock.now().getTime() + d * STEP_MS));
        return ['000000', '111111', '222222', '333333'].find((c) => !right.includes(c))!;
      };
      for (let i = 0; i < 4; i += 1) expect(await mfa.verifyTotp(USER, wrong())).toEqual({ result: 'invalid' });
      const retryAt = new Date(clock.now().getTime() + LOCK_DURATION_MS);
      expect(await mfa.verifyTotp(USER, wrong())).toEqual({ result: 'locked', retryAt });
      expect(types()).toEqual(['mfa.enrolled', ...Array(5).fill('mfa.failed'), 'mfa.locked']);
      expect(audit.events[6]).toMatchObject({ userId: USER, details: { failedAttempts: 5, lockedUntil: retryAt.toISOString() } });
      // Locked: even the right code is refused, without counting.
      expect(await mfa.verifyTotp(USER, totpCode(secret, clock.now()))).toEqual({ result: 'locked', retryAt });
      clock.advance(LOCK_DURATION_MS - 1000);
      expect(await mfa.verifyTotp(USER, totpCode(secret, clock.now()))).toEqual({ result: 'locked', retryAt });
      clock.advance(1000);
      expect(await mfa.verifyTotp(USER, totpCode(secret, clock.now()))).toEqual({ result: 'ok' });
      expect(factors.rows.get(USER)).toMatchObject({ failedAttempts: 0, lockedUntil: null });
    });

    it('counts failures in a row only: a success resets them', async () => {
      const { secret } = await enrolled();
      for (let i = 0; i < 4; i += 1) expect((await mfa.verifyTotp(USER, 'nope')).result).toBe('invalid');
      expect(await mfa.verifyTotp(USER, totpCode(secret, clock.now()))).toEqual({ result: 'ok' });
      expect(factors.rows.get(USER)!.failedAttempts).toBe(0);
      for (let i = 0; i < 4; i += 1) expect((await mfa.verifyTotp(USER, 'nope')).result).toBe('invalid');
      expect(types()).not.toContain('mfa.locked');
    });

    it('says invalid for a user without an active factor', async () => {
      expect(await mfa.verifyTotp(USER, '123456')).toEqual({ result: 'invalid' });
      const { secret } = await mfa.startEnrolment(USER, EMAIL);
      expect(await mfa.verifyTotp(USER, totpCode(secret, clock.now()))).toEqual({ result: 'invalid' });
    });
  });

  describe('recovery codes', () => {
    it('accepts each code once, in any case and with or without the dash', async () => {
      const { recovery } = await enrolled();
      expect(await mfa.useRecoveryCode(USER, recovery[0]!)).toEqual({ result: 'ok' });
      expect(await mfa.useRecoveryCode(USER, recovery[0]!)).toEqual({ result: 'invalid' });
      expect(await mfa.useRecoveryCode(USER, ` ${recovery[1]!.replace('-', '').toUpperCase()} `)).toEqual({ result: 'ok' });
      expect(await mfa.useRecoveryCode(USER, 'aaaaa-aaaaa')).toEqual({ result: 'invalid' });
      expect(await mfa.useRecoveryCode(USER, '')).toEqual({ result: 'invalid' });
      expect(await mfa.useRecoveryCode('someone-else', recovery[2]!)).toEqual({ result: 'invalid' });
      expect(await mfa.status(USER)).toEqual({ enabled: true, recoveryCodesLeft: 8 });
      // Each wrong code is audited; the user without a factor has nothing to count.
      expect(types()).toEqual(['mfa.enrolled', 'mfa.recovery_code_used', 'mfa.failed', 'mfa.recovery_code_used', 'mfa.failed', 'mfa.failed']);
    });

    it('regeneration invalidates the old set', async () => {
      const { recovery } = await enrolled();
      await mfa.useRecoveryCode(USER, recovery[0]!);
      const fresh = await mfa.regenerateRecoveryCodes(USER, SESSION);
      expect(fresh).toHaveLength(10);
      expect(fresh.filter((c) => recovery.includes(c))).toEqual([]);
      // Four of the old codes (a fifth wrong code in a row would lock the factor).
      for (const old of recovery.slice(1, 5)) expect(await mfa.useRecoveryCode(USER, old)).toEqual({ result: 'invalid' });
      expect(await mfa.status(USER)).toEqual({ enabled: true, recoveryCodesLeft: 10 });
      expect(await mfa.useRecoveryCode(USER, fresh[3]!)).toEqual({ result: 'ok' });
      expect(types()).toContain('mfa.recovery_codes_regenerated');
    });
  });

  describe('one lock for every second-factor attempt', () => {
    const wrongTotp = (secret: string) => {
      const right = [-1, 0, 1].map((d) => totpCode(secret, clock.now().getTime() + d * STEP_MS));
      return ['000000', '111111', '222222', '333333'].find((c) => !right.includes(c))!;
    };
    const actor = { type: 'user' as const, id: USER, ip: '192.0.2.7', userAgent: 'Test/1.0' };

    it('counts wrong recovery codes and wrong TOTP codes toward the same five in a row, and audits each', async () => {
      const { secret } = await enrolled();
      for (let i = 0; i < 3; i += 1) expect(await mfa.verifyTotp(USER, wrongTotp(secret), actor)).toEqual({ result: 'invalid' });
      expect(await mfa.useRecoveryCode(USER, 'aaaaa-aaaaa', actor)).toEqual({ result: 'invalid' });
      const retryAt = new Date(clock.now().getTime() + LOCK_DURATION_MS);
      expect(await mfa.useRecoveryCode(USER, 'bbbbb-bbbbb', actor)).toEqual({ result: 'locked', retryAt });
      expect(audit.events.filter((e) => e.type === 'mfa.failed').map((e) => e.details)).toEqual([
        { method: 'totp', reason: 'invalid', attempt: 1 },
        { method: 'totp', reason: 'invalid', attempt: 2 },
        { method: 'totp', reason: 'invalid', attempt: 3 },
        { method: 'recovery', reason: 'invalid', attempt: 4 },
        { method: 'recovery', reason: 'invalid', attempt: 5 },
      ]);
      expect(audit.events.filter((e) => e.type === 'mfa.failed' || e.type === 'mfa.locked').every((e) => e.actor.ip === '192.0.2.7')).toBe(true);
      expect(audit.events.at(-1)).toMatchObject({ type: 'mfa.locked', details: { failedAttempts: 5, lockedUntil: retryAt.toISOString() } });
      expect(await mfa.lockedUntil(USER)).toEqual(retryAt);
    });

    it('refuses a right recovery code while locked, without spending it, and accepts it once the lock is over', async () => {
      const { secret, recovery } = await enrolled();
      for (let i = 0; i < 5; i += 1) await mfa.verifyTotp(USER, wrongTotp(secret));
      const retryAt = (await mfa.lockedUntil(USER))!;
      expect(await mfa.useRecoveryCode(USER, recovery[0]!)).toEqual({ result: 'locked', retryAt });
      expect(await mfa.verifySecondFactor(USER, { recoveryCode: recovery[0]! })).toEqual({ result: 'locked', retryAt });
      expect(await mfa.status(USER)).toEqual({ enabled: true, recoveryCodesLeft: 10 });
      const failures = audit.events.filter((e) => e.type === 'mfa.failed').length;
      clock.advance(LOCK_DURATION_MS);
      expect(await mfa.verifySecondFactor(USER, { recoveryCode: recovery[0]! })).toEqual({ result: 'ok', methods: ['otp', 'recovery'] });
      // Refusals while locked were not checked, so not audited as wrong codes.
      expect(audit.events.filter((e) => e.type === 'mfa.failed')).toHaveLength(failures);
      expect(factors.rows.get(USER)).toMatchObject({ failedAttempts: 0, lockedUntil: null });
    });

    it('starts the count again after a right recovery code', async () => {
      const { secret, recovery } = await enrolled();
      for (let i = 0; i < 4; i += 1) await mfa.verifyTotp(USER, wrongTotp(secret));
      expect(await mfa.useRecoveryCode(USER, recovery[0]!)).toEqual({ result: 'ok' });
      for (let i = 0; i < 4; i += 1) expect(await mfa.useRecoveryCode(USER, 'ccccc-ccccc')).toEqual({ result: 'invalid' });
      expect(types()).not.toContain('mfa.locked');
    });

    it('counts a replayed code as an attempt that did not prove the user', async () => {
      const { secret } = await enrolled();
      const code = totpCode(secret, clock.now());
      expect(await mfa.verifyTotp(USER, code)).toEqual({ result: 'ok' });
      for (let i = 0; i < 4; i += 1) expect(await mfa.verifyTotp(USER, code)).toEqual({ result: 'replayed' });
      expect((await mfa.verifyTotp(USER, code)).result).toBe('locked');
      expect(audit.events.filter((e) => e.type === 'mfa.failed').map((e) => (e.details as { reason: string }).reason)).toEqual(Array(5).fill('replayed'));
    });

    it('lets the last allowed attempt through when it is right', async () => {
      const { secret } = await enrolled();
      for (let i = 0; i < 4; i += 1) await mfa.verifyTotp(USER, wrongTotp(secret));
      expect(await mfa.verifySecondFactor(USER, { code: totpCode(secret, clock.now()) })).toEqual({ result: 'ok', methods: ['otp'] });
      expect(await mfa.lockedUntil(USER)).toBeNull();
    });

    it('checks no more than five guesses of a concurrent burst', async () => {
      const totp = new CountingTotp();
      mfa = new MfaService({
        sessions, factors, recoveryCodes: codes, totp,
        hasher: new HmacRecoveryCodeHasher(Buffer.alloc(32, 7)), clock, audit, issuerName: 'Gatehouse',
      });
      const { secret } = await enrolled();
      totp.checked = 0;
      const results = await Promise.all(Array.from({ length: 20 }, () => mfa.verifyTotp(USER, wrongTotp(secret))));
      expect(totp.checked).toBe(5);
      expect(results.filter((r) => r.result === 'invalid')).toHaveLength(4);
      expect(results.filter((r) => r.result === 'locked')).toHaveLength(16);
    });
  });

  it('renews recovery codes and turns the factor off only for a session that checked the second factor recently', async () => {
    const { recovery } = await enrolled();
    for (const stale of ['other-session', 'password-only']) {
      if (stale === 'password-only') sessions.recent.add(`${stale}:${USER}`);
      await expect(mfa.regenerateRecoveryCodes(USER, stale)).rejects.toThrow(ReauthenticationRequiredError);
      await expect(mfa.disable(USER, stale)).rejects.toThrow(ReauthenticationRequiredError);
    }
    expect(await mfa.status(USER)).toEqual({ enabled: true, recoveryCodesLeft: 10 });
    expect(await mfa.useRecoveryCode(USER, recovery[0]!)).toEqual({ result: 'ok' });
    expect(types()).not.toContain('mfa.recovery_codes_regenerated');
    expect(sessions.checks.every((c) => c.userId === USER && c.userHasSecondFactor)).toBe(true);
    // A set-up never proven protects nothing: removing it needs no check.
    await mfa.disable(USER, SESSION);
    await mfa.startEnrolment(USER, EMAIL);
    sessions.checks.length = 0;
    await mfa.disable(USER, 'other-session');
    expect(sessions.checks).toEqual([]);
    expect(factors.rows.get(USER)).toBeUndefined();
  });

  it('disable removes the factor and the codes', async () => {
    const { secret, recovery } = await enrolled();
    await mfa.disable(USER, SESSION);
    expect(await mfa.status(USER)).toEqual({ enabled: false, recoveryCodesLeft: 0 });
    expect(await mfa.verifyTotp(USER, totpCode(secret, clock.now()))).toEqual({ result: 'invalid' });
    expect(await mfa.useRecoveryCode(USER, recovery[0]!)).toEqual({ result: 'invalid' });
    expect(codes.rows).toEqual([]);
    expect(types()).toEqual(['mfa.enrolled', 'mfa.disabled']);
    // And a new app can be set up.
    await expect(mfa.startEnrolment(USER, EMAIL)).resolves.toMatchObject({ secret: expect.any(String) });
  });
});
