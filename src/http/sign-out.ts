import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from '../config/env.js';
import type { SessionService } from '../domain/sessions/session-service.js';
import { providerCookieOptions } from '../oidc/configuration.js';
import type { SignedIn } from './first-party-sign-in.js';
import { requestMeta } from './middleware/request-context.js';

/** Signing this browser out of its SSO session, the same from the account pages and from the admin console. */
export interface SessionSignOut {
  /** Ends the session (logged_out, audited with the user as actor) and clears its cookie. */
  signOut(ctx: Context, signedIn: SignedIn): Promise<void>;
  /** Clears the session cookie (the session itself has ended already, or there is none). */
  clearCookie(ctx: Context): void;
}

export function createSessionSignOut(deps: {
  readonly provider: Provider;
  readonly sessions: Pick<SessionService, 'end'>;
  readonly config: Pick<Config, 'issuer'>;
}): SessionSignOut {
  const cookie = providerCookieOptions(deps.config);
  const clearCookie = (ctx: Context) => ctx.cookies.set(deps.provider.cookieName('session'), null, cookie);
  return {
    clearCookie,
    async signOut(ctx, { user, session }) {
      await deps.sessions.end(session.uid, 'logged_out', { type: 'user', id: user.id, ...requestMeta(ctx) });
      clearCookie(ctx);
    },
  };
}
