import type { Middleware } from 'koa';

/** Seconds relying parties and proxies may keep discovery: endpoints change only with a new deployment. */
export const DISCOVERY_MAX_AGE_SECONDS = 300;
/**
 * Seconds they may keep the JWKS: shorter than discovery, so a rotated key reaches verifiers that do not fetch again
 * on an unknown `kid` within a minute.
 */
export const JWKS_MAX_AGE_SECONDS = 60;
/** Seconds the stylesheets may be kept (they carry an ETag, so a browser revalidates cheaply afterwards). */
export const ASSET_MAX_AGE_SECONDS = 3600;

export const NO_STORE = 'no-store';

const PUBLIC_PATHS: ReadonlyMap<string, number> = new Map([
  ['/.well-known/openid-configuration', DISCOVERY_MAX_AGE_SECONDS],
  ['/.well-known/oauth-authorization-server', DISCOVERY_MAX_AGE_SECONDS],
  ['/jwks', JWKS_MAX_AGE_SECONDS],
]);

/**
 * The one caching rule of every response: discovery, JWKS and the stylesheets are public for a short while; anything
 * else — pages with forms or personal data, token, userinfo, introspection and admin answers, health checks, errors —
 * is never stored.
 */
export function cacheControlFor(method: string, path: string, status: number): string {
  if ((method !== 'GET' && method !== 'HEAD') || status >= 400) return NO_STORE;
  const maxAge = PUBLIC_PATHS.get(path) ?? (path.startsWith('/assets/') ? ASSET_MAX_AGE_SECONDS : undefined);
  return maxAge === undefined ? NO_STORE : `public, max-age=${maxAge}`;
}

/**
 * Sets Cache-Control before the request is handled (oidc-provider's interaction results end the response
 * themselves), and again afterwards, when the status is known (an error is never cacheable, whatever the path).
 */
export function cachePolicy(): Middleware {
  return async (ctx, next) => {
    ctx.set('Cache-Control', cacheControlFor(ctx.method, ctx.path, 200));
    try {
      await next();
    } finally {
      if (!ctx.headerSent) ctx.set('Cache-Control', cacheControlFor(ctx.method, ctx.path, ctx.status));
    }
  };
}
