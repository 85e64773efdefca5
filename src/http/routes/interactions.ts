import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AccountService } from '../../domain/accounts/account-service.js';
import type { PasswordAttempts } from '../../domain/accounts/login-throttle.js';
import type { Actor } from '../../domain/audit/audit.js';
import { ConflictError, ForbiddenError, InvalidCredentialsError, NotFoundError, TooManyAttemptsError, ValidationError } from '../../domain/errors.js';
import type { SessionService } from '../../domain/sessions/session-service.js';
import type { Clock } from '../../domain/clock.js';
import type { MfaService } from '../../domain/mfa/mfa-service.js';
import type { User } from '../../domain/accounts/user.js';
import type { Logger } from '../../infra/logger.js';
import { levelOf } from '../../domain/mfa/levels.js';
import { SECOND_FACTOR_REQUIRED, STEP_UP_REASONS } from '../../oidc/interaction-policy.js';
import { errorText } from '../errors.js';
import { secondFactorLocked, secondFactorRefusal } from '../second-factor.js';
import type { Text } from '../text/en.js';
import { totpSetupModel } from '../totp-display.js';
import { CSRF_FIELD, type Csrf } from '../middleware/csrf.js';
import type { RenderView } from '../views.js';
import { requestMeta } from '../middleware/request-context.js';
import { readBody } from '../request-body.js';

export interface InteractionRouterDeps {
  readonly provider: Provider;
  readonly accounts: AccountService;
  readonly passwordAttempts: PasswordAttempts;
  readonly sessions: SessionService;
  readonly mfa: MfaService;
  readonly clock: Clock;
  readonly csrf: Csrf;
  readonly renderView: RenderView;
  readonly text: Text;
}

