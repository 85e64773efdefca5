import Router from '@koa/router';
import type { Context } from 'koa';
import { LIST_OFFSET_MAX, LIST_PAGE_MAX, type AdminService } from '../../domain/admin/admin-service.js';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, parseAuditTypeFilter } from '../../domain/audit/audit.js';
import { ADMIN_SCOPE } from '../../domain/clients/client.js';
import { checkDeliveryId, parseDeliveryQuery } from '../../domain/logout/delivery-query.js';
import { DELIVERY_LIST_DEFAULT } from '../../domain/logout/logout-notification.js';
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import { adminActor, adminPrincipal, type AdminAuthorization, type AdminDoor, type AdminRefusal } from '../admin-auth.js';
import { auditEventJson, clientInputFromJson, clientJson, logoutDeliveryJson, parseIsoInstant, sessionJson, userJson } from '../admin-json.js';
import { CONFIRM_PATH } from '../errors.js';
import { readBody } from '../request-body.js';

export interface AdminApiDeps {
  readonly admin: AdminService;
  readonly authorization: AdminAuthorization;
}

export const ADMIN_API_PREFIX = '/admin/api';
/** The header a signed-in administrator's API write carries the session's CSRF token in. */
export const CSRF_HEADER = 'X-CSRF-Token';

const LIST_DEFAULT = 50;

const REFUSALS: Record<AdminRefusal, { status: 401 | 403; error: string; description: string }> = {
  unauthenticated: { status: 401, error: 'invalid_token', description: 'Send a valid access token of an admin client (Authorization: Bearer <token>), or sign in to the admin console.' },
  invalid_token: { status: 401, error: 'invalid_token', description: 'Send a valid access token of an admin client: Authorization: Bearer <token>.' },
  insufficient_scope: { status: 403, error: 'insufficient_scope', description: `This token does not carry the ${ADMIN_SCOPE} scope of an admin client.` },
  not_an_admin: { status: 403, error: 'access_denied', description: 'This account is not an administrator.' },
  csrf: { status: 403, error: 'invalid_request', description: `A write signed in with the console's session needs the session's CSRF token in the ${CSRF_HEADER} header (GET ${ADMIN_API_PREFIX}/me gives it).` },
  stale: { status: 403, error: 'insufficient_user_authentication', description: `This write needs a recent check that it is you: confirm at ${CONFIRM_PATH}, then try again.` },
};

/** The API's door: bearer tokens of admin clients, or a signed-in administrator's session; refusals as OAuth-style JSON. */
const apiDoor: AdminDoor = {
  bearer: true,
  submittedCsrf: (ctx) => ctx.get(CSRF_HEADER),
  refuse(ctx, refusal) {
    const { status, error, description } = REFUSALS[refusal];
    ctx.status = status;
    if (refusal === 'unauthenticated' || refusal === 'invalid_token') ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
    if (refusal === 'insufficient_scope') ctx.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${ADMIN_SCOPE}"`);
    ctx.body = { error, error_description: description };
  },
};

function single(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new ValidationError(`Give ${name} at most once.`, { field: name });
  return value === undefined || value === '' ? undefined : value;
}

function instantParameter(ctx: Context, name: 'since' | 'until'): Date | undefined {
  const raw = single(ctx, name);
  if (raw === undefined) return undefined;
  const at = parseIsoInstant(raw);
  if (!at) throw new ValidationError(`${name} must be an ISO 8601 date or time, such as 2026-01-31T12:00:00Z.`, { field: name });
  return at;
}

function wholeParameter(ctx: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = single(ctx, name);
  if (raw === undefined) return fallback;
  const value = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new ValidationError(`${name} must be a whole number from ${min} to ${max}.`, { field: name });
  return value;
}

type Body = Record<string, unknown>;

function body(ctx: Context): Body {
  const value = ctx.request.body;
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError('Send a JSON object (Content-Type: application/json).');
  return value as Body;
}

