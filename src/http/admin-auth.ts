import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { consoleActor } from '../domain/admin/admin-service.js';
import type { Actor } from '../domain/audit/audit.js';
import { ADMIN_SCOPE } from '../domain/clients/client.js';
import type { ClientService } from '../domain/clients/client-service.js';
import { ForbiddenError, NotFoundError } from '../domain/errors.js';
import type { Logger } from '../infra/logger.js';
import type { FirstPartySignIn, SignedIn } from './first-party-sign-in.js';

// The one set of rules for who may administer Gatehouse, and the one place an admin Actor is made:
//  - the admin API (/admin/api): a client_credentials access token of an admin client carrying the admin scope;
//  - the admin console (/admin): a live SSO session of an active user with the admin flag.
// Both are re-checked on every request (a client or user that stops being admin is refused at its next request), and
// both hand the same AdminService an Actor for the audit log.

// RFC 6750's b64token; anything longer than this is not a token Gatehouse issued.
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]{1,512}=*)$/i;
const MAX_USER_AGENT = 512;

export function requestMeta(ctx: Context): { ip: string | null; userAgent: string | null } {
  const userAgent = ctx.get('user-agent');
  return { ip: ctx.ip || null, userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null };
}

/** The Actor the admin middleware established for this request. */
export function adminActor(ctx: Context): Actor {
  const actor = ctx.state.adminActor as Actor | undefined;
  if (!actor) throw new Error('adminActor() used on a route without admin authorization');
  return actor;
}

interface Refusal {
  readonly status: 401 | 403;
  readonly error: 'invalid_token' | 'insufficient_scope';
  readonly description: string;
}

const INVALID_TOKEN: Refusal = { status: 401, error: 'invalid_token', description: 'Send a valid access token of an admin client: Authorization: Bearer <token>.' };
const INSUFFICIENT_SCOPE: Refusal = { status: 403, error: 'insufficient_scope', description: `This token does not carry the ${ADMIN_SCOPE} scope of an admin client.` };

/** A refused request: 401 for a missing, unknown or expired token; 403 for a valid token that may not do this. */
function refuse(ctx: Context, refusal: Refusal): void {
  ctx.status = refusal.status;
  ctx.set('WWW-Authenticate', refusal.status === 401 ? 'Bearer error="invalid_token"' : `Bearer error="insufficient_scope", scope="${ADMIN_SCOPE}"`);
  ctx.body = { error: refusal.error, error_description: refusal.description };
}

/**
 * The admin API answers admin clients only: a client_credentials access token issued by Gatehouse (tokens of user
 * sign-ins are refused), not expired and not sender-constrained, whose scope includes admin and whose client still
 * exists and is an admin client at the time of the request.
 */
export function requireAdminClient(deps: { readonly provider: Provider; readonly clients: Pick<ClientService, 'get'> }): Middleware {
  return async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    const value = BEARER.exec(ctx.get('authorization'))?.[1];
    // ClientCredentials.find looks among client_credentials tokens only: a user's access token is never found here.
    const token = value ? await deps.provider.ClientCredentials.find(value) : undefined;
    // A DPoP- or certificate-bound token needs its proof, which this API does not take: refused rather than downgraded.
    if (!token || token.kind !== 'ClientCredentials' || token.isExpired || token.jkt || token['x5t#S256'] || !token.clientId) {
      return refuse(ctx, INVALID_TOKEN);
    }
    let client;
    try {
      client = await deps.clients.get(token.clientId);
    } catch (error) {
      if (error instanceof NotFoundError) return refuse(ctx, INVALID_TOKEN);
      throw error;
    }
    if (!client.admin || !token.scopes.has(ADMIN_SCOPE)) return refuse(ctx, INSUFFICIENT_SCOPE);
    const actor: Actor = { type: 'admin', id: client.clientId, ...requestMeta(ctx) };
    ctx.state.adminActor = actor;
    // Reads leave no audit event; this line says which admin client read or changed what (the route is logged too).
    (ctx.state.log as Logger | undefined)?.info({ adminClientId: client.clientId }, 'admin API request');
    await next();
  };
}

export const NOT_AN_ADMIN = 'Your account does not have access to the admin console. Ask an administrator to grant it (gatehouse users grant-admin EMAIL).';

/**
 * The admin console answers signed-in admin users only. Without a live SSO session the browser is sent to sign in
 * (through the console's own client) and comes back to `returnTo` (a form post changes nothing and comes back to the
 * page it was on); a signed-in user without the admin flag gets a 403 page. The user is re-read on every request.
 */
export function requireAdminUser(
  signIn: FirstPartySignIn,
  options: { returnTo?: (ctx: Context) => string; forbidden?: (ctx: Context) => Promise<void> } = {},
): Middleware {
  return async (ctx, next) => {
    const found: SignedIn | undefined = await signIn.authenticate(ctx);
    if (!found) {
      signIn.start(ctx, options.returnTo ? options.returnTo(ctx) : ctx.path);
      return;
    }
    if (!found.user.admin) {
      (ctx.state.log as Logger | undefined)?.info({ userId: found.user.id }, 'admin console refused: not an admin');
      if (options.forbidden) return options.forbidden(ctx);
      throw new ForbiddenError(NOT_AN_ADMIN);
    }
    ctx.state.console = found;
    ctx.state.adminActor = consoleActor(found.user.id, requestMeta(ctx));
    (ctx.state.log as Logger | undefined)?.info({ adminUserId: found.user.id }, 'admin console request');
    await next();
  };
}
