import type { LoginThrottleKey } from '../../../src/domain/accounts/login-throttle.js';
import { RateLimiterLoginThrottle } from '../../../src/infra/login-throttle.js';

const limits = { maxFailuresPerAccount: 3, maxFailuresPerIp: 5, failureWindow: 900, blockDuration: 600 };
const throttle = () => new RateLimiterLoginThrottle({ limits });

/** One attempt whose password turns out wrong: reserved, then recorded as a failure. */
async function fail(t: RateLimiterLoginThrottle, key: LoginThrottleKey) {
  const reserved = await t.reserve(key);
  if (!reserved.allowed) return reserved;
  return t.recordFailure(key);
}

describe('RateLimiterLoginThrottle (in memory)', () => {
  it('allows attempts until an account reaches its limit, then refuses it for the block duration', async () => {
    const t = throttle();
    const key = { account: 'ada@example.com', ip: '192.0.2.1' };
    expect(await fail(t, key)).toEqual({ allowed: true });
    expect(await fail(t, key)).toEqual({ allowed: true });
    const third = await fail(t, key);
    expect(third).toEqual({ allowed: false, retryAfterSeconds: expect.any(Number) });
    const refused = await t.reserve(key);
    expect(refused.allowed).toBe(false);
    if (refused.allowed) return;
    expect(refused.retryAfterSeconds).toBeGreaterThan(limits.blockDuration - 60);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(limits.blockDuration);
  });

  it('counts accounts apart: another account from the same IP is not refused by the account limit', async () => {
    const t = throttle();
    for (let i = 0; i < 3; i += 1) await fail(t, { account: 'ada@example.com', ip: '192.0.2.1' });
    expect((await t.reserve({ account: 'ada@example.com', ip: '192.0.2.1' })).allowed).toBe(false);
    expect(await t.reserve({ account: 'bob@example.com', ip: '192.0.2.1' })).toEqual({ allowed: true });
    // The account is refused from any IP.
    expect((await t.reserve({ account: 'ada@example.com', ip: '198.51.100.7' })).allowed).toBe(false);
  });

  it('refuses an IP after its limit across accounts, and only that IP', async () => {
    const t = throttle();
    for (let i = 0; i < 5; i += 1) await fail(t, { account: `user${i}@example.com`, ip: '192.0.2.1' });
    expect((await t.reserve({ account: 'fresh@example.com', ip: '192.0.2.1' })).allowed).toBe(false);
    expect(await t.reserve({ account: 'fresh@example.com', ip: '198.51.100.7' })).toEqual({ allowed: true });
  });

  it('clears the account count on success and gives the IP its point back, but keeps the IP failures', async () => {
    const t = throttle();
    const key = { account: 'ada@example.com', ip: '192.0.2.1' };
    await fail(t, key);
    await fail(t, key);
    expect(await t.reserve(key)).toEqual({ allowed: true });
    await t.recordSuccess(key);
    expect(await fail(t, key)).toEqual({ allowed: true });
    expect(await fail(t, key)).toEqual({ allowed: true });
    // The IP has seen 4 failures (the success did not count): one more reaches its limit of 5.
    expect((await fail(t, { account: 'bob@example.com', ip: '192.0.2.1' })).allowed).toBe(false);
    expect((await t.reserve({ account: 'carol@example.com', ip: '192.0.2.1' })).allowed).toBe(false);
  });

  it('gives both points back for an attempt that was neither a failure nor a success', async () => {
    const t = throttle();
    const key = { account: 'ada@example.com', ip: '192.0.2.1' };
    for (let i = 0; i < 10; i += 1) {
      expect(await t.reserve(key)).toEqual({ allowed: true });
      await t.release(key);
    }
    await fail(t, key);
    await fail(t, key);
    expect((await fail(t, key)).allowed).toBe(false);
  });

  it('takes no account point for an attempt its IP refuses', async () => {
    const t = throttle();
    for (let i = 0; i < 5; i += 1) await fail(t, { account: `user${i}@example.com`, ip: '192.0.2.1' });
    for (let i = 0; i < 5; i += 1) expect((await t.reserve({ account: 'ada@example.com', ip: '192.0.2.1' })).allowed).toBe(false);
    // From another address Ada still has her three attempts.
    const elsewhere = { account: 'ada@example.com', ip: '198.51.100.7' };
    expect(await fail(t, elsewhere)).toEqual({ allowed: true });
    expect(await fail(t, elsewhere)).toEqual({ allowed: true });
    expect((await fail(t, elsewhere)).allowed).toBe(false);
  });

  it('counts no refused attempt: an IP refused while its last attempts were being verified is free once one succeeds', async () => {
    const t = throttle();
    const ip = '192.0.2.1';
    for (let i = 0; i < 4; i += 1) await fail(t, { account: `user${i}@example.com`, ip });
    const inFlight = { account: 'ada@example.com', ip };
    expect(await t.reserve(inFlight)).toEqual({ allowed: true });
    for (let i = 0; i < 3; i += 1) expect((await t.reserve({ account: `other${i}@example.com`, ip })).allowed).toBe(false);
    await t.recordSuccess(inFlight);
    expect(await t.reserve({ account: 'bob@example.com', ip })).toEqual({ allowed: true });
  });

  it('lets no more attempts through than the limit when they arrive at once', async () => {
    const t = throttle();
    const key = { account: 'ada@example.com', ip: '192.0.2.1' };
    const decisions = await Promise.all(Array.from({ length: 12 }, () => t.reserve(key)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(3);
  });

  it('without an IP counts the account only', async () => {
    const t = throttle();
    for (let i = 0; i < 3; i += 1) await fail(t, { account: 'ada@example.com', ip: null });
    expect((await t.reserve({ account: 'ada@example.com', ip: null })).allowed).toBe(false);
    expect(await t.reserve({ account: 'bob@example.com', ip: null })).toEqual({ allowed: true });
  });
});
