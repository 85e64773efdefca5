import { RateLimiterLoginThrottle } from '../../../src/infra/login-throttle.js';

const limits = { maxFailuresPerAccount: 3, maxFailuresPerIp: 5, failureWindow: 900, blockDuration: 600 };
const throttle = () => new RateLimiterLoginThrottle({ limits });

describe('RateLimiterLoginThrottle (in memory)', () => {
  it('allows attempts until an account reaches its limit, then refuses it for the block duration', async () => {
    const t = throttle();
    const key = { account: 'ada@example.com', ip: '192.0.2.1' };
    expect(await t.check(key)).toEqual({ allowed: true });
    expect(await t.recordFailure(key)).toEqual({ allowed: true });
    expect(await t.recordFailure(key)).toEqual({ allowed: true });
    const third = await t.recordFailure(key);
    expect(third).toEqual({ allowed: false, retryAfterSeconds: expect.any(Number) });
    const refused = await t.check(key);
    expect(refused.allowed).toBe(false);
    if (refused.allowed) return;
    expect(refused.retryAfterSeconds).toBeGreaterThan(limits.blockDuration - 60);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(limits.blockDuration);
  });

  it('counts accounts apart: another account from the same IP is not refused by the account limit', async () => {
    const t = throttle();
    for (let i = 0; i < 3; i += 1) await t.recordFailure({ account: 'ada@example.com', ip: '192.0.2.1' });
    expect((await t.check({ account: 'ada@example.com', ip: '192.0.2.1' })).allowed).toBe(false);
    expect(await t.check({ account: 'bob@example.com', ip: '192.0.2.1' })).toEqual({ allowed: true });
    // The account is refused from any IP.
    expect((await t.check({ account: 'ada@example.com', ip: '198.51.100.7' })).allowed).toBe(false);
  });

  it('refuses an IP after its limit across accounts, and only that IP', async () => {
    const t = throttle();
    for (let i = 0; i < 5; i += 1) await t.recordFailure({ account: `user${i}@example.com`, ip: '192.0.2.1' });
    expect((await t.check({ account: 'fresh@example.com', ip: '192.0.2.1' })).allowed).toBe(false);
    expect(await t.check({ account: 'fresh@example.com', ip: '198.51.100.7' })).toEqual({ allowed: true });
  });

  it('clears the account count on success, but not the IP count', async () => {
    const t = throttle();
    const key = { account: 'ada@example.com', ip: '192.0.2.1' };
    await t.recordFailure(key);
    await t.recordFailure(key);
    await t.recordSuccess(key);
    expect(await t.recordFailure(key)).toEqual({ allowed: true });
    expect(await t.recordFailure(key)).toEqual({ allowed: true });
    // The IP has now seen 4 failures: one more reaches its limit of 5.
    expect((await t.recordFailure({ account: 'bob@example.com', ip: '192.0.2.1' })).allowed).toBe(false);
    expect((await t.check({ account: 'carol@example.com', ip: '192.0.2.1' })).allowed).toBe(false);
  });

  it('without an IP counts the account only', async () => {
    const t = throttle();
    for (let i = 0; i < 3; i += 1) await t.recordFailure({ account: 'ada@example.com', ip: null });
    expect((await t.check({ account: 'ada@example.com', ip: null })).allowed).toBe(false);
    expect(await t.check({ account: 'bob@example.com', ip: null })).toEqual({ allowed: true });
  });
});
