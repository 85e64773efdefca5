import { MISSING_REDIS_IN_CI, throttleStores } from '../../support/redis.js';

// The test helpers decide which throttle stores the login throttle tests run on; CI must not lose Redis silently.
describe('throttleStores', () => {
  it('runs in memory and on Redis when TEST_REDIS_URL is set, in CI or not', () => {
    expect(throttleStores({ TEST_REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual(['memory', 'redis']);
    expect(throttleStores({ TEST_REDIS_URL: 'redis://127.0.0.1:6379', CI: 'true' })).toEqual(['memory', 'redis']);
  });

  it('locally skips Redis without TEST_REDIS_URL', () => {
    expect(throttleStores({})).toEqual(['memory']);
  });

  it('fails loudly in CI without TEST_REDIS_URL', () => {
    expect(() => throttleStores({ CI: 'true' })).toThrow(MISSING_REDIS_IN_CI);
  });
});
