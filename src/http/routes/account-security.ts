import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import QRCode from 'qrcode';
import type { AccountService } from '../../domain/accounts/account-service.js';
import type { User } from '../../domain/accounts/user.js';
import type { Actor } from '../../domain/audit/audit.js';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import type { Enrolment, MfaService } from '../../domain/mfa/mfa-service.js';

/** What the account router lends these pages: its sign-in check, CSRF and rendering. */
export interface AccountPageKit {
  readonly form: Middleware;
  /** Requires a live SSO session; a form post without one starts a sign-in that comes back to `returnTo`. */
  requireSession(options?: { returnTo?: string }): Middleware;
  readonly csrfVerify: Middleware;
  csrfFields(ctx: Context): Record<string, string>;
  currentUser(ctx: Context): User;
  render(ctx: Context, view: string, model: Record<string, unknown>, status?: number): Promise<void>;
  redirect(ctx: Context, location: string): void;
  userActor(ctx: Context, userId: string): Actor;
  field(ctx: Context, name: string): string;
  query(ctx: Context, name: string): string | undefined;
}

export interface SecurityRoutesDeps {
  readonly mfa: MfaService;
  readonly accounts: AccountService;
}

// The confirmations /account/security may show (?done=...); the texts are in the view.
const SECURITY_DONE = new Set(['disabled']);

/** The QR code of the otpauth URI, drawn here as an SVG data: URI (no script, no third party sees the secret). */
async function qrDataUri(uri: string): Promise<string> {
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/** Groups of four characters are easier to type into an app by hand. */
function spaced(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/**
 * /account/security: two-step verification with an authenticator app (TOTP) and recovery codes. Mounted on the
 * account router, so it signs in and checks CSRF exactly as the other account pages do.
 *
 * Regenerating codes and disabling ask for the current password for now; the issue wants a recent second-factor
 * check (step-up) there, which comes with the login's second step.
 */
export function addSecurityRoutes(router: Router, kit: AccountPageKit, deps: SecurityRoutesDeps): void {
  const { mfa, accounts } = deps;
  const post = (path: string, handler: Middleware) =>
    router.post(path, kit.form, kit.requireSession({ returnTo: '/account/security' }), kit.csrfVerify, handler);

  async function renderStatus(ctx: Context, options: { done?: string; errorForm?: string; errorMessage?: string } = {}) {
    const user = kit.currentUser(ctx);
    await kit.render(
      ctx,
      'account-security',
      {
        ...(await mfa.status(user.id)),
        done: options.done,
        errorForm: options.errorForm,
        errorMessage: options.errorMessage,
        ...kit.csrfFields(ctx),
      },
      options.errorMessage ? 400 : 200,
    );
  }

  async function renderSetup(ctx: Context, enrolment: Enrolment, error?: ValidationError) {
    await kit.render(
      ctx,
      'account-security-setup',
      {
        qr: await qrDataUri(enrolment.otpauthUri),
        secret: spaced(enrolment.secret),
        errorMessage: error?.message,
        ...kit.csrfFields(ctx),
      },
      error ? 400 : 200,
    );
  }

  async function renderCodes(ctx: Context, codes: string[], regenerated: boolean) {
    await kit.render(ctx, 'account-security-codes', { codes, regenerated });
  }

  /** The current password, re-checked; false has already answered with the page and its message. */
  async function passwordConfirmed(ctx: Context, formName: string): Promise<boolean> {
    const user = kit.currentUser(ctx);
    if (await accounts.verifyOwnPassword(user.id, kit.field(ctx, 'current_password'))) return true;
    await renderStatus(ctx, { errorForm: formName, errorMessage: 'The current password is not right.' });
    return false;
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

  post('/security/recovery-codes', async (ctx) => {
    const user = kit.currentUser(ctx);
    if (!(await passwordConfirmed(ctx, 'regenerate'))) return;
    let codes: string[];
    try {
      codes = await mfa.regenerateRecoveryCodes(user.id, kit.userActor(ctx, user.id));
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      kit.redirect(ctx, '/account/security');
      return;
    }
    await renderCodes(ctx, codes, true);
  });

  post('/security/disable', async (ctx) => {
    const user = kit.currentUser(ctx);
    if (!(await passwordConfirmed(ctx, 'disable'))) return;
    await mfa.disable(user.id, kit.userActor(ctx, user.id));
    kit.redirect(ctx, '/account/security?done=disabled');
  });
}
