import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { ForbiddenError } from '../../domain/errors.js';

// Signed double-submit: a random value in an HttpOnly cookie, and in each form an HMAC of that value bound to the
// form's scope (an interaction uid, say). A cross-site page can neither read the cookie nor forge the HMAC.

export const CSRF_FIELD = 'csrf';

export interface Csrf {
  /** The token to put in a form (or a header) for this scope; sets the cookie when the browser has none. */
  token(ctx: Context, scope: string): string;
  /** Whether a submitted token (a form field or a header) is this browser's token for this scope (constant time). */
  matches(ctx: Context, scope: string, submitted: string): boolean;
  /** Middleware refusing a POST whose form token does not match the cookie and scope. */
  verify(scopeOf: (ctx: Context) => string): Middleware;
}

/** The token a form posted (its csrf field), or '' without one. */
export function formToken(ctx: Context): string {
  const body = ctx.request.body as Record<string, unknown> | undefined;
  return typeof body?.[CSRF_FIELD] === 'string' ? (body[CSRF_FIELD] as string) : '';
}

/** `refusal`: what the page of a refused post says (the pages' text, src/http/text). */
export function createCsrf(options: { key: Buffer; secure: boolean; refusal: string }): Csrf {
  const cookieName = options.secure ? '__Host-gatehouse_csrf' : 'gatehouse_csrf';
  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, secure: options.secure, path: '/', signed: false, overwrite: true };
  const sign = (value: string, scope: string) => createHmac('sha256', options.key).update(`${scope}\n${value}`).digest('base64url');

  const csrf: Csrf = {
    token(ctx, scope) {
      let value = ctx.cookies.get(cookieName, { signed: false });
      if (!value || !/^[A-Za-z0-9_-]{43}$/.test(value)) {
        value = randomBytes(32).toString('base64url');
        ctx.cookies.set(cookieName, value, cookieOptions);
      }
      return sign(value, scope);
    },
    matches(ctx, scope, submitted) {
      const value = ctx.cookies.get(cookieName, { signed: false });
      const expected = value ? Buffer.from(sign(value, scope)) : undefined;
      const actual = Buffer.from(submitted);
      return expected !== undefined && expected.length === actual.length && timingSafeEqual(expected, actual);
    },
    verify(scopeOf) {
      return async (ctx, next) => {
        if (!csrf.matches(ctx, scopeOf(ctx), formToken(ctx))) throw new ForbiddenError(options.refusal);
        await next();
      };
    },
  };
  return csrf;
}
