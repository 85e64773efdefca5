import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from '../../config/env.js';
import { ACCOUNT_CLIENT_ID, ACCOUNT_CLIENT_NAME } from '../../domain/accounts/account-client.js';
import { ACCOUNT_CLIENT } from '../../domain/clients/internal-clients.js';
import type { AccountService } from '../../domain/accounts/account-service.js';
import type { PasswordAttempts } from '../../domain/accounts/login-throttle.js';
import type { MfaService } from '../../domain/mfa/mfa-service.js';
import type { Clock } from '../../domain/clock.js';
import type { Actor } from '../../domain/audit/audit.js';
import { InvalidCredentialsError, TooManyAttemptsError, ValidationError } from '../../domain/errors.js';
import type { SessionService } from '../../domain/sessions/session-service.js';
import { providerCookieOptions } from '../../oidc/configuration.js';
import { createFirstPartySignIn, type OidcSession, type SignedIn } from '../first-party-sign-in.js';
import { createSessionSignOut } from '../sign-out.js';
import { CSRF_FIELD, type Csrf } from '../middleware/csrf.js';
import { errorText } from '../errors.js';
import { secondFactorRefusal } from '../second-factor.js';
import type { Text } from '../text/en.js';
import { requireRecentAuthentication as requireRecentAuthenticationFor } from '../middleware/recent-authentication.js';
import { ADMIN_RETURN_PATH } from './admin-console.js';
import type { RenderView } from '../views.js';
import { addSecurityRoutes } from './account-security.js';
import { requestMeta } from '../middleware/request-context.js';
import { readBody } from '../request-body.js';

export interface AccountRouterDeps {
  readonly provider: Provider;
  readonly accounts: AccountService;
  readonly passwordAttempts: PasswordAttempts;
  readonly sessions: SessionService;
  readonly csrf: Csrf;
  readonly renderView: RenderView;
  readonly mfa: MfaService;
  readonly clock: Clock;
  readonly config: Pick<Config, 'issuer'> & { readonly ttl: Pick<Config['ttl'], 'interaction'> };
  readonly text: Text;
}

/** Who is on an account page: the user and the SSO session of this browser. */
type Current = SignedIn;

// The confirmations a page may show (?done=...); anything else shows nothing. The views show their texts.
const SESSIONS_DONE = new Set(['ended', 'already-ended', 'others-ended']);
const PASSWORD_DONE = new Set(['changed']);
const PROFILE_DONE = new Set(['saved']);

// Only the account pages themselves are places to come back to after signing in.
const RETURN_PATH = /^\/account(?:\/(?:sessions|password|security))?$/;

/** Where "Confirm it is you" may send the user back to: an account page or an admin console page; else /account. */
function confirmReturnPath(value: string | undefined): string {
  return value && (RETURN_PATH.test(value) || ADMIN_RETURN_PATH.test(value)) ? value : '/account';
}

