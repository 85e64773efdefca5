import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { AccountService } from '../../domain/accounts/account-service.js';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, type Actor, type AuditLog } from '../../domain/audit/audit.js';
import { ADMIN_SCOPE } from '../../domain/clients/client.js';
import type { ClientService } from '../../domain/clients/client-service.js';
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import type { SessionService } from '../../domain/sessions/session-service.js';
import { checkDeliveryId, parseDeliveryQuery } from '../../domain/logout/delivery-query.js';
import type { LogoutDeliveryService } from '../../domain/logout/delivery-service.js';
import { DELIVERY_LIST_DEFAULT } from '../../domain/logout/logout-notification.js';
import type { Logger } from '../../infra/logger.js';
import { auditEventJson, clientInputFromJson, clientJson, logoutDeliveryJson, parseIsoInstant, sessionJson } from '../admin-json.js';

export interface AdminApiDeps {
  readonly provider: Provider;
  readonly clients: ClientService;
  readonly accounts: AccountService;
  readonly sessions: SessionService;
  readonly audit: AuditLog;
  readonly logoutDeliveries: LogoutDeliveryService;
}

export const ADMIN_API_PREFIX = '/admin/api';

// RFC 6750's b64token; anything longer than this is not a token Gatehouse issued.
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]{1,512}=*)$/i;
const MAX_USER_AGENT = 512;

/** A refused request: 401 for a missing, unknown or expired token; 403 for a valid token that may not do this. */
function refuse(ctx: Context, refusal: { status: 401 | 403; error: 'invalid_token' | 'insufficient_scope'; description: string }): void {
  ctx.status = refusal.status;
  ctx.set('WWW-Authenticate', refusal.status === 401 ? 'Bearer error="invalid_token"' : `Bearer error="insufficient_scope", scope="${ADMIN_SCOPE}"`);
  ctx.body = { error: refusal.error, error_description: refusal.description };
}

const INVALID_TOKEN = { status: 401, error: 'invalid_token', description: 'Send a valid access token of an admin client: Authorization: Bearer <token>.' } as const;
const INSUFFICIENT_SCOPE = { status: 403, error: 'insufficient_scope', description: `This token does not carry the ${ADMIN_SCOPE} scope of an admin client.` } as const;

/**
 * The admin API answers admin clients only: a client_credentials access token issued by Gatehouse (tokens of user
 * sign-ins are refused), not expired and not sender-constrained, whose scope includes admin and whose client still
 * exists and is an admin client at the time of the request.
 */
function requireAdminClient(deps: Pick<AdminApiDeps, 'provider' | 'clients'>): Middleware {
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
    const userAgent = ctx.get('user-agent');
    const actor: Actor = { type: 'admin', id: client.clientId, ip: ctx.ip || null, userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null };
    ctx.state.adminActor = actor;
    // Reads leave no audit event; this line says which admin client read or changed what (the route is logged too).
    (ctx.state.log as Logger | undefined)?.info({ adminClientId: client.clientId }, 'admin API request');
    await next();
  };
}

function single(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new ValidationError(`Give ${name} at most once.`, { field: name });
  return value === undefined || value === '' ? undefined : value;
}

function sinceParameter(ctx: Context): Date | undefined {
  const raw = single(ctx, 'since');
  if (raw === undefined) return undefined;
  const at = parseIsoInstant(raw);
  if (!at) throw new ValidationError('since must be an ISO 8601 date or time, such as 2026-01-31T12:00:00Z.', { field: 'since' });
  return at;
}

function limitParameter(ctx: Context): number {
  const raw = single(ctx, 'limit');
  if (raw === undefined) return AUDIT_DEFAULT_LIMIT;
  const limit = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(limit >= 1 && limit <= AUDIT_MAX_LIMIT)) throw new ValidationError(`limit must be a whole number from 1 to ${AUDIT_MAX_LIMIT}.`, { field: 'limit' });
  return limit;
}

/**
 * The admin API (JSON, /admin/api): a user's live sessions, ending them, and the user's audit trail. `:id` is the
 * user's id, or their email address. Errors are thrown as domain errors; http/errors.ts answers them with JSON here.
 */
