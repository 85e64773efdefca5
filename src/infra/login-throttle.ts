import { Redis } from 'ioredis';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LoginThrottle, LoginThrottleDecision, LoginThrottleKey } from '../domain/accounts/login-throttle.js';
import { createRateLimiter } from './rate-limiter.js';

export interface LoginThrottleLimits {
  readonly maxFailuresPerAccount: number;
  readonly maxFailuresPerIp: number;
  /** Seconds over which failures are counted. */
  readonly failureWindow: number;
  /** Seconds an account or IP is refused once it reached its limit. */
  readonly blockDuration: number;
}

export interface LoginThrottleOptions {
  readonly limits: LoginThrottleLimits;
  /** Shared counters in Redis; without it they live in this process's memory. */
  readonly redis?: Redis;
  /** Prefix of every key (in Redis, keep deployments sharing one Redis apart). */
  readonly keyPrefix?: string;
}

interface Limiter {
  readonly limiter: RateLimiterAbstract;
  readonly points: number;
}

function createLimiter(options: LoginThrottleOptions, kind: 'account' | 'ip', points: number): Limiter {
  const keyPrefix = `${options.keyPrefix ?? 'gatehouse'}:login:${kind}`;
  return { limiter: createRateLimiter({ points, duration: options.limits.failureWindow, keyPrefix, redis: options.redis }), points };
}

const retryAfter = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * The login throttle over rate-limiter-flexible: one limiter per account (normalised email), one per IP. A limiter's
 * points are the attempts allowed in the window; each attempt takes one before its password is verified.
 */
export class RateLimiterLoginThrottle implements LoginThrottle {
  private readonly account: Limiter;
  private readonly ip: Limiter;

  constructor(private readonly options: LoginThrottleOptions) {
    this.account = createLimiter(options, 'account', options.limits.maxFailuresPerAccount);
    this.ip = createLimiter(options, 'ip', options.limits.maxFailuresPerIp);
  }

  private pairs(key: LoginThrottleKey): [Limiter, string][] {
    return key.ip ? [[this.account, key.account], [this.ip, key.ip]] : [[this.account, key.account]];
  }

  async reserve(key: LoginThrottleKey): Promise<LoginThrottleDecision> {
    const taken: [Limiter, string][] = [];
    for (const pair of this.pairs(key)) {
      try {
        // consume() is atomic in memory and in Redis (one script): concurrent attempts each get their own count.
        await pair[0].limiter.consume(pair[1]);
        taken.push(pair);
      } catch (rejection) {
        // Past the limit, consume() rejects with the state (having counted the refused attempt too); anything else is a
        // store failure, which counted nothing.
        const refused = rejection instanceof RateLimiterRes;
        // No attempt is made: every point it took is given back, the refusing limiter's included.
        await this.giveBack(refused ? [...taken, pair] : taken);
        if (!refused) throw rejection;
        // Not blocked yet (the attempts that reached the limit are still being verified): the one that fails blocks the
        // key for the block duration, the one that succeeds frees it; either way, no longer than the block duration.
        return { allowed: false, retryAfterSeconds: retryAfter(Math.min(rejection.msBeforeNext, this.options.limits.blockDuration * 1000)) };
      }
    }
    return { allowed: true };
  }

  async recordFailure(key: LoginThrottleKey): Promise<LoginThrottleDecision> {
    let wait = 0;
    for (const [{ limiter, points }, id] of this.pairs(key)) {
      // The failure's point was taken by reserve(); attempts still being verified count too.
      const res = await limiter.get(id);
      if (res && res.consumedPoints >= points) {
        // The limit is reached: refuse for the whole block duration, from now.
        await limiter.block(id, this.options.limits.blockDuration);
        wait = Math.max(wait, this.options.limits.blockDuration * 1000);
      }
    }
    return wait > 0 ? { allowed: false, retryAfterSeconds: retryAfter(wait) } : { allowed: true };
  }

  async recordSuccess(key: LoginThrottleKey): Promise<void> {
    // The account starts again from nothing; the IP counts failures only, so it gets this attempt's point back.
    await this.account.limiter.delete(key.account);
    if (key.ip) await this.giveBack([[this.ip, key.ip]]);
  }

  async release(key: LoginThrottleKey): Promise<void> {
    await this.giveBack(this.pairs(key));
  }

  private async giveBack(pairs: readonly [Limiter, string][]): Promise<void> {
    for (const [{ limiter }, id] of pairs) {
      // Only a count that still exists: a reward on an expired one would start the next window below zero.
      const res = await limiter.get(id);
      if (res && res.consumedPoints > 0) await limiter.reward(id, 1);
    }
  }
}

/** Connects to REDIS_URL, or fails with a message naming it. */
export async function connectRedis(url: string, onError: (error: Error) => void): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  // Connection errors after start-up are handled by the throttle's in-memory fallback; ioredis reconnects.
  let connected = false;
  redis.on('error', (error: Error) => {
    if (connected) onError(error);
  });
  try {
    await redis.connect();
    connected = true;
  } catch (error) {
    redis.disconnect();
    throw new Error(`REDIS_URL: cannot connect to Redis (${(error as Error).message})`);
  }
  return redis;
}
