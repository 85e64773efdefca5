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
import type { MfaService } from '../../domain/mfa/mfa-service.js';
import type { User } from '../../domain/accounts/user.js';
import type { Logger } from '../../infra/logger.js';
import { ACR_PASSWORD, ACR_SECOND_FACTOR } from '../../oidc/acr.js';
import { SECOND_FACTOR_REQUIRED } from '../../oidc/interaction-policy.js';
import { CSRF_FIELD, type Csrf } from '../middleware/csrf.js';
import type { RenderView } from '../views.js';

export interface InteractionRouterDeps {
  readonly provider: Provider;
  readonly accounts: AccountService;
  readonly passwordAttempts: PasswordAttempts;
  readonly sessions: SessionService;
  readonly mfa: MfaService;
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

// How long a later sign-in step (second factor, too many sessions) accepts what the earlier steps proved.
const TICKET_MS = 5 * 60 * 1000;
const ticketScope = (kind: string, uid: string, f: { userId: string; remember: string; methods: string; expires: string }) =>
  `${kind}:${uid}:${f.userId}:${f.remember}:${f.methods}:${f.expires}`;

function userActor(ctx: Context, userId: string): Actor {
  return { type: 'user', id: userId, ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null };
}

export function createInteractionRouter(deps: InteractionRouterDeps): Router {
  const { provider, accounts, passwordAttempts, sessions, mfa, csrf, renderView, clock } = deps;
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
   * A later step of the same sign-in (second factor, too-many-sessions page) must know who proved what: the page
   * carries the user, the remember choice and the methods already proven, bound to this browser's CSRF cookie and this
   * interaction by an HMAC, and valid for a few minutes.
   */
  function ticketFields(ctx: Context, interaction: Interaction, kind: string, user: User, remember: boolean, methods: readonly string[]) {
    const expires = Date.now() + TICKET_MS;
    const fields = { userId: user.id, remember: remember ? 'yes' : 'no', methods: methods.join(' '), expires: String(expires) };
    return { ...fields, ticket: csrf.token(ctx, ticketScope(kind, interaction.uid, fields)) };
  }

  async function readTicket(ctx: Context, interaction: Interaction, kind: string) {
    const fields = { userId: field(ctx, 'user'), remember: field(ctx, 'remember'), methods: field(ctx, 'methods'), expires: field(ctx, 'expires') };
    const expected = Buffer.from(csrf.token(ctx, ticketScope(kind, interaction.uid, fields)));
    const ticket = Buffer.from(field(ctx, 'ticket'));
    const expires = Number(fields.expires);
    if (!Number.isFinite(expires) || expires < Date.now() || expected.length !== ticket.length || !timingSafeEqual(expected, ticket)) {
      throw new ForbiddenError('This page has expired. Sign in again.');
    }
    const user = await accounts.findActiveById(fields.userId);
    if (!user) throw new ForbiddenError('This page has expired. Sign in again.');
    return { user, remember: fields.remember === 'yes', methods: fields.methods.split(' ').filter(Boolean) };
  }

  async function secondFactorLockedUntil(login: string): Promise<Date | null> {
    let user: User;
    try {
      user = await accounts.getByEmail(login);
    } catch {
      return null;
    }
    return mfa.lockedUntil(user.id);
  }

  /** The password is proven: users with an authenticator app prove it too before the sign-in completes. */
  async function afterPassword(ctx: Context, interaction: Interaction, user: User, remember: boolean) {
    if ((await mfa.status(user.id)).enabled) {
      await renderSecondFactor(ctx, interaction, user, remember);
      return;
    }
    if (interaction.prompt.reasons.includes(SECOND_FACTOR_REQUIRED)) {
      // The application requires the second-factor level and this user has no authenticator app yet.
      await renderStep(ctx, interaction, 'second-factor-required', { title: 'Two-step verification required' }, 403);
      return;
    }
    await completeLogin(ctx, interaction, user, remember, ['pwd']);
  }

  async function renderSecondFactor(ctx: Context, interaction: Interaction, user: User, remember: boolean, error?: string, status = 200) {
    await renderStep(ctx, interaction, 'second-factor', { title: 'Two-step verification', error, ...ticketFields(ctx, interaction, 'otp', user, remember, ['pwd']) }, status);
  }

  /**
   * Every factor is proven: apply the session limit (a new session only; signing in again within one's own session
   * creates none), then finish the login step.
   */
  async function completeLogin(ctx: Context, interaction: Interaction, user: User, remember: boolean, amr: readonly string[]) {
    if (interaction.session?.accountId !== user.id) {
      const check = await sessions.checkLimitBeforeLogin(user.id, userActor(ctx, user.id));
      if (!check.allowed) {
        await renderStep(ctx, interaction, 'session-limit', {
          title: 'Too many sessions',
          sessions: check.sessions.map((s) => ({ id: s.id, device: s.deviceLabel, ip: s.ipLastSeen ?? 'unknown', lastSeen: s.lastSeenAt.toISOString(), created: s.createdAt.toISOString() })),
          ...ticketFields(ctx, interaction, 'session-limit', user, remember, amr),
        }, 409);
        return;
      }
    }
    (ctx.state.log as Logger).info({ userId: user.id, clientId: interaction.params.client_id, amr }, 'login succeeded');
    // ts: the time of this authentication, kept when a later step (consent) of the interaction is merged in.
    const ts = Math.floor(clock.now().getTime() / 1000);
    const acr = amr.includes('otp') ? ACR_SECOND_FACTOR : ACR_PASSWORD;
    await finish(ctx, { login: { accountId: user.id, amr: [...amr], acr, remember, ts } });
  }

  router.post('/login', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new ValidationError('This sign-in step is already complete.');
    const login = field(ctx, 'login');
    // While the account's second factor is locked, the password is not even checked: the answer must not tell an
    // attacker who caused the lock whether the password they try is right.
    const lockedUntil = await secondFactorLockedUntil(login);
    if (lockedUntil) {
      const minutes = Math.max(1, Math.ceil((lockedUntil.getTime() - clock.now().getTime()) / 60_000));
      ctx.set('Retry-After', String(minutes * 60));
      await renderLogin(ctx, interaction, { login: login.slice(0, 254), error: `Two-step verification for this account is locked after too many wrong codes. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, status: 429 });
      return;
    }
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
    await afterPassword(ctx, interaction, user, field(ctx, 'remember') === 'yes');
  });

  // The second factor: a code from the authenticator app, or one of the recovery codes.
  router.post('/otp', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new ValidationError('This sign-in step is already complete.');
    const { user, remember } = await readTicket(ctx, interaction, 'otp');
    const recovery = field(ctx, 'recovery_code').trim();
    if (recovery) {
      if (await mfa.useRecoveryCode(user.id, recovery, userActor(ctx, user.id))) {
        await completeLogin(ctx, interaction, user, remember, ['pwd', 'otp', 'recovery']);
      } else {
        await renderSecondFactor(ctx, interaction, user, remember, 'That recovery code is not valid.', 401);
      }
      return;
    }
    const verification = await mfa.verifyTotp(user.id, field(ctx, 'code').replace(/\s+/g, ''));
    if (verification.result === 'ok') {
      await completeLogin(ctx, interaction, user, remember, ['pwd', 'otp']);
    } else if (verification.result === 'locked') {
      const minutes = Math.max(1, Math.ceil((verification.retryAt.getTime() - clock.now().getTime()) / 60_000));
      ctx.set('Retry-After', String(minutes * 60));
      await renderSecondFactor(ctx, interaction, user, remember, `Too many wrong codes. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}, or use a recovery code.`, 429);
    } else if (verification.result === 'replayed') {
      await renderSecondFactor(ctx, interaction, user, remember, 'That code was already used. Wait for the next one.', 401);
    } else {
      await renderSecondFactor(ctx, interaction, user, remember, 'That code is not right.', 401);
    }
  });

  // From the "too many sessions" page: end one of the user's sessions, then go on signing in.
  router.post('/session-limit', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new ValidationError('This sign-in step is already complete.');
    const { user, remember, methods } = await readTicket(ctx, interaction, 'session-limit');
    await sessions.endOwn(user.id, field(ctx, 'session'), userActor(ctx, user.id));
    await completeLogin(ctx, interaction, user, remember, methods);
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
