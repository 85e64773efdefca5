import { randomBytes } from 'node:crypto';

export type ThrottleStore = 'memory' | 'redis';

/** In memory always; Redis too when TEST_REDIS_URL is set (CI sets it). */
export function throttleStores(): ThrottleStore[] {
  return process.env.TEST_REDIS_URL ? ['memory', 'redis'] : ['memory'];
}

/** The environment for a Gatehouse using this store; Redis keys get a prefix of their own, so runs never collide. */
export function throttleStoreEnv(store: ThrottleStore): Record<string, string> {
  if (store === 'memory') return {};
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set');
  return { REDIS_URL: url, REDIS_KEY_PREFIX: `gh_test_${randomBytes(6).toString('hex')}` };
}