function field(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

const csrfScope = (ctx: Context) => `interaction:${ctx.params.uid}`;

// How long a later sign-in step (second factor, enrolment, too many sessions) accepts what the earlier steps proved.
const TICKET_MS = 5 * 60 * 1000;
interface TicketFields {
  readonly userId: string;
  readonly remember: string;
  readonly methods: string;
  readonly authTime: string;
  readonly expires: string;
}
const ticketScope = (kind: string, uid: string, f: TicketFields) => `${kind}:${uid}:${f.userId}:${f.remember}:${f.methods}:${f.authTime}:${f.expires}`;

/** What the steps of a sign-in have proven so far. */
interface Proof {
  readonly user: User;
  readonly remember: boolean;
  /** Authentication methods proven (amr), in order. */
  readonly methods: readonly string[];
  /**
   * Epoch seconds of the sign-in being stepped up (its auth_time is kept); null for a new sign-in, timed when it
   * completes.
   */
  readonly authTime: number | null;
}

const withMethod = (methods: readonly string[], ...added: string[]) => [...new Set([...methods, ...added])];

function userActor(ctx: Context, userId: string): Actor {
  return { type: 'user', id: userId, ...requestMeta(ctx) };
}

export function createInteractionRouter(deps: InteractionRouterDeps): Router {
  const { provider, accounts, passwordAttempts, sessions, mfa, csrf, renderView, clock, text: t } = deps;
  const router = new Router({ prefix: '/interaction/:uid' });
  const form = readBody('form', 16);

  async function details(ctx: Context) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    // The uid in the path must be the interaction bound to this browser's interaction cookie.
    if (interaction.uid !== ctx.params.uid) throw new ValidationError(t.interaction.attemptMismatch);
    return interaction;
  }

  async function clientName(clientId: unknown): Promise<string> {
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    return client?.clientName ?? t.interaction.unknownClient;
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
    return renderStep(ctx, interaction, 'login', { login: options.login, error: options.error }, options.status);
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
      const stepUp = await stepUpOf(interaction);
      if (stepUp) {
        await afterFirstFactor(ctx, interaction, stepUp);
        return;
      }
      const hint = interaction.params.login_hint;
      await renderLogin(ctx, interaction, { login: typeof hint === 'string' ? hint.slice(0, 254) : '' });
      return;
    }
    if (interaction.prompt.name === 'consent') {
      const promptDetails = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      await renderStep(ctx, interaction, 'consent', {
        // prompt=consent asks again for scopes already granted: then list everything requested.
        scopes: promptDetails.missingOIDCScope?.length ? promptDetails.missingOIDCScope : String(interaction.params.scope ?? '').split(' ').filter(Boolean),
        claims: promptDetails.missingOIDCClaims ?? [],
      });
      return;
    }
    throw new ValidationError(t.interaction.stepUnsupported);
  });

  /**
   * A later step of the same sign-in (second factor, too-many-sessions page) must know who proved what: the page
   * carries the user, the remember choice and the methods already proven, bound to this browser's CSRF cookie and this
   * interaction by an HMAC, and valid for a few minutes.
   */
  function ticketFields(ctx: Context, interaction: Interaction, kind: string, proof: Proof) {
    const expires = clock.now().getTime() + TICKET_MS;
    const fields: TicketFields = {
      userId: proof.user.id,
      remember: proof.remember ? 'yes' : 'no',
      methods: proof.methods.join(' '),
      authTime: proof.authTime === null ? '' : String(proof.authTime),
      expires: String(expires),
    };
    return { ...fields, ticket: csrf.token(ctx, ticketScope(kind, interaction.uid, fields)) };
  }

  async function readTicket(ctx: Context, interaction: Interaction, kind: string): Promise<Proof> {
    const fields: TicketFields = {
      userId: field(ctx, 'user'),
      remember: field(ctx, 'remember'),
      methods: field(ctx, 'methods'),
      authTime: field(ctx, 'auth_time'),
      expires: field(ctx, 'expires'),
    };
    const expected = Buffer.from(csrf.token(ctx, ticketScope(kind, interaction.uid, fields)));
    const ticket = Buffer.from(field(ctx, 'ticket'));
    const expires = Number(fields.expires);
    if (!Number.isFinite(expires) || expires < clock.now().getTime() || expected.length !== ticket.length || !timingSafeEqual(expected, ticket)) {
      throw new ForbiddenError(t.interaction.pageExpired);
    }
    const user = await accounts.findActiveById(fields.userId);
    if (!user) throw new ForbiddenError(t.interaction.pageExpired);
    const authTime = fields.authTime === '' ? null : Number(fields.authTime);
    return { user, remember: fields.remember === 'yes', methods: fields.methods.split(' ').filter(Boolean), authTime };
  }

  /**
   * A signed-in browser whose session lacks only the level the application needs: the user proves the missing factor
   * without the password (step-up). Anything else about the request (prompt=login, max_age, another user) is a full
   * sign-in.
   */
  async function stepUpOf(interaction: Interaction): Promise<Proof | undefined> {
    const { reasons } = interaction.prompt;
    const uid = interaction.session?.uid;
    if (!uid || !reasons.includes(SECOND_FACTOR_REQUIRED) || !reasons.every((reason) => STEP_UP_REASONS.has(reason))) return undefined;
    const session = await provider.Session.findByUid(uid);
    if (!session?.accountId || session.accountId !== interaction.session?.accountId || !(await sessions.isLive(uid))) return undefined;
    const user = await accounts.findActiveById(session.accountId);
    if (!user) return undefined;
    return { user, remember: session.transient !== true, methods: session.amr?.length ? session.amr : ['pwd'], authTime: session.loginTs ?? null };
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

  /**
   * The first factor is proven (the password now, or the session being stepped up): users with an authenticator app
   * prove it too; a user without one, when the application requires the second-factor level, sets one up first.
   */
  async function afterFirstFactor(ctx: Context, interaction: Interaction, proof: Proof) {
    if (await mfa.hasSecondFactor(proof.user.id)) {
      await renderSecondFactor(ctx, interaction, proof);
      return;
    }
    if (interaction.prompt.reasons.includes(SECOND_FACTOR_REQUIRED)) {
      await renderEnrolment(ctx, interaction, proof);
      return;
    }
    await completeLogin(ctx, interaction, proof);
  }

  async function renderSecondFactor(ctx: Context, interaction: Interaction, proof: Proof, error?: string, status = 200) {
    await renderStep(ctx, interaction, 'second-factor', {
      error,
      stepUp: proof.authTime !== null,
      ...ticketFields(ctx, interaction, 'otp', proof),
    }, status);
  }

  /** Enrolment inside the sign-in: the same pending enrolment /account/security would show, started if there is none. */
  async function renderEnrolment(ctx: Context, interaction: Interaction, proof: Proof, error?: ValidationError) {
    const { user } = proof;
    const enrolment = (await mfa.pendingEnrolment(user.id, user.email)) ?? (await mfa.startEnrolment(user.id, user.email));
    await renderStep(ctx, interaction, 'second-factor-enrol', {
      ...(await totpSetupModel(enrolment)),
      errorMessage: error && errorText(error, t),
      ...ticketFields(ctx, interaction, 'enrol', proof),
    }, error ? 400 : 200);
  }

  /**
   * Every factor is proven: apply the session limit (a new session only; signing in again within one's own session
   * creates none), then finish the login step.
   */
  async function completeLogin(ctx: Context, interaction: Interaction, proof: Proof) {
    const { user, remember, methods: amr } = proof;
    if (interaction.session?.accountId !== user.id) {
      const check = await sessions.checkLimitBeforeLogin(user.id, userActor(ctx, user.id));
      if (!check.allowed) {
        await renderStep(ctx, interaction, 'session-limit', {
          sessions: check.sessions.map((s) => ({ id: s.id, device: s.deviceLabel, ip: s.ipLastSeen, lastSeen: s.lastSeenAt.toISOString(), created: s.createdAt.toISOString() })),
          ...ticketFields(ctx, interaction, 'session-limit', proof),
        }, 409);
        return;
      }
    }
    (ctx.state.log as Logger).info({ userId: user.id, clientId: interaction.params.client_id, amr }, 'login succeeded');
    // ts: the time of this authentication (a step-up keeps the sign-in's), kept when a later step (consent) is merged in.
    const ts = proof.authTime ?? Math.floor(clock.now().getTime() / 1000);
    await finish(ctx, { login: { accountId: user.id, amr: [...amr], acr: levelOf(amr), remember, ts } });
  }

  router.post('/login', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new ValidationError(t.interaction.stepComplete);
    const login = field(ctx, 'login');
    // While the account's second factor is locked, the password is not even checked: the answer must not tell an
    // attacker who caused the lock whether the password they try is right.
    const lockedUntil = await secondFactorLockedUntil(login);
    if (lockedUntil) {
      await renderLogin(ctx, interaction, { login: login.slice(0, 254), error: secondFactorLocked(ctx, t, lockedUntil, clock.now()), status: 429 });
      return;
    }
    let user: User;
    try {
      user = await passwordAttempts.attempt(
        { login, ...requestMeta(ctx), kind: 'login' },
        () => accounts.authenticate(login, field(ctx, 'password')),
        (error) => error instanceof InvalidCredentialsError,
      );
    } catch (error) {
      if (error instanceof TooManyAttemptsError) {
        (ctx.state.log as Logger).info({ retryAfterSeconds: error.retryAfterSeconds }, 'login throttled');
        ctx.set('Retry-After', String(error.retryAfterSeconds));
        await renderLogin(ctx, interaction, { login: login.slice(0, 254), error: errorText(error, t), status: 429 });
        return;
      }
      if (!(error instanceof InvalidCredentialsError)) throw error;
      (ctx.state.log as Logger).info({ reason: (error.debug as { reason?: string } | undefined)?.reason }, 'login failed');
      await renderLogin(ctx, interaction, { login: login.slice(0, 254), error: errorText(error, t), status: 401 });
      return;
    }
    await afterFirstFactor(ctx, interaction, { user, remember: field(ctx, 'remember') === 'yes', methods: ['pwd'], authTime: null });
  });

  // The second factor: a code from the authenticator app, or one of the recovery codes.
  router.post('/otp', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new ValidationError(t.interaction.stepComplete);
    const proof = await readTicket(ctx, interaction, 'otp');
    const { user } = proof;
    const recovery = field(ctx, 'recovery_code').trim();
    const verification = await mfa.verifySecondFactor(user.id, { code: field(ctx, 'code'), recoveryCode: recovery }, userActor(ctx, user.id));
    if (verification.result === 'ok') {
      await completeLogin(ctx, interaction, { ...proof, methods: withMethod(proof.methods, ...verification.methods) });
      return;
    }
    const refusal = secondFactorRefusal(ctx, t, verification, clock.now(), recovery !== '');
    await renderSecondFactor(ctx, interaction, proof, refusal.message, refusal.status);
  });

  // Enrolment inside the sign-in: the first code from the new app turns the factor on and proves it.
  router.post('/enrol', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new ValidationError(t.interaction.stepComplete);
    const proof = await readTicket(ctx, interaction, 'enrol');
    let codes: string[];
    try {
      codes = await mfa.activate(proof.user.id, field(ctx, 'code'), userActor(ctx, proof.user.id));
    } catch (error) {
      if (error instanceof ValidationError) {
        await renderEnrolment(ctx, interaction, proof, error);
        return;
      }
      if (error instanceof ConflictError || error instanceof NotFoundError) {
        // Set up meanwhile (another tab) or removed: the regular second step decides.
        await afterFirstFactor(ctx, interaction, proof);
        return;
      }
      throw error;
    }
    const enrolled = { ...proof, methods: withMethod(proof.methods, 'otp') };
    await renderStep(ctx, interaction, 'second-factor-enrolled', { codes, ...ticketFields(ctx, interaction, 'enrolled', enrolled) });
  });

  // After the recovery codes are shown: the sign-in completes with the factor the user has just proven.
  router.post('/continue', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new ValidationError(t.interaction.stepComplete);
    await completeLogin(ctx, interaction, await readTicket(ctx, interaction, 'enrolled'));
  });

  // From the "too many sessions" page: end one of the user's sessions, then go on signing in.
  router.post('/session-limit', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new ValidationError(t.interaction.stepComplete);
    const proof = await readTicket(ctx, interaction, 'session-limit');
    await sessions.endOwn(proof.user.id, field(ctx, 'session'), userActor(ctx, proof.user.id));
    await completeLogin(ctx, interaction, proof);
  });

  router.post('/confirm', form, csrf.verify(csrfScope), async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'consent') throw new ValidationError(t.interaction.nothingToConfirm);
    const { accountId } = interaction.session ?? {};
    const clientId = interaction.params.client_id;
    if (!accountId || typeof clientId !== 'string') throw new ValidationError(t.interaction.attemptExpired);
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
