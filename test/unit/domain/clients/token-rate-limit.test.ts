import { TokenRateLimit, type TokenBudget, type TokenIssuanceCounter } from '../../../../src/domain/clients/token-rate-limit.js';
import { RateLimiterTokenIssuanceCounter } from '../../../../src/infra/token-issuance-counter.js';

describe('TokenRateLimit over the in-memory counter', () => {
  const exempted = new Set<string>();
  const known = new Set(['job', 'bulk']);
  function limit(perMinute: number) {
    const counter = new RateLimiterTokenIssuanceCounter({ perMinute, keyPrefix: `unit-${Math.random()}` });
    const lookups: string[] = [];
    const rateLimit = new TokenRateLimit({
      counter,
      findClient: async (clientId) => {
        lookups.push(clientId);
        return known.has(clientId) ? { tokenRateLimited: !exempted.has(clientId) } : undefined;
      },
    });
    return { rateLimit, lookups };
  }

  it('admits a client until it was issued its tokens of the minute, then says how long to wait', async () => {
    const { rateLimit, lookups } = limit(2);
    expect(await rateLimit.admit('job')).toEqual({ allowed: true });
    await rateLimit.issued('job');
    await rateLimit.issued('job');
    const refused = (await rateLimit.admit('job')) as Extract<TokenBudget, { allowed: false }>;
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Admitting counts nothing, and the client is looked up only once its budget is used.
    expect(await rateLimit.admit('bulk')).toEqual({ allowed: true });
    expect(lookups).toEqual(['job']);
  });

  it('never refuses an exempted client, and refuses an unknown one only past the budget', async () => {
    const { rateLimit } = limit(1);
    exempted.add('bulk');
    for (let i = 0; i < 5; i += 1) await rateLimit.issued('bulk');
    expect(await rateLimit.admit('bulk')).toEqual({ allowed: true });
    expect(await rateLimit.admit('nobody')).toEqual({ allowed: true });
  });

  it('counts concurrent issuances exactly (each one point)', async () => {
    const counter: TokenIssuanceCounter = new RateLimiterTokenIssuanceCounter({ perMinute: 50, keyPrefix: `unit-${Math.random()}` });
    await Promise.all(Array.from({ length: 49 }, () => counter.count('job')));
    expect(await counter.remaining('job')).toEqual({ allowed: true });
    await counter.count('job');
    expect((await counter.remaining('job')).allowed).toBe(false);
  });
});
