import { PasswordAttempts, type PasswordAttempt } from '../../../../src/domain/accounts/login-throttle.js';
import { InvalidCredentialsError, TooManyAttemptsError, ValidationError } from '../../../../src/domain/errors.js';
import { RateLimiterLoginThrottle } from '../../../../src/infra/login-throttle.js';
import { TestClock } from '../../../support/clock.js';
import { InMemoryAuditLog } from '../../../support/fakes.js';

const limits = { maxFailuresPerAccount: 3, maxFailuresPerIp: 10, failureWindow: 900, blockDuration: 600 };
const input: PasswordAttempt = { login: 'ada@example.com', ip: '192.0.2.1', userAgent: 'Test/1.0', kind: 'login' };
const isFailure = (error: unknown) => error instanceof InvalidCredentialsError;

describe('PasswordAttempts', () => {
  let audit: InMemoryAuditLog;
  let attempts: PasswordAttempts;

  beforeEach(() => {
    audit = new InMemoryAuditLog();
    attempts = new PasswordAttempts({ throttle: new RateLimiterLoginThrottle({ limits }), audit, clock: new TestClock(), findUserId: async () => 'user-1' });
  });

  const wrong = () => attempts.attempt(input, async () => { throw new InvalidCredentialsError(); }, isFailure);

  it('verifies no more passwords than the limit when attempts arrive at once', async () => {
    let verified = 0;
    let release!: () => void;
    const slow = new Promise<void>((resolve) => { release = resolve; });
    const burst = Array.from({ length: 10 }, () =>
      attempts.attempt(input, async () => {
        verified += 1;
        await slow;
        throw new InvalidCredentialsError();
      }, isFailure).catch((error: unknown) => error),
    );
    // Let every attempt reach the throttle before any verification ends.
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const outcomes = await Promise.all(burst);
    expect(verified).toBe(3);
    expect(outcomes.filter((e) => e instanceof InvalidCredentialsError)).toHaveLength(3);
    expect(outcomes.filter((e) => e instanceof TooManyAttemptsError)).toHaveLength(7);
    expect(audit.events.map((e) => e.type).sort()).toEqual([...Array(3).fill('login.failed'), ...Array(7).fill('login.throttled')]);
  });

  it('passes other errors on without counting them', async () => {
    for (let i = 0; i < 5; i += 1) {
      await expect(attempts.attempt(input, async () => { throw new ValidationError('The new password is too short.'); }, isFailure)).rejects.toThrow(ValidationError);
    }
    await expect(wrong()).rejects.toThrow(InvalidCredentialsError);
    await expect(wrong()).rejects.toThrow(InvalidCredentialsError);
    await expect(wrong()).rejects.toThrow(InvalidCredentialsError);
    await expect(wrong()).rejects.toThrow(TooManyAttemptsError);
    expect(audit.events.filter((e) => e.type === 'login.failed').at(-1)!.details).toMatchObject({ limitReached: true });
  });

  it('starts the account again after a proven password', async () => {
    await expect(wrong()).rejects.toThrow(InvalidCredentialsError);
    await expect(wrong()).rejects.toThrow(InvalidCredentialsError);
    await expect(attempts.attempt(input, async () => 'signed in', isFailure)).resolves.toBe('signed in');
    await expect(wrong()).rejects.toThrow(InvalidCredentialsError);
    await expect(wrong()).rejects.toThrow(InvalidCredentialsError);
    await expect(attempts.attempt(input, async () => 'signed in', isFailure)).resolves.toBe('signed in');
  });
});