function optional<T>(b: Body, key: string, check: (v: unknown) => v is T, kind: string): T | undefined {
  if (!(key in b) || b[key] === undefined) return undefined;
  if (!check(b[key])) throw new ValidationError(`${key} must be ${kind}.`, { field: key });
  return b[key] as T;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** The `limit` and `offset` of a list (users, clients). */
function pageParameters(ctx: Context) {
  return { limit: wholeParameter(ctx, 'limit', LIST_DEFAULT, 1, LIST_PAGE_MAX), offset: wholeParameter(ctx, 'offset', 0, 0, LIST_OFFSET_MAX) };
}

const nextOffset = (page: { offset: number; items: unknown[]; more: boolean }) => (page.more ? page.offset + page.items.length : null);

/**
 * The admin API (JSON, /admin/api): the operations of the admin console, on the same AdminService, for admin clients
 * and signed-in administrators, under the same authorization module as the console (http/admin-auth.ts).
 * `:id` of a user is the user's id or email address. Errors are thrown as domain errors; http/errors.ts answers them
 * with JSON here.
 */
export function createAdminApiRouter(deps: AdminApiDeps): Router {
  const { admin } = deps;
  const router = new Router();
  const json = readBody('json', 64);
  // Every route below is authorized the same way, writes with the write guards too; it runs before the body is read.
  const authorized = deps.authorization.require(apiDoor);

  // Who is calling; for a signed-in administrator, the CSRF token their writes send in X-CSRF-Token.
  router.get(`${ADMIN_API_PREFIX}/me`, authorized, (ctx) => {
    const principal = adminPrincipal(ctx);
    ctx.body =
      principal.kind === 'client'
        ? { type: 'client', client_id: principal.clientId }
        : { type: 'user', ...userJson(principal.user), csrf_token: deps.authorization.csrfToken(ctx) };
  });

  // Clients

  router.get(`${ADMIN_API_PREFIX}/clients`, authorized, async (ctx) => {
    const page = await admin.listClients(single(ctx, 'q') ?? '', pageParameters(ctx));
    ctx.body = { clients: page.items.map(clientJson), next_offset: nextOffset(page) };
  });

  router.post(`${ADMIN_API_PREFIX}/clients`, authorized, json, async (ctx) => {
    const { client, secret } = await admin.createClient(clientInputFromJson(body(ctx)), adminActor(ctx));
    ctx.status = 201;
    ctx.body = { ...clientJson(client), ...(secret ? { client_secret: secret } : {}) };
  });

  router.get(`${ADMIN_API_PREFIX}/clients/:clientId`, authorized, async (ctx) => {
    ctx.body = clientJson(await admin.getClient(ctx.params.clientId!));
  });

  router.patch(`${ADMIN_API_PREFIX}/clients/:clientId`, authorized, json, async (ctx) => {
    const input = clientInputFromJson(body(ctx));
    if (Object.keys(input).length === 0) throw new ValidationError('Send at least one client setting to change.');
    const { client, secret } = await admin.updateClient(ctx.params.clientId!, input, adminActor(ctx));
    ctx.body = { ...clientJson(client), ...(secret ? { client_secret: secret } : {}) };
  });

  router.post(`${ADMIN_API_PREFIX}/clients/:clientId/rotate-secret`, authorized, async (ctx) => {
    const { client, secret } = await admin.rotateClientSecret(ctx.params.clientId!, adminActor(ctx));
    ctx.body = { ...clientJson(client), client_secret: secret };
  });

  router.delete(`${ADMIN_API_PREFIX}/clients/:clientId`, authorized, async (ctx) => {
    await admin.deleteClient(ctx.params.clientId!, adminActor(ctx));
    ctx.body = { client_id: ctx.params.clientId, deleted: true };
  });

  // Users

  router.get(`${ADMIN_API_PREFIX}/users`, authorized, async (ctx) => {
    const page = await admin.searchUsers(single(ctx, 'q') ?? '', pageParameters(ctx));
    ctx.body = { users: page.items.map(userJson), next_offset: nextOffset(page) };
  });

  router.post(`${ADMIN_API_PREFIX}/users`, authorized, json, async (ctx) => {
    const b = body(ctx);
    const email = optional(b, 'email', isString, 'a string') ?? '';
    const password = optional(b, 'password', isString, 'a string') ?? '';
    const name = optional(b, 'name', isNullableString, 'a string or null') ?? null;
    ctx.status = 201;
    ctx.body = userJson(await admin.createUser({ email, password, name }, adminActor(ctx)));
  });

  router.get(`${ADMIN_API_PREFIX}/users/:id`, authorized, async (ctx) => {
    const detail = await admin.getUser(ctx.params.id!);
    ctx.body = { ...userJson(detail.user), mfa_enabled: detail.mfaEnabled, live_sessions: detail.sessions.length };
  });

  const userAction = (path: string, act: (id: string, ctx: Context) => Promise<Record<string, unknown>>) =>
    router.post(`${ADMIN_API_PREFIX}/users/:id/${path}`, authorized, async (ctx) => {
      ctx.body = await act(ctx.params.id!, ctx);
    });
  userAction('disable', async (id, ctx) => userJson(await admin.setUserDisabled(id, true, adminActor(ctx))));
  userAction('enable', async (id, ctx) => userJson(await admin.setUserDisabled(id, false, adminActor(ctx))));
  userAction('grant-admin', async (id, ctx) => userJson(await admin.setUserAdmin(id, true, adminActor(ctx))));
  userAction('revoke-admin', async (id, ctx) => userJson(await admin.setUserAdmin(id, false, adminActor(ctx))));
  userAction('reset-mfa', async (id, ctx) => {
    const { user, sessionsEnded } = await admin.resetUserMfa(id, adminActor(ctx));
    return { ...userJson(user), mfa_enabled: false, sessions_ended: sessionsEnded };
  });

  // Sessions

  router.get(`${ADMIN_API_PREFIX}/users/:id/sessions`, authorized, async (ctx) => {
    const { user, sessions } = await admin.listUserSessions(ctx.params.id!);
    ctx.body = { user_id: user.id, sessions: sessions.map(sessionJson) };
  });

  router.delete(`${ADMIN_API_PREFIX}/users/:id/sessions`, authorized, async (ctx) => {
    const { user, ended } = await admin.endAllUserSessions(ctx.params.id!, adminActor(ctx));
    ctx.body = { user_id: user.id, ended };
  });

  router.delete(`${ADMIN_API_PREFIX}/users/:id/sessions/:sessionId`, authorized, async (ctx) => {
    const { user, ended } = await admin.endUserSession(ctx.params.id!, ctx.params.sessionId!, adminActor(ctx));
    // false: the session had already ended (nothing changed); an unknown session, or another user's, is a 404.
    ctx.body = { user_id: user.id, session_id: ctx.params.sessionId, ended };
  });

  // Audit

  router.get(`${ADMIN_API_PREFIX}/users/:id/audit`, authorized, async (ctx) => {
    const since = instantParameter(ctx, 'since');
    const limit = wholeParameter(ctx, 'limit', AUDIT_DEFAULT_LIMIT, 1, AUDIT_MAX_LIMIT);
    const { user } = await admin.listUserSessions(ctx.params.id!);
    const page = await admin.queryAudit({ user: user.id, ...(since ? { since } : {}), limit, offset: 0 });
    ctx.body = { user_id: user.id, events: page.events.map(auditEventJson) };
  });

  router.get(`${ADMIN_API_PREFIX}/audit`, authorized, async (ctx) => {
    const since = instantParameter(ctx, 'since');
    const until = instantParameter(ctx, 'until');
    const limit = wholeParameter(ctx, 'limit', AUDIT_DEFAULT_LIMIT, 1, 200);
    const offset = wholeParameter(ctx, 'offset', 0, 0, LIST_OFFSET_MAX);
    const user = single(ctx, 'user');
    const clientId = single(ctx, 'client');
    const type = parseAuditTypeFilter(single(ctx, 'type'));
    const page = await admin.queryAudit({
      ...(user ? { user } : {}),
      ...(clientId ? { clientId } : {}),
      ...(type ? { types: [type] } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      limit,
      offset,
    });
    ctx.body = { events: page.events.map(auditEventJson), next_offset: page.more ? offset + page.events.length : null };
  });

  // Back-channel logout deliveries

  router.get(`${ADMIN_API_PREFIX}/logout-deliveries`, authorized, async (ctx) => {
    const query = parseDeliveryQuery(
      { session: single(ctx, 'session'), client: single(ctx, 'client'), state: single(ctx, 'state'), limit: single(ctx, 'limit') },
      DELIVERY_LIST_DEFAULT,
    );
    ctx.body = { deliveries: (await admin.listLogoutDeliveries(query)).map(logoutDeliveryJson) };
  });

  router.get(`${ADMIN_API_PREFIX}/logout-deliveries/summary`, authorized, async (ctx) => {
    ctx.body = { clients: (await admin.logoutDeliverySummary()).map((s) => ({ client_id: s.clientId, ...s.counts })) };
  });

  router.post(`${ADMIN_API_PREFIX}/logout-deliveries/:id/retry`, authorized, async (ctx) => {
    ctx.body = logoutDeliveryJson(await admin.retryLogoutDelivery(checkDeliveryId(ctx.params.id!), adminActor(ctx)));
  });

  // Anything else under the prefix is a JSON 404, not a fall-through to the protocol routes.
  router.all(new RegExp(`^${ADMIN_API_PREFIX}(/.*)?$`), () => {
    throw new NotFoundError('There is no such admin API endpoint.');
  });

  return router;
}
