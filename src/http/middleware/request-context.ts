import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, Middleware } from 'koa';
import type { RequestMeta } from '../../domain/sessions/session.js';

const storage = new AsyncLocalStorage<RequestMeta>();
const MAX_USER_AGENT = 512;

/**
 * Makes the client's address and user agent available to code that oidc-provider calls without a request in reach
 * (its adapter saving a Session). The address honours X-Forwarded-For only when TRUST_PROXY is on (koa's app.proxy).
 */
export function requestContext(): Middleware {
  return (ctx, next) => storage.run(requestMeta(ctx), next);
}

/** The client's address and user agent (cut to a length worth keeping), as sessions and audit events record them. */
export function requestMeta(ctx: Context): RequestMeta {
  const userAgent = ctx.get('user-agent');
  return { ip: ctx.ip || null, userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null };
}

export function currentRequestMeta(): RequestMeta {
  return storage.getStore() ?? { ip: null, userAgent: null };
}
