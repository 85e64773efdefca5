import type { Context, Middleware, Next } from 'koa';
import { ReauthenticationRequiredError } from '../../domain/errors.js';
import type { MfaService } from '../../domain/mfa/mfa-service.js';
import type { SessionService } from '../../domain/sessions/session-service.js';

export interface RecentAuthenticationDeps {
  readonly sessions: Pick<SessionService, 'assertRecentAuthentication'>;
  readonly mfa: Pick<MfaService, 'hasSecondFactor'>;
}

export interface RecentAuthenticationOptions {
  /** The signed-in user and SSO session of this request (set by the router's sign-in check). */
  signedIn(ctx: Context): { readonly userId: string; readonly sessionUid: string };
  /** Answers a request whose last check is too old: a "Confirm it is you" page, or a redirect to one. */
  onStale(ctx: Context, secondFactor: boolean): Promise<void> | void;
}

/**
 * Sensitive actions (account: password, recovery codes, turning the factor off, logging out everywhere; every admin
 * console write) pass only when the session proved its user recently: a second-factor check for users who have one,
 * else a password check, within REAUTHENTICATION_MAX_AGE. The rule is the domain's
 * (SessionService.assertRecentAuthentication, which the services performing these actions apply themselves); this
 * asks it before the handler runs, so that a stale session is sent to "Confirm it is you" before anything is typed.
 */
export function requireRecentAuthentication(deps: RecentAuthenticationDeps, options: RecentAuthenticationOptions): Middleware {
  return async (ctx: Context, next: Next) => {
    const { userId, sessionUid } = options.signedIn(ctx);
    const secondFactor = await deps.mfa.hasSecondFactor(userId);
    try {
      await deps.sessions.assertRecentAuthentication(sessionUid, userId, secondFactor);
    } catch (error) {
      if (!(error instanceof ReauthenticationRequiredError)) throw error;
      await options.onStale(ctx, error.secondFactor);
      return;
    }
    await next();
  };
}
