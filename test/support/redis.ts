import { randomBytes } from 'node:crypto';
import { variantsRequiredInCi } from './required-in-ci.js';

export type ThrottleStore = 'memory' | 'redis';

export const MISSING_REDIS_IN_CI =
  'TEST_REDIS_URL is not set; CI must run the login throttle tests on Redis too (.ci/run sets it, e.g. redis://127.0.0.1:6379).';

/** In memory always; Redis too when TEST_REDIS_URL is set (required in CI). */
export function throttleStores(env: NodeJS.ProcessEnv = process.env): ThrottleStore[] {
  return variantsRequiredInCi<ThrottleStore>(env, {
    variable: 'TEST_REDIS_URL',
    withoutService: ['memory'],
    withService: ['memory', 'redis'],
    missingInCi: MISSING_REDIS_IN_CI,
  });
}

/** The environment for a Gatehouse using this store; Redis keys get a prefix of their own, so runs never collide. */
export function throttleStoreEnv(store: ThrottleStore): Record<string, string> {
  if (store === 'memory') return {};
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set');
  return { REDIS_URL: url, REDIS_KEY_PREFIX: `gh_test_${randomBytes(6).toString('hex')}` };
}
