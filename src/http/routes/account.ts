import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from '../../config/env.js';
import { ACCOUNT_CLIENT_ID, ACCOUNT_CLIENT_NAME } from '../../domain/accounts/account-client.js';
import { ACCOUNT_CLIENT } from '../../domain/clients/internal-clients.js';
import type { AccountService } from '../../domain/accounts/account-service.js';
import type { PasswordAttempts } from '../../domain/accounts/login-throttle.js';
import type { MfaService } from '../../domain/mfa/mfa-service.js';
import type { Actor } from '../../domain/audit/audit.js';
import { TooManyAttemptsError, ValidationError } from '../../domain/errors.js';
import type { SessionService } from '../../domain/sessions/session-service.js';
import { providerCookieOptions } from '../../oidc/configuration.js';
import { createFirstPartySignIn, type OidcSession, type SignedIn } from '../first-party-sign-in.js';
import { CSRF_FIELD, type Csrf } from '../middleware/csrf.js';
import type { RenderView } from '../views.js';
import { addSecurityRoutes } from './account-security.js';

export interface AccountRouterDeps {
  readonly provider: Provider;
  readonly accounts: AccountService;
  readonly passwordAttempts: PasswordAttempts;
  readonly sessions: SessionService;
  readonly csrf: Csrf;
  readonly renderView: RenderView;
  readonly mfa: MfaService;
  readonly config: Pick<Config, 'issuer'> & { readonly ttl: Pick<Config['ttl'], 'interaction'> };
}

/** Who is on an account page: the user and the SSO session of this browser. */
type Current = SignedIn;

// The confirmations a page may show (?done=...); anything else shows nothing. The texts are in the views.
const SESSIONS_DONE = new Set(['ended', 'already-ended', 'others-ended']);
const PASSWORD_DONE = new Set(['changed']);

// Only the account pages themselves are places to come back to after signing in.
const RETURN_PATH = /^\/account(?:\/(?:sessions|password|security))?$/;

function field(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

function query(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  return typeof value === 'string' ? value : undefined;
}

function userActor(ctx: Context, userId: string): Actor {
  return { type: 'user', id: userId, ip: ctx.ip || null, userAgent: ctx.get('user-agent').slice(0, 512) || null };
}

function current(ctx: Context): Current {
  return ctx.state.account as Current;
}

/**
 * The user's own pages: their details, their live sessions ("your devices") and their password. They are signed in
 * with the SSO session itself; without one they start a real sign-in through the internal account client.
 */
export function createAccountRouter(deps: AccountRouterDeps): Router {
  const { provider, accounts, passwordAttempts, sessions, csrf, renderView, config } = deps;
  const router = new Router({ prefix: '/account' });
  const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  const sessionCookie = providerCookieOptions(config);
  const signIn = createFirstPartySignIn({ provider, accounts, sessions, config, client: ACCOUNT_CLIENT, prefix: '/account', returnPath: RETURN_PATH });
  // Forms are bound to the SSO session they were shown in (its uid survives the cookie rotation).
  const csrfScope = (ctx: Context) => `account:${current(ctx).session.uid}`;
  const csrfFields = (ctx: Context) => ({ csrf: csrf.token(ctx, csrfScope(ctx)), csrfField: CSRF_FIELD });

  const authenticate = (ctx: Context) => signIn.authenticate(ctx);
  const startSignIn = (ctx: Context, returnTo: string) => signIn.start(ctx, returnTo);

  async function render(ctx: Context, view: string, model: Record<string, unknown>, status = 200) {
    ctx.status = status;
    ctx.type = 'html';
    // The shared frame links the account pages and, for administrators, the admin console.
    const signedIn = ctx.state.account as Current | undefined;
    ctx.body = await renderView(view, { ...(signedIn ? { frameNav: { current: 'account', admin: signedIn.user.admin } } : {}), ...model });
  }

  function redirect(ctx: Context, location: string) {
    ctx.status = 303;
    ctx.redirect(location);
  }

  function clearSessionCookie(ctx: Context) {
    ctx.cookies.set(provider.cookieName('session'), null, sessionCookie);
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
      await next();
    };
  }

  async function signedOut(ctx: Context, everywhere: boolean) {
    clearSessionCookie(ctx);
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

  router.get('/', requireSession(), async (ctx) => {
    const { user } = current(ctx);
    await render(ctx, 'account', {
      email: user.email,
      name: user.name,
      ...csrfFields(ctx),
    });
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

  router.post('/sessions/end-others', form, requireSession({ returnTo: '/account/sessions' }), csrf.verify(csrfScope), async (ctx) => {
    const { user, session } = current(ctx);
    await sessions.endAllForUser(user.id, 'revoked_by_user', userActor(ctx, user.id), session.uid);
    redirect(ctx, '/account/sessions?done=others-ended');
  });

  router.post('/sessions/end-all', form, requireSession({ returnTo: '/account/sessions' }), csrf.verify(csrfScope), async (ctx) => {
    const { user } = current(ctx);
    await sessions.endAllForUser(user.id, 'revoked_by_user', userActor(ctx, user.id));
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

  async function renderPassword(ctx: Context, options: { error?: ValidationError; mismatch?: boolean; done?: string; status?: number } = {}) {
    await render(
      ctx,
      'account-password',
      {
        done: options.done,
        // A message about one field is shown next to it (the view knows the fields); any other at the top.
        errorField: options.mismatch ? 'confirm_password' : options.error?.field,
        errorMessage: options.error?.message,
        mismatch: options.mismatch === true,
        ...csrfFields(ctx),
      },
      options.status ?? (options.error || options.mismatch ? 400 : 200),
    );
  }

  router.get('/password', requireSession(), async (ctx) => {
    const done = query(ctx, 'done');
    await renderPassword(ctx, { done: done && PASSWORD_DONE.has(done) ? done : undefined });
  });

  router.post('/password', form, requireSession({ returnTo: '/account/password' }), csrf.verify(csrfScope), async (ctx) => {
    const { user, session } = current(ctx);
    const next = field(ctx, 'new_password');
    // A typing check of this form, before anything is verified or saved.
    if (next !== field(ctx, 'confirm_password')) {
      await renderPassword(ctx, { mismatch: true });
      return;
    }
    try {
      // The current password is a password attempt like a sign-in: throttled per account and per IP.
      await passwordAttempts.attempt(
        { login: user.email, ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null, kind: 'password_change' },
        () => accounts.changeOwnPassword(user.id, field(ctx, 'current_password'), next, session.uid, userActor(ctx, user.id)),
        (error) => error instanceof ValidationError && error.field === 'current_password',
      );
    } catch (error) {
      if (error instanceof TooManyAttemptsError) {
        ctx.set('Retry-After', String(error.retryAfterSeconds));
        await renderPassword(ctx, { error: new ValidationError(error.message), status: 429 });
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

  router.post(
    '/logout',
    form,
    // Already signed out: there is nothing to end.
    requireSession({ otherwise: (ctx) => signedOut(ctx, false) }),
    csrf.verify(csrfScope),
    async (ctx) => {
      const { user, session } = current(ctx);
      await sessions.end(session.uid, 'logged_out', userActor(ctx, user.id));
      await signedOut(ctx, false);
    },
  );

  addSecurityRoutes(
    router,
    {
      form,
      requireSession,
      csrfVerify: csrf.verify(csrfScope),
      csrfFields,
      currentUser: (ctx) => current(ctx).user,
      render,
      redirect,
      userActor,
      field,
      query,
    },
    { mfa: deps.mfa, accounts },
  );

  return router;
}
