import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { ForbiddenError } from '../../domain/errors.js';

// Signed double-submit: a random value in an HttpOnly cookie, and in each form an HMAC of that value bound to the
// form's scope (an interaction uid, say). A cross-site page can neither read the cookie nor forge the HMAC.

export const CSRF_FIELD = 'csrf';

export interface Csrf {
  /** The token to put in a form for this scope; sets the cookie when the browser has none. */
  token(ctx: Context, scope: string): string;
  /** Middleware refusing a POST whose token does not match the cookie and scope. */
  verify(scopeOf: (ctx: Context) => string): Middleware;
}

export function createCsrf(options: { key: Buffer; secure: boolean }): Csrf {
  const cookieName = options.secure ? '__Host-gatehouse_csrf' : 'gatehouse_csrf';
  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, secure: options.secure, path: '/', signed: false, overwrite: true };
  const sign = (value: string, scope: string) => createHmac('sha256', options.key).update(`${scope}\n${value}`).digest('base64url');

  return {
    token(ctx, scope) {
      let value = ctx.cookies.get(cookieName, { signed: false });
      if (!value || !/^[A-Za-z0-9_-]{43}$/.test(value)) {
        value = randomBytes(32).toString('base64url');
        ctx.cookies.set(cookieName, value, cookieOptions);
      }
      return sign(value, scope);
    },
    verify(scopeOf) {
      return async (ctx, next) => {
        const value = ctx.cookies.get(cookieName, { signed: false });
        const body = ctx.request.body as Record<string, unknown> | undefined;
        const submitted = typeof body?.[CSRF_FIELD] === 'string' ? (body[CSRF_FIELD] as string) : '';
        const expected = value ? Buffer.from(sign(value, scopeOf(ctx))) : undefined;
        const actual = Buffer.from(submitted);
        if (!expected || expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
          throw new ForbiddenError('This form has expired or was not sent by Gatehouse. Go back, reload the page and try again.');
        }
        await next();
      };
    },
  };
}
