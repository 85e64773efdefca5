import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, Middleware } from 'koa';
import { errors } from 'oidc-provider';
import type { TokenRateLimit } from '../domain/clients/token-rate-limit.js';
import type { OidcDeps } from './configuration.js';

/** A token request in progress: whether its client was checked, and the wait it was told of when refused. */
interface TokenRequest {
  checked: boolean;
  retryAfterSeconds?: number;
}

const tokenRequests = new AsyncLocalStorage<TokenRequest>();

/**
 * The refusal, as oidc-provider's own error so it answers it as OAuth JSON: `temporarily_unavailable` with status 429.
 * RFC 6749 defines no rate-limit error for the token endpoint; this one (from its authorization endpoint) says "try
 * again later" to client libraries, which `invalid_request` would not (`slow_down` belongs to the device flow).
 */
function refusal(retryAfterSeconds: number): Error {
  const error = new errors.TemporarilyUnavailable(`This client was issued too many tokens in the last minute; try again in ${retryAfterSeconds} seconds.`);
  error.status = 429;
  error.statusCode = 429;
  return error;
}

/**
 * The client lookup oidc-provider authenticates a token request with (Basic credentials, the body's client_id, a
 * client assertion's subject all come through it, before any credential is checked): inside a token request, a
 * client whose budget is used up is refused there, before anything is issued. The body stays oidc-provider's to read.
 */
export function limitingTokenClients(findClient: OidcDeps['findClient'], limit: TokenRateLimit | undefined): OidcDeps['findClient'] {
  if (!limit) return findClient;
  return async (clientId) => {
    const request = tokenRequests.getStore();
    if (request && !request.checked) {
      request.checked = true;
      const budget = await limit.admit(clientId);
      if (!budget.allowed) {
        request.retryAfterSeconds = budget.retryAfterSeconds;
        throw refusal(budget.retryAfterSeconds);
      }
    }
    return findClient(clientId);
  };
}

/**
 * The per-client rate limit of the token endpoint, around oidc-provider's own handling: marks the request so that
 * limitingTokenClients checks the client it names, says when to come back on a refusal, and counts each token response
 * oidc-provider gives (200) for the client it authenticated (ctx.oidc.client). Only issued tokens count, so requests
 * with wrong credentials that merely name a client cannot use up its budget.
 */
export function tokenRateLimit(deps: { readonly limit: TokenRateLimit; readonly tokenPath: string }): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== deps.tokenPath) return next();
    const request: TokenRequest = { checked: false };
    await tokenRequests.run(request, next);
    if (request.retryAfterSeconds !== undefined && ctx.status === 429) ctx.set('Retry-After', String(request.retryAfterSeconds));
    const authenticated = (ctx as Context & { oidc?: { client?: { clientId: string } } }).oidc?.client;
    if (ctx.status === 200 && authenticated) await deps.limit.issued(authenticated.clientId);
  };
}
