import { randomBytes } from 'node:crypto';

export type ThrottleStore = 'memory' | 'redis';

export const MISSING_REDIS_IN_CI =
  'TEST_REDIS_URL is not set; CI must run the login throttle tests on Redis too (.ci/run sets it, e.g. redis://127.0.0.1:6379).';

/**
 * In memory always; Redis too when TEST_REDIS_URL is set. Locally the Redis variants are skipped without it (the
 * global setup prints one line); in CI (CI=true) a missing TEST_REDIS_URL is a failure, never a silent skip.
 */
export function throttleStores(env: NodeJS.ProcessEnv = process.env): ThrottleStore[] {
  if (env.TEST_REDIS_URL) return ['memory', 'redis'];
  if (env.CI === 'true') throw new Error(MISSING_REDIS_IN_CI);
  return ['memory'];
}

/** The environment for a Gatehouse using this store; Redis keys get a prefix of their own, so runs never collide. */
export function throttleStoreEnv(store: ThrottleStore): Record<string, string> {
  if (store === 'memory') return {};
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set');
  return { REDIS_URL: url, REDIS_KEY_PREFIX: `gh_test_${randomBytes(6).toString('hex')}` };
}