export function createAdminApiRouter(deps: AdminApiDeps): Router {
  const { accounts, sessions, audit } = deps;
  const router = new Router();
  const admin = requireAdminClient(deps);
  const actorOf = (ctx: Context) => ctx.state.adminActor as Actor;

  router.get(`${ADMIN_API_PREFIX}/users/:id/sessions`, admin, async (ctx) => {
    const user = await accounts.getByIdOrEmail(ctx.params.id!);
    const live = await sessions.listLive(user.id);
    ctx.body = { user_id: user.id, sessions: live.map(sessionJson) };
  });

  router.delete(`${ADMIN_API_PREFIX}/users/:id/sessions`, admin, async (ctx) => {
    const user = await accounts.getByIdOrEmail(ctx.params.id!);
    const ended = await sessions.endAllForUser(user.id, 'revoked_by_admin', actorOf(ctx));
    ctx.body = { user_id: user.id, ended };
  });

  router.delete(`${ADMIN_API_PREFIX}/users/:id/sessions/:sessionId`, admin, async (ctx) => {
    const user = await accounts.getByIdOrEmail(ctx.params.id!);
    const ended = await sessions.revokeByAdmin(ctx.params.sessionId!, actorOf(ctx), user.id);
    // false: the session had already ended (nothing changed); an unknown session, or another user's, is a 404.
    ctx.body = { user_id: user.id, session_id: ctx.params.sessionId, ended };
  });

  router.get(`${ADMIN_API_PREFIX}/users/:id/audit`, admin, async (ctx) => {
    const since = sinceParameter(ctx);
    const limit = limitParameter(ctx);
    const user = await accounts.getByIdOrEmail(ctx.params.id!);
    const events = await audit.list({ userId: user.id, ...(since ? { since } : {}), limit });
    ctx.body = { user_id: user.id, events: events.map(auditEventJson) };
  });

  // Parsed only for authenticated admin clients, small, JSON only.
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '16kb', encoding: 'utf-8' });
  const bodyOf = (ctx: Context) => (ctx.request as unknown as { body?: unknown }).body;

  router.post(`${ADMIN_API_PREFIX}/clients`, admin, json, async (ctx) => {
    const { client, secret } = await deps.clients.create(clientInputFromJson(bodyOf(ctx)));
    ctx.status = 201;
    ctx.body = { ...clientJson(client), ...(secret ? { client_secret: secret } : {}) };
  });

  router.get(`${ADMIN_API_PREFIX}/clients/:clientId`, admin, async (ctx) => {
    ctx.body = clientJson(await deps.clients.get(ctx.params.clientId!));
  });

  router.patch(`${ADMIN_API_PREFIX}/clients/:clientId`, admin, json, async (ctx) => {
    const input = clientInputFromJson(bodyOf(ctx));
    if (Object.keys(input).length === 0) throw new ValidationError('Send at least one client setting to change.');
    const { client, secret } = await deps.clients.update(ctx.params.clientId!, input);
    ctx.body = { ...clientJson(client), ...(secret ? { client_secret: secret } : {}) };
  });

  router.get(`${ADMIN_API_PREFIX}/logout-deliveries`, admin, async (ctx) => {
    const query = parseDeliveryQuery(
      { session: single(ctx, 'session'), client: single(ctx, 'client'), state: single(ctx, 'state'), limit: single(ctx, 'limit') },
      DELIVERY_LIST_DEFAULT,
    );
    ctx.body = { deliveries: (await deps.logoutDeliveries.list(query)).map(logoutDeliveryJson) };
  });

  router.post(`${ADMIN_API_PREFIX}/logout-deliveries/:id/retry`, admin, async (ctx) => {
    const requeued = await deps.logoutDeliveries.retry(checkDeliveryId(ctx.params.id!), actorOf(ctx));
    ctx.body = logoutDeliveryJson(requeued);
  });

  // Anything else under the prefix is a JSON 404, not a fall-through to the protocol routes.
  router.all(new RegExp(`^${ADMIN_API_PREFIX}(/.*)?$`), () => {
    throw new NotFoundError('There is no such admin API endpoint.');
  });

  return router;
}