function field(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

function query(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  return typeof value === 'string' ? value : undefined;
}

function userActor(ctx: Context, userId: string): Actor {
  return { type: 'user', id: userId, ...requestMeta(ctx) };
}

function current(ctx: Context): Current {
  return ctx.state.account as Current;
}

/**
 * The user's own pages: their details, their live sessions ("your devices") and their password. They are signed in
 * with the SSO session itself; without one they start a real sign-in through the internal account client.
 */
export function createAccountRouter(deps: AccountRouterDeps): Router {
  const { provider, accounts, passwordAttempts, sessions, csrf, renderView, config, text: t } = deps;
  const router = new Router({ prefix: '/account' });
  const form = readBody('form', 16);
  const sessionCookie = providerCookieOptions(config);
  const signOut = createSessionSignOut({ provider, sessions, config });
  const signIn = createFirstPartySignIn({ provider, accounts, sessions, config, client: ACCOUNT_CLIENT, prefix: '/account', returnPath: RETURN_PATH });
  // Forms are bound to the SSO session they were shown in (its uid survives the cookie rotation).
  const csrfScope = (ctx: Context) => `account:${current(ctx).session.uid}`;
  const csrfFields = (ctx: Context) => ({ csrf: csrf.token(ctx, csrfScope(ctx)), csrfField: CSRF_FIELD });

  const authenticate = (ctx: Context) => signIn.authenticate(ctx);
  const startSignIn = (ctx: Context, returnTo: string) => signIn.start(ctx, returnTo);

  async function render(ctx: Context, view: string, model: Record<string, unknown>, status = 200) {
    ctx.status = status;
    ctx.type = 'html';
    // The shared frame links the account pages and, for administrators, the admin console, and signs out.
    const signedIn = ctx.state.account as Current | undefined;
    const frameNav = signedIn ? { current: 'account', admin: signedIn.user.admin, signOut: { action: '/account/logout', ...csrfFields(ctx) } } : undefined;
    ctx.body = await renderView(view, { ...(frameNav ? { frameNav } : {}), ...model });
  }

  function redirect(ctx: Context, location: string) {
    ctx.status = 303;
    ctx.redirect(location);
  }

  /**
   * Gives the session a new cookie value (the old one stops working at once) and sets the cookie as oidc-provider
   * does: a remembered session's cookie lasts until the session's stored expiry, a transient one is a browser cookie.
   */
  async function rotateSessionCookie(ctx: Context, session: OidcSession) {
    session.resetIdentifier();
    await session.save(sessions.cookieTtlSeconds(session.transient === true));
    // The cookie carries the Session's id, its jti (the uid, which the index and the CSRF scope use, does not change).
    ctx.cookies.set(provider.cookieName('session'), session.jti, {
      ...sessionCookie,
      ...(session.transient ? {} : { expires: new Date(session.exp * 1000) }),
    });
  }

  /**
   * Lets the request through only with a live SSO session. Without one, a page starts a sign-in that comes back to
   * it; a form post starts one that comes back to the page the form was on (`returnTo`), having changed nothing.
   */
  function requireSession(options: { returnTo?: string; otherwise?: (ctx: Context) => Promise<void> } = {}): Middleware {
    return async (ctx: Context, next: Next) => {
      const found = await authenticate(ctx);
      if (!found) {
        if (options.otherwise) await options.otherwise(ctx);
        else startSignIn(ctx, options.returnTo ?? ctx.path);
        return;
      }
      ctx.state.account = found;
      // Where "Confirm it is you" sends the browser back to, should a service refuse a sensitive action (http/errors.ts).
      ctx.state.returnTo = options.returnTo ?? ctx.path;
      await next();
    };
  }

  async function renderConfirm(ctx: Context, options: { returnTo: string; secondFactor: boolean; error?: string }, status: number) {
    await render(ctx, 'account-confirm', { returnTo: options.returnTo, secondFactor: options.secondFactor, error: options.error, ...csrfFields(ctx) }, status);
  }

  /**
   * A sensitive action (password change, turning off or renewing two-step verification, logging out everywhere) needs
   * the user to have proven themselves recently in this session: the second factor when they have one, else the
   * password. Otherwise the page asks for it (403) and, once confirmed, sends the user back to `returnTo`.
   */
  function requireRecentAuthentication(returnTo: string): Middleware {
    return requireRecentAuthenticationFor(
      { sessions, mfa: deps.mfa },
      {
        signedIn: (ctx) => ({ userId: current(ctx).user.id, sessionUid: current(ctx).session.uid }),
        onStale: (ctx, secondFactor) => renderConfirm(ctx, { returnTo, secondFactor }, 403),
      },
    );
  }

  async function signedOut(ctx: Context, everywhere: boolean) {
    signOut.clearCookie(ctx);
    // Signed out: the page has no frame navigation any more.
    ctx.state.account = undefined;
    await render(ctx, 'logged-out', { account: true, everywhere });
  }

  async function clientNames(clientIds: readonly string[]): Promise<Map<string, string | null>> {
    const names = new Map<string, string | null>();
    for (const clientId of new Set(clientIds)) {
      if (clientId === ACCOUNT_CLIENT_ID) {
        names.set(clientId, ACCOUNT_CLIENT_NAME);
        continue;
      }
      let name: string | undefined;
      try {
        name = (await provider.Client.find(clientId))?.clientName;
      } catch {
        name = undefined;
      }
      // Null: the client has been deleted since (the view says so).
      names.set(clientId, name ?? null);
    }
    return names;
  }

  // Nothing on these pages may be stored by a browser or a proxy.
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.get('/callback', signIn.callback((ctx, reason) => render(ctx, 'account-signin-failed', { reason }, 400)));

  async function renderProfile(ctx: Context, options: { name?: string; error?: ValidationError; done?: string } = {}) {
    const { user } = current(ctx);
    await render(ctx, 'account', {
      email: user.email,
      name: options.name ?? user.name ?? '',
      done: options.done,
      errorMessage: options.error && errorText(options.error, t),
      ...csrfFields(ctx),
    }, options.error ? 400 : 200);
  }

  router.get('/', requireSession(), async (ctx) => {
    const done = query(ctx, 'done');
    await renderProfile(ctx, { done: done && PROFILE_DONE.has(done) ? done : undefined });
  });

  // The profile: the user's display name (what applications see in the profile scope's name claim).
  router.post('/profile', form, requireSession({ returnTo: '/account' }), csrf.verify(csrfScope), async (ctx) => {
    const { user } = current(ctx);
    try {
      await accounts.setOwnName(user.id, field(ctx, 'name'), userActor(ctx, user.id));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      await renderProfile(ctx, { name: field(ctx, 'name').slice(0, 300), error });
      return;
    }
    redirect(ctx, '/account?done=saved');
  });

  router.get('/sessions', requireSession(), async (ctx) => {
    const { user, session } = current(ctx);
    const live = await sessions.listLive(user.id);
    const names = await clientNames(live.flatMap((s) => s.clients.map((c) => c.clientId)));
    const done = query(ctx, 'done');
    await render(ctx, 'account-sessions', {
      done: done && SESSIONS_DONE.has(done) ? done : undefined,
      sessions: live.map((s) => ({
        id: s.id,
        current: s.id === session.uid,
        device: s.deviceLabel,
        ip: s.ipLastSeen ?? s.ipCreated,
        created: s.createdAt.toISOString(),
        lastSeen: s.lastSeenAt.toISOString(),
        remember: s.remember,
        apps: [...new Set(s.clients.map((c) => names.get(c.clientId) ?? null))],
      })),
      ...csrfFields(ctx),
    });
  });

  router.post('/sessions/end-others', form, requireSession({ returnTo: '/account/sessions' }), csrf.verify(csrfScope), requireRecentAuthentication('/account/sessions'), async (ctx) => {
    const { user, session } = current(ctx);
    await accounts.endOwnSessions(user.id, session.uid, { keepCurrent: true }, userActor(ctx, user.id));
    redirect(ctx, '/account/sessions?done=others-ended');
  });

  router.post('/sessions/end-all', form, requireSession({ returnTo: '/account/sessions' }), csrf.verify(csrfScope), requireRecentAuthentication('/account/sessions'), async (ctx) => {
    const { user, session } = current(ctx);
    await accounts.endOwnSessions(user.id, session.uid, { keepCurrent: false }, userActor(ctx, user.id));
    await signedOut(ctx, true);
  });

  router.post('/sessions/:id/end', form, requireSession({ returnTo: '/account/sessions' }), csrf.verify(csrfScope), async (ctx) => {
    const { user, session } = current(ctx);
    const id = String(ctx.params.id);
    const ended = await sessions.endOwn(user.id, id, userActor(ctx, user.id));
    if (id === session.uid) {
      await signedOut(ctx, false);
      return;
    }
    redirect(ctx, `/account/sessions?done=${ended ? 'ended' : 'already-ended'}`);
  });

  async function renderPassword(ctx: Context, options: { error?: ValidationError | TooManyAttemptsError; mismatch?: boolean; done?: string; status?: number } = {}) {
    await render(
      ctx,
      'account-password',
      {
        // Users with two-step verification confirm with a recent code instead of their current password.
        askCurrent: !(await deps.mfa.hasSecondFactor(current(ctx).user.id)),
        done: options.done,
        // A message about one field is shown next to it (the view knows the fields); any other at the top.
        errorField: options.mismatch ? 'confirm_password' : options.error?.field,
        errorMessage: options.error && errorText(options.error, t),
        mismatch: options.mismatch === true,
        ...csrfFields(ctx),
      },
      options.status ?? (options.error || options.mismatch ? 400 : 200),
    );
  }

  // With two-step verification, the password page itself asks for a fresh code first (so nothing typed is lost).
  const recentSecondFactorIfAny = (returnTo: string): Middleware => async (ctx, next) => {
    if (await deps.mfa.hasSecondFactor(current(ctx).user.id)) await requireRecentAuthentication(returnTo)(ctx, next);
    else await next();
  };

  router.get('/password', requireSession(), recentSecondFactorIfAny('/account/password'), async (ctx) => {
    const done = query(ctx, 'done');
    await renderPassword(ctx, { done: done && PASSWORD_DONE.has(done) ? done : undefined });
  });

  // Without two-step verification, the current password in the form is the fresh password check.
  router.post('/password', form, requireSession({ returnTo: '/account/password' }), csrf.verify(csrfScope), recentSecondFactorIfAny('/account/password'), async (ctx) => {
    const { user, session } = current(ctx);
    // The service decides what proves it is the user: this password, or (with two-step verification) a recent code.
    const proof = { currentPassword: field(ctx, 'current_password') };
    const next = field(ctx, 'new_password');
    // A typing check of this form, before anything is verified or saved.
    if (next !== field(ctx, 'confirm_password')) {
      await renderPassword(ctx, { mismatch: true });
      return;
    }
    try {
      // The current password is a password attempt like a sign-in: throttled per account and per IP.
      await passwordAttempts.attempt(
        { login: user.email, ...requestMeta(ctx), kind: 'password_change' },
        () => accounts.changeOwnPassword(user.id, proof, next, session.uid, userActor(ctx, user.id)),
        (error) => error instanceof ValidationError && error.field === 'current_password',
      );
    } catch (error) {
      if (error instanceof TooManyAttemptsError) {
        ctx.set('Retry-After', String(error.retryAfterSeconds));
        await renderPassword(ctx, { error, status: 429 });
        return;
      }
      if (!(error instanceof ValidationError)) throw error;
      await renderPassword(ctx, { error });
      return;
    }
    // Every other session has ended; this one lives on under a new cookie value.
    await rotateSessionCookie(ctx, session);
    redirect(ctx, '/account/password?done=changed');
  });

  // The re-confirmation page, for the admin console's writes (which redirect here) and after a refused account action.
  router.get('/confirm', requireSession(), async (ctx) => {
    const { user, session } = current(ctx);
    const returnTo = confirmReturnPath(query(ctx, 'return_to'));
    const secondFactor = await deps.mfa.hasSecondFactor(user.id);
    if (sessions.recentlyAuthenticated(await sessions.get(session.uid), secondFactor)) {
      redirect(ctx, returnTo);
      return;
    }
    await renderConfirm(ctx, { returnTo, secondFactor }, 200);
  });

  // The re-confirmation asked for by requireRecentAuthentication.
  router.post('/confirm', form, requireSession({ returnTo: '/account' }), csrf.verify(csrfScope), async (ctx) => {
    const { user, session } = current(ctx);
    const returnTo = confirmReturnPath(field(ctx, 'return_to'));
    const actor = userActor(ctx, user.id);
    const secondFactor = await deps.mfa.hasSecondFactor(user.id);
    const refuse = (error: string, status: number) => renderConfirm(ctx, { returnTo, secondFactor, error }, status);
    if (secondFactor) {
      const recovery = field(ctx, 'recovery_code').trim();
      const verification = await deps.mfa.verifySecondFactor(user.id, { code: field(ctx, 'code'), recoveryCode: recovery }, actor);
      if (verification.result !== 'ok') {
        const refusal = secondFactorRefusal(ctx, t, verification, deps.clock.now(), recovery !== '');
        return refuse(refusal.message, refusal.status);
      }
    } else {
      try {
        await passwordAttempts.attempt(
          { login: user.email, ...requestMeta(ctx), kind: 'reauthentication' },
          async () => {
            if (!(await accounts.verifyOwnPassword(user.id, field(ctx, 'password')))) throw new InvalidCredentialsError();
          },
          (error) => error instanceof InvalidCredentialsError,
        );
      } catch (error) {
        if (error instanceof TooManyAttemptsError) {
          ctx.set('Retry-After', String(error.retryAfterSeconds));
          return refuse(errorText(error, t), 429);
        }
        if (error instanceof InvalidCredentialsError) return refuse(t.confirm.wrongPassword, 401);
        throw error;
      }
    }
    await sessions.recordReauthentication({ id: session.uid, userId: user.id }, secondFactor ? 'second_factor' : 'password', actor);
    // A fresh proof starts a fresh cookie value, as every authentication does.
    await rotateSessionCookie(ctx, session);
    redirect(ctx, returnTo);
  });

  router.post(
    '/logout',
    form,
    // Already signed out: there is nothing to end.
    requireSession({ otherwise: (ctx) => signedOut(ctx, false) }),
    csrf.verify(csrfScope),
    async (ctx) => {
      await signOut.signOut(ctx, current(ctx));
      await signedOut(ctx, false);
    },
  );

  addSecurityRoutes(
    router,
    {
      form,
      requireSession,
      csrfVerify: csrf.verify(csrfScope),
      requireRecentAuthentication,
      csrfFields,
      currentUser: (ctx) => current(ctx).user,
      currentSessionId: (ctx) => current(ctx).session.uid,
      render,
      redirect,
      userActor,
      field,
      query,
    },
    { mfa: deps.mfa, text: t },
  );

  return router;
}
