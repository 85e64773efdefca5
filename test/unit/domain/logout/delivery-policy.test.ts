import { giveUpAt, MIN_RETRY_DELAY_MS, outcomeOf, retryDelayMs, type RetryPolicy } from '../../../../src/domain/logout/delivery-policy.js';

const POLICY: RetryPolicy = { baseDelayMs: 5_000, maxDelayMs: 3_600_000, retryWindowMs: 24 * 3_600_000 };
const CREATED = new Date('2026-03-01T10:00:00Z');
const at = (ms: number) => new Date(CREATED.getTime() + ms);

describe('back-channel logout retry policy', () => {
  it('backs off exponentially with full jitter between a floor and a capped ceiling', () => {
    expect(retryDelayMs(POLICY, 1, () => 0)).toBe(MIN_RETRY_DELAY_MS);
    expect(retryDelayMs(POLICY, 1, () => 0.999999)).toBe(4_999);
    expect(retryDelayMs(POLICY, 2, () => 0.999999)).toBe(9_999);
    expect(retryDelayMs(POLICY, 5, () => 0.999999)).toBe(79_999);
    // The cap holds however many attempts failed.
    expect(retryDelayMs(POLICY, 40, () => 0.999999)).toBe(3_599_996);
    expect(retryDelayMs(POLICY, 1000, () => 0.5)).toBeLessThanOrEqual(POLICY.maxDelayMs);
    // Jitter spreads the retries of many notifications over the interval.
    const draws = Array.from({ length: 50 }, (_, i) => retryDelayMs(POLICY, 3, () => i / 50));
    expect(new Set(draws).size).toBe(50);
    expect(Math.max(...draws)).toBeLessThan(20_000);
  });

  it('delivered on success, counting the attempt', () => {
    expect(outcomeOf(POLICY, { createdAt: CREATED, attempts: 2 }, { ok: true }, at(1000), Math.random)).toEqual({ state: 'delivered', attempts: 3, at: at(1000) });
  });

  it('schedules a retry after a failure inside the window, never past the give-up time', () => {
    const retry = outcomeOf(POLICY, { createdAt: CREATED, attempts: 0 }, { ok: false, error: 'HTTP 500', retryable: true }, at(0), () => 0.5);
    expect(retry).toEqual({ state: 'pending', attempts: 1, at: at(0), nextAttemptAt: at(3_000), lastError: 'HTTP 500' });
    const nearEnd = at(POLICY.retryWindowMs - 10);
    const last = outcomeOf(POLICY, { createdAt: CREATED, attempts: 30 }, { ok: false, error: 'HTTP 500', retryable: true }, nearEnd, () => 0.9);
    expect(last).toMatchObject({ state: 'pending', nextAttemptAt: giveUpAt(POLICY, { createdAt: CREATED }) });
  });

  it('fails once the retry window has passed, or at once when retrying cannot help', () => {
    expect(outcomeOf(POLICY, { createdAt: CREATED, attempts: 31 }, { ok: false, error: 'ECONNREFUSED', retryable: true }, at(POLICY.retryWindowMs), Math.random))
      .toEqual({ state: 'failed', attempts: 32, at: at(POLICY.retryWindowMs), lastError: 'ECONNREFUSED' });
    expect(outcomeOf(POLICY, { createdAt: CREATED, attempts: 0 }, { ok: false, error: 'destination refused', retryable: false }, at(1), Math.random))
      .toMatchObject({ state: 'failed', attempts: 1 });
  });
});
