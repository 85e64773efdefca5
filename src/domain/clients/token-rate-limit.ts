import type { RegisteredClient } from './client.js';

/** Whether a client may be issued another token now, and if not, in how many seconds it may. */
export type TokenBudget = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** Counts the tokens issued to each client per minute (rate-limiter-flexible in memory or Redis: src/infra). */
export interface TokenIssuanceCounter {
  /** Whether the client has tokens left in the current minute; counts nothing. */
  remaining(clientId: string): Promise<TokenBudget>;
  /** One token was issued to the client. */
  count(clientId: string): Promise<void>;
}

export interface TokenRateLimitDeps {
  readonly counter: TokenIssuanceCounter;
  readonly findClient: (clientId: string) => Promise<Pick<RegisteredClient, 'tokenRateLimited'> | undefined>;
}

const ALLOWED: TokenBudget = { allowed: true };

/**
 * The token endpoint's per-client rate limit (TOKEN_RATE_LIMIT per minute). Only tokens actually issued to an
 * authenticated client are counted, so requests with wrong credentials that merely name a client cannot use up its
 * budget; a request is refused, before anything is issued, when the client it names has used its budget and is not
 * exempted by an administrator. The check and the count are separate steps, so requests in flight together may
 * exceed the limit by their number.
 */
export class TokenRateLimit {
  constructor(private readonly deps: TokenRateLimitDeps) {}

  /** Before a token request naming `clientId`. The client's exemption is read only once its budget is used up. */
  async admit(clientId: string): Promise<TokenBudget> {
    const budget = await this.deps.counter.remaining(clientId);
    if (budget.allowed) return budget;
    const client = await this.deps.findClient(clientId);
    // An unknown client gets no token anyway; an exempted one is never refused.
    return client?.tokenRateLimited === false ? ALLOWED : budget;
  }

  /** A token was issued to this authenticated client. */
  issued(clientId: string): Promise<void> {
    return this.deps.counter.count(clientId);
  }
}
