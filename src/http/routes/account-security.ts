import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { User } from '../../domain/accounts/user.js';
import type { Actor } from '../../domain/audit/audit.js';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import type { Enrolment, MfaService } from '../../domain/mfa/mfa-service.js';
import { errorText } from '../errors.js';
import type { Text } from '../text/en.js';
import { totpSetupModel } from '../totp-display.js';

/** What the account router lends these pages: its sign-in check, CSRF and rendering. */
export interface AccountPageKit {
  readonly form: Middleware;
  /** Requires a live SSO session; a form post without one starts a sign-in that comes back to `returnTo`. */
  requireSession(options?: { returnTo?: string }): Middleware;
  readonly csrfVerify: Middleware;
  /** Lets a sensitive action through only after a recent second-factor (or password) check in this session. */
  requireRecentAuthentication(returnTo: string): Middleware;
  csrfFields(ctx: Context): Record<string, string>;
  currentUser(ctx: Context): User;
  /** The uid of this browser's SSO session (the services check sensitive actions against it). */
  currentSessionId(ctx: Context): string;
  render(ctx: Context, view: string, model: Record<string, unknown>, status?: number): Promise<void>;
  redirect(ctx: Context, location: string): void;
  userActor(ctx: Context, userId: string): Actor;
  field(ctx: Context, name: string): string;
  query(ctx: Context, name: string): string | undefined;
}

export interface SecurityRoutesDeps {
  readonly mfa: MfaService;
  readonly text: Text;
}

// The confirmations /account/security may show (?done=...); the view shows their texts.
const SECURITY_DONE = new Set(['disabled']);

/**
 * /account/security: two-step verification with an authenticator app (TOTP) and recovery codes. Mounted on the
 * account router, so it signs in and checks CSRF exactly as the other account pages do.
 * Regenerating recovery codes and turning the factor off are sensitive: they need a recent second-factor check.
 */
export function addSecurityRoutes(router: Router, kit: AccountPageKit, deps: SecurityRoutesDeps): void {
  const { mfa, text: t } = deps;
  const post = (path: string, handler: Middleware) =>
    router.post(path, kit.form, kit.requireSession({ returnTo: '/account/security' }), kit.csrfVerify, handler);
  const sensitivePost = (path: string, handler: Middleware) =>
    router.post(path, kit.form, kit.requireSession({ returnTo: '/account/security' }), kit.csrfVerify, kit.requireRecentAuthentication('/account/security'), handler);

  async function renderStatus(ctx: Context, options: { done?: string } = {}) {
    const user = kit.currentUser(ctx);
    await kit.render(
      ctx,
      'account-security',
      {
        ...(await mfa.status(user.id)),
        done: options.done,
        ...kit.csrfFields(ctx),
      },
    );
  }

  async function renderSetup(ctx: Context, enrolment: Enrolment, error?: ValidationError) {
    await kit.render(
      ctx,
      'account-security-setup',
      {
        ...(await totpSetupModel(enrolment)),
        errorMessage: error && errorText(error, t),
        ...kit.csrfFields(ctx),
      },
      error ? 400 : 200,
    );
  }

  async function renderCodes(ctx: Context, codes: string[], regenerated: boolean) {
    await kit.render(ctx, 'account-security-codes', { codes, regenerated });
  }

  router.get('/security', kit.requireSession(), async (ctx) => {
    const done = kit.query(ctx, 'done');
    await renderStatus(ctx, { done: done && SECURITY_DONE.has(done) ? done : undefined });
  });

  // Creating a secret changes state, so it is a form post; the page showing it is a GET after it.
  post('/security/setup', async (ctx) => {
    const user = kit.currentUser(ctx);
    try {
      await mfa.startEnrolment(user.id, user.email);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
    kit.redirect(ctx, '/account/security/setup');
  });

  router.get('/security/setup', kit.requireSession({ returnTo: '/account/security' }), async (ctx) => {
    const user = kit.currentUser(ctx);
    const enrolment = await mfa.pendingEnrolment(user.id, user.email);
    if (!enrolment) {
      kit.redirect(ctx, '/account/security');
      return;
    }
    await renderSetup(ctx, enrolment);
  });

  post('/security/activate', async (ctx) => {
    const user = kit.currentUser(ctx);
    let codes: string[];
    try {
      codes = await mfa.activate(user.id, kit.field(ctx, 'code'), kit.userActor(ctx, user.id));
    } catch (error) {
      if (error instanceof ValidationError) {
        const enrolment = await mfa.pendingEnrolment(user.id, user.email);
        if (enrolment) {
          await renderSetup(ctx, enrolment, error);
          return;
        }
      }
      if (!(error instanceof ValidationError || error instanceof NotFoundError || error instanceof ConflictError)) throw error;
      // Nothing is being set up any more (done meanwhile, or never started): the status page says where things are.
      kit.redirect(ctx, '/account/security');
      return;
    }
    await renderCodes(ctx, codes, false);
  });

  sensitivePost('/security/recovery-codes', async (ctx) => {
    const user = kit.currentUser(ctx);
    let codes: string[];
    try {
      codes = await mfa.regenerateRecoveryCodes(user.id, kit.currentSessionId(ctx), kit.userActor(ctx, user.id));
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      kit.redirect(ctx, '/account/security');
      return;
    }
    await renderCodes(ctx, codes, true);
  });

  sensitivePost('/security/disable', async (ctx) => {
    const user = kit.currentUser(ctx);
    await mfa.disable(user.id, kit.currentSessionId(ctx), kit.userActor(ctx, user.id));
    kit.redirect(ctx, '/account/security?done=disabled');
  });
}
