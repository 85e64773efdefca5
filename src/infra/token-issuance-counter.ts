import type { Redis } from 'ioredis';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { TokenBudget, TokenIssuanceCounter } from '../domain/clients/token-rate-limit.js';
import { createRateLimiter } from './rate-limiter.js';

export interface TokenIssuanceCounterOptions {
  /** Tokens a client may be issued per minute. */
  readonly perMinute: number;
  /** Shared counters in Redis; without it they live in this process's memory. */
  readonly redis?: Redis;
  readonly keyPrefix?: string;
}

const WINDOW_SECONDS = 60;

/** Tokens issued per client and minute, over rate-limiter-flexible (a fixed window of 60 s from the first token). */
export class RateLimiterTokenIssuanceCounter implements TokenIssuanceCounter {
  private readonly limiter: RateLimiterAbstract;

  constructor(private readonly options: TokenIssuanceCounterOptions) {
    const keyPrefix = `${options.keyPrefix ?? 'gatehouse'}:token`;
    this.limiter = createRateLimiter({ points: options.perMinute, duration: WINDOW_SECONDS, keyPrefix, redis: options.redis });
  }

  async remaining(clientId: string): Promise<TokenBudget> {
    const state = await this.limiter.get(clientId);
    if (!state || state.consumedPoints < this.options.perMinute) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(state.msBeforeNext / 1000)) };
  }

  async count(clientId: string): Promise<void> {
    // penalty() adds a point without refusing: the refusal is remaining()'s, before a token is issued.
    await this.limiter.penalty(clientId, 1);
  }
}
