import { timingSafeEqual } from 'node:crypto';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AccountService } from '../../domain/accounts/account-service.js';
import type { PasswordAttempts } from '../../domain/accounts/login-throttle.js';
import type { Actor } from '../../domain/audit/audit.js';
import { ForbiddenError, InvalidCredentialsError, TooManyAttemptsError, ValidationError } from '../../domain/errors.js';
import type { SessionService } from '../../domain/sessions/session-service.js';
import type { Clock } from '../../domain/clock.js';
import type { User } from '../../domain/accounts/user.js';
import type { Logger } from '../../infra/logger.js';
import { ACR_PASSWORD } from '../../oidc/configuration.js';
import { CSRF_FIELD, type Csrf } from '../middleware/csrf.js';
import type { RenderView } from '../views.js';

export interface InteractionRouterDeps {
  readonly provider: Provider;
  readonly accounts: AccountService;
  readonly passwordAttempts: PasswordAttempts;
  readonly sessions: SessionService;
  readonly clock: Clock;
  readonly csrf: Csrf;
  readonly renderView: RenderView;
}

const SCOPE_LABELS: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Stay signed in to the app when you are away',
};

function field(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

const csrfScope = (ctx: Context) => `interaction:${ctx.params.uid}`;

// How long the "too many sessions" page lets a user who just proved their password end a session and go on.
const LIMIT_TICKET_MS = 5 * 60 * 1000;
const limitTicketScope = (uid: string, userId: string, remember: boolean, expires: number) => `session-limit:${uid}:${userId}:${remember}:${expires}`;

function userActor(ctx: Context, userId: string): Actor {
  return { type: 'user', id: userId, ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null };
}

export function createInteractionRouter(deps: InteractionRouterDeps): Router {
  const { provider, accounts, passwordAttempts, sessions, csrf, renderView, clock } = deps;
  const router = new Router({ prefix: '/interaction/:uid' });
  const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });

  async function details(ctx: Context) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    // The uid in the path must be the interaction bound to this browser's interaction cookie.
    if (interaction.uid !== ctx.params.uid) throw new ValidationError('This sign-in attempt does not match this browser. Start again from the application.');
    return interaction;
  }

  async function clientName(clientId: unknown): Promise<string> {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    return client?.clientName ?? 'An application';
  }

  type Interaction = Awaited<ReturnType<typeof details>>;

  /** An interaction page: never cached, with the interaction's client name and CSRF token. */
  async function renderStep(ctx: Context, interaction: Interaction, view: string, model: Record<string, unknown>, status = 200) {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await renderView(view, {
      ...model,
      uid: interaction.uid,
      clientName: await clientName(interaction.params.client_id),
      csrf: csrf.token(ctx, csrfScope(ctx)),
      csrfField: CSRF_FIELD,
    });
  }

  function renderLogin(ctx: Context, interaction: Interaction, options: { login: string; error?: string; status?: number }) {
    return renderStep(ctx, interaction, 'login', { title: 'Sign in', login: options.login, error: options.error }, options.status);
  }

  // A later step (consent) keeps what an earlier step of the same interaction submitted (the login), or a
  // prompt=login request would ask for the password again.
  async function finish(ctx: Context, result: Parameters<Provider['interactionResult']>[2]) {
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: !('login' in result) });
    ctx.status = 303;
    ctx.redirect(redirectTo);
  }

  router.get('/', async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name === 'login') {
      const hint = interaction.params.login_hint;
      await renderLogin(ctx, interaction, { login: typeof hint === 'string' ? hint.slice(0, 254) : '' });
      return;
    }
    if (interaction.prompt.name === 'consent') {
      const promptDetails = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      await renderStep(ctx, interaction, 'consent', {
        title: 'Allow access',
        // prompt=consent asks again for scopes already granted: then list everything requested.
        scopes: (promptDetails.missingOIDCScope?.length ? promptDetails.missingOIDCScope : String(interaction.params.scope ?? '').split(' ').filter(Boolean))
          .map((scope) => SCOPE_LABELS[scope] ?? scope),
        claims: promptDetails.missingOIDCClaims ?? [],
      });
      return;
    }
    throw new ValidationError('This sign-in step is not supported.');
  });

  /**
   * The password is proven: apply the session limit (a new session only; signing in again within one's own session
   * creates none), then finish the login step.
   */
  async function completeLogin(ctx: Context, interaction: Interaction, user: User, remember: boolean) {
    if (interaction.session?.accountId !== user.id) {
      const check = await sessions.checkLimitBeforeLogin(user.id, userActor(ctx, user.id));
      if (!check.allowed) {
        const expires = Date.now() + LIMIT_TICKET_MS;
        await renderStep(ctx, interaction, 'session-limit', {
          title: 'Too many sessions',
          sessions: check.sessions.map((s) => ({ id: s.id, device: s.deviceLabel, ip: s.ipLastSeen ?? 'unknown', lastSeen: s.lastSeenAt.toISOString(), created: s.createdAt.toISOString() })),
          userId: user.id,
          remember: remember ? 'yes' : 'no',
          expires: String(expires),
          ticket: csrf.token(ctx, limitTicketScope(interaction.uid, user.id, remember, expires)),
        }, 409);
        return;
      }
    }
    (ctx.state.log as Logger).info({ userId: user.id, clientId: interaction.params.client_id }, 'login succeeded');
    // ts: the time of this authentication, kept when a later step (consent) of the interaction is merged in.
    const ts = Math.floor(clock.now().getTime() / 1000);
    await finish(ctx, { login: { accountId: user.id, amr: ['pwd'], acr: ACR_PASSWORD, remember, ts } });
  }

  router.post('/login', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new ValidationError('This sign-in step is already complete.');
    const login = field(ctx, 'login');
    let user: User;
    try {
      user = await passwordAttempts.attempt(
        { login, ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null, kind: 'login' },
        () => accounts.authenticate(login, field(ctx, 'password')),
        (error) => error instanceof InvalidCredentialsError,
      );
    } catch (error) {
      if (error instanceof TooManyAttemptsError) {
        (ctx.state.log as Logger).info({ retryAfterSeconds: error.retryAfterSeconds }, 'login throttled');
        ctx.set('Retry-After', String(error.retryAfterSeconds));
        await renderLogin(ctx, interaction, { login: login.slice(0, 254), error: error.message, status: 429 });
        return;
      }
      if (!(error instanceof InvalidCredentialsError)) throw error;
      (ctx.state.log as Logger).info({ reason: (error.debug as { reason?: string } | undefined)?.reason }, 'login failed');
      await renderLogin(ctx, interaction, { login: login.slice(0, 254), error: error.message, status: 401 });
      return;
    }
    await completeLogin(ctx, interaction, user, field(ctx, 'remember') === 'yes');
  });

  // From the "too many sessions" page: end one of the user's sessions, then go on signing in.
  router.post('/session-limit', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new ValidationError('This sign-in step is already complete.');
    const userId = field(ctx, 'user');
    const remember = field(ctx, 'remember') === 'yes';
    const expires = Number(field(ctx, 'expires'));
    const expected = Buffer.from(csrf.token(ctx, limitTicketScope(interaction.uid, userId, remember, expires)));
    const ticket = Buffer.from(field(ctx, 'ticket'));
    if (!Number.isFinite(expires) || expires < Date.now() || expected.length !== ticket.length || !timingSafeEqual(expected, ticket)) {
      throw new ForbiddenError('This page has expired. Sign in again.');
    }
    const user = await accounts.findActiveById(userId);
    if (!user) throw new ForbiddenError('This page has expired. Sign in again.');
    await sessions.endOwn(user.id, field(ctx, 'session'), userActor(ctx, user.id));
    await completeLogin(ctx, interaction, user, remember);
  });

  router.post('/confirm', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'consent') throw new ValidationError('There is nothing to confirm for this sign-in.');
    const { accountId } = interaction.session ?? {};
    const clientId = interaction.params.client_id;
    if (!accountId || typeof clientId !== 'string') throw new ValidationError('This sign-in attempt has expired. Start again from the application.');
    const grant = interaction.grantId
      ? ((await provider.Grant.find(interaction.grantId)) ?? new provider.Grant({ accountId, clientId }))
      : new provider.Grant({ accountId, clientId });
    const promptDetails = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
    if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await finish(ctx, { consent: { grantId } });
  });

  router.post('/abort', form, csrf.verify(csrfScope), async (ctx) => {
    await details(ctx);
    await finish(ctx, { error: 'access_denied', error_description: 'The user cancelled the request.' });
  });

  return router;
}
