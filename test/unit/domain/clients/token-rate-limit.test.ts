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

describe('TokenRateLimit, property-based', () => {
  it('refuses a client exactly when it was issued its budget and is not exempt, whatever the interleaving', async () => {
    const fc = (await import('fast-check')).default;
    const clientIds = ['a', 'b', 'c'] as const;
    const step = fc.record({ clientId: fc.constantFrom(...clientIds), issue: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.subarray([...clientIds]), fc.array(step, { maxLength: 40 }), async (perMinute, exempt, steps) => {
        const rateLimit = new TokenRateLimit({
          counter: new RateLimiterTokenIssuanceCounter({ perMinute, keyPrefix: `prop-${Math.random()}` }),
          findClient: async (clientId) => ({ tokenRateLimited: !exempt.includes(clientId as (typeof clientIds)[number]) }),
        });
        const issued = new Map<string, number>();
        // Concurrent batches: every step of a batch runs at once, as requests in flight do.
        for (let start = 0; start < steps.length; start += 4) {
          const batch = steps.slice(start, start + 4);
          const before = new Map(issued);
          const verdicts = await Promise.all(batch.map(async ({ clientId, issue }) => {
            if (issue) {
              issued.set(clientId, (issued.get(clientId) ?? 0) + 1);
              await rateLimit.issued(clientId);
              return undefined;
            }
            return { clientId, allowed: (await rateLimit.admit(clientId)).allowed };
          }));
          for (const verdict of verdicts) {
            if (!verdict) continue;
            const exempted = exempt.includes(verdict.clientId as (typeof clientIds)[number]);
            const low = before.get(verdict.clientId) ?? 0;
            const high = issued.get(verdict.clientId) ?? 0;
            // Counted before the batch: decided; counted within it: either answer is right (the race the doc names).
            if (exempted || high < perMinute) expect(verdict.allowed).toBe(true);
            else if (low >= perMinute) expect(verdict.allowed).toBe(false);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
