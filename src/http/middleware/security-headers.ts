import type { Middleware } from 'koa';

// No inline script or style anywhere; oidc-provider adds a hash to script-src for its form_post page only.
// form-action is left unset on purpose: Chromium applies it to the redirects after a form post, which would block
// the redirect from the login form to the relying party.
export function contentSecurityPolicy(imageOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    ["img-src 'self' data:", ...imageOrigins].join(' '),
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/** `imageOrigins`: other origins pages may show images from (the brand logo's, when it is elsewhere). */
export function securityHeaders(options: { hsts: boolean; imageOrigins?: readonly string[] }): Middleware {
  const policy = contentSecurityPolicy(options.imageOrigins);
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', policy);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (options.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
  };
}
