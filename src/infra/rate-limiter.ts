import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface RateLimiterOptions {
  readonly points: number;
  /** Seconds of the counting window. */
  readonly duration: number;
  readonly keyPrefix: string;
  /** Shared counters in Redis; without it they live in this process's memory. */
  readonly redis?: Redis | undefined;
}

/**
 * A rate-limiter-flexible limiter in Redis when there is one, else in memory. While Redis is unreachable, counting
 * goes on in this process's memory rather than failing every request that counts (a sign-in, a token).
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiterAbstract {
  const { redis, ...common } = options;
  if (!redis) return new RateLimiterMemory(common);
  return new RateLimiterRedis({ ...common, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(common) });
}
