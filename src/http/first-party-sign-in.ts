import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from '../config/env.js';
import type { AccountService } from '../domain/accounts/account-service.js';
import type { User } from '../domain/accounts/user.js';
import type { InternalClient } from '../domain/clients/internal-clients.js';
import type { SessionService } from '../domain/sessions/session-service.js';
import { isSecureIssuer, providerCookieOptions } from '../oidc/configuration.js';
import { requestMeta } from './middleware/request-context.js';

// How Gatehouse's own pages (/account, /admin) sign in: like any application, with the authorization code flow and
// PKCE as one of its internal public clients. The pages then rely on the SSO session itself, not on tokens.

export type OidcSession = Awaited<ReturnType<Provider['Session']['get']>>;

/** Who is on one of Gatehouse's own pages: the user and the SSO session of this browser. */
export interface SignedIn {
  readonly user: User;
  readonly session: OidcSession;
}

/** The sign-in a page started: kept in a signed cookie until the callback. */
interface PendingSignIn {
  readonly state: string;
  readonly verifier: string;
  readonly returnTo: string;
}

export type SignInFailure = 'expired' | 'cancelled' | 'failed';

export interface FirstPartySignInDeps {
  readonly provider: Provider;
  readonly accounts: Pick<AccountService, 'findActiveById'>;
  readonly sessions: Pick<SessionService, 'recordActivity'>;
  readonly config: Pick<Config, 'issuer'> & { readonly ttl: Pick<Config['ttl'], 'interaction'> };
  readonly client: InternalClient;
  /** The path prefix of the pages (/account, /admin): the pending-sign-in cookie is scoped to it. */
  readonly prefix: string;
  /** Only these paths are places to come back to after signing in; anything else comes back to `prefix`. */
  readonly returnPath: RegExp;
}

export interface FirstPartySignIn {
  /** The SSO session of this browser, when it is signed in, live, and its user active. */
  authenticate(ctx: Context): Promise<SignedIn | undefined>;
  /** Sends the browser to the authorization endpoint as the internal client, to come back to `returnTo`. */
  start(ctx: Context, returnTo: string): void;
  /** The callback route: answers with where to go next, or why the sign-in failed (the caller renders it). */
  finish(ctx: Context): Promise<{ returnTo: string } | { failure: SignInFailure }>;
  /** Middleware for the callback route: redirects on success, renders `onFailure` otherwise. */
  callback(onFailure: (ctx: Context, failure: SignInFailure) => Promise<void>): Middleware;
}

/**
 * Sets the SSO session cookie as oidc-provider does: a remembered session's cookie lasts until `expires` (its stored
 * expiry), a transient one is a browser cookie. The cookie carries the Session's id, its jti.
 */
export function setSessionCookie(ctx: Context, provider: Provider, config: Pick<Config, 'issuer'>, session: OidcSession, expires: Date): void {
  ctx.cookies.set(provider.cookieName('session'), session.jti, {
    ...providerCookieOptions(config),
    ...(session.transient ? {} : { expires }),
  });
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function queryValue(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  return typeof value === 'string' ? value : undefined;
}

export function createFirstPartySignIn(deps: FirstPartySignInDeps): FirstPartySignIn {
  const { provider, accounts, sessions, config, client, prefix, returnPath } = deps;
  const secure = isSecureIssuer(config);
  const cookieBase = `gatehouse_${prefix.replace(/^\//, '')}_signin`;
  const cookieName = secure ? `__Secure-${cookieBase}` : cookieBase;
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure,
    path: prefix,
    signed: true,
    overwrite: true,
    // As long as the login page it leads to.
    maxAge: config.ttl.interaction * 1000,
  };
  const redirectUri = `${config.issuer}${client.callbackPath}`;
  const safeReturn = (path: string) => (returnPath.test(path) ? path : prefix);

  function readPending(ctx: Context): PendingSignIn | undefined {
    const raw = ctx.cookies.get(cookieName, { signed: true });
    ctx.cookies.set(cookieName, null, cookieOptions);
    if (!raw) return undefined;
    try {
      const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<PendingSignIn>;
      if (typeof parsed.state !== 'string' || typeof parsed.verifier !== 'string' || typeof parsed.returnTo !== 'string') return undefined;
      return { state: parsed.state, verifier: parsed.verifier, returnTo: parsed.returnTo };
    } catch {
      return undefined;
    }
  }

  const signIn: FirstPartySignIn = {
    async authenticate(ctx) {
      const session = await provider.Session.get(ctx);
      if (!session.accountId) return undefined;
      // Using Gatehouse's own pages is activity: it keeps the session from idling out (and so its cookie).
      const activity = await sessions.recordActivity(session.uid, requestMeta(ctx));
      if (!activity) return undefined;
      const user = await accounts.findActiveById(session.accountId);
      if (!user) return undefined;
      if (activity.extended && !session.transient) setSessionCookie(ctx, provider, config, session, activity.idleExpiresAt);
      return { user, session };
    },

    start(ctx, returnTo) {
      const pending: PendingSignIn = {
        state: randomBytes(32).toString('base64url'),
        verifier: randomBytes(32).toString('base64url'),
        returnTo: safeReturn(returnTo),
      };
      ctx.cookies.set(cookieName, Buffer.from(JSON.stringify(pending)).toString('base64url'), cookieOptions);
      const url = new URL(provider.pathFor('authorization'), config.issuer);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: client.clientId,
        redirect_uri: redirectUri,
        scope: 'openid',
        state: pending.state,
        code_challenge: createHash('sha256').update(pending.verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      ctx.status = 303;
      ctx.redirect(url.pathname + url.search);
    },

    async finish(ctx) {
      const pending = readPending(ctx);
      const state = queryValue(ctx, 'state');
      if (!pending || !state || !sameSecret(state, pending.state)) return { failure: 'expired' };
      if (queryValue(ctx, 'error')) return { failure: queryValue(ctx, 'error') === 'access_denied' ? 'cancelled' : 'failed' };
      if (!(await signIn.authenticate(ctx))) return { failure: 'failed' };
      // The pages rely on the SSO session, not on tokens: the code is never exchanged, so it is discarded at once.
      const code = queryValue(ctx, 'code');
      const issued = code ? await provider.AuthorizationCode.find(code) : undefined;
      if (issued && issued.clientId === client.clientId) await issued.destroy();
      return { returnTo: safeReturn(pending.returnTo) };
    },

    callback(onFailure) {
      return async (ctx) => {
        const result = await signIn.finish(ctx);
        if ('failure' in result) return onFailure(ctx, result.failure);
        ctx.status = 303;
        ctx.redirect(result.returnTo);
      };
    },
  };
  return signIn;
}
