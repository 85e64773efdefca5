import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { AdminService } from '../../domain/admin/admin-service.js';
import { AUDIT_EVENT_TYPES } from '../../domain/audit/audit.js';
import { ADMIN_SCOPE, GRANT_TYPES, ID_TOKEN_ALGS, SUPPORTED_SCOPES, TOKEN_ENDPOINT_AUTH_METHODS, type RegisteredClient } from '../../domain/clients/client.js';
import { INTERNAL_CLIENT_PREFIX, type ClientInput } from '../../domain/clients/client-service.js';
import { ADMIN_CONSOLE_CLIENT } from '../../domain/clients/internal-clients.js';
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { ACR_LEVELS } from '../../domain/mfa/levels.js';
import { checkDeliveryId, parseDeliveryQuery } from '../../domain/logout/delivery-query.js';
import { DELIVERY_LIST_DEFAULT, DELIVERY_STATES, type LogoutNotification } from '../../domain/logout/logout-notification.js';
import { adminActor, NOT_AN_ADMIN, requireAdminUser } from '../admin-auth.js';
import { parseIsoInstant } from '../admin-json.js';
import type { FirstPartySignIn, SignedIn } from '../first-party-sign-in.js';
import { CSRF_FIELD, type Csrf } from '../middleware/csrf.js';
import { requireRecentAuthentication, type RecentAuthenticationDeps } from '../middleware/recent-authentication.js';
import type { Text } from '../text/en.js';
import type { RenderView } from '../views.js';

export interface AdminConsoleDeps {
  readonly admin: AdminService;
  readonly signIn: FirstPartySignIn;
  readonly csrf: Csrf;
  readonly renderView: RenderView;
  readonly text: Text;
  /**
   * Middleware every console write passes after authorization and the CSRF check, before its handler: THE insertion
   * point for the "recent second factor" step-up (issue #4). Empty today.
   */
  readonly writeGuards?: readonly Middleware[];
}

export const ADMIN_CONSOLE_PREFIX = '/admin';
// Places to come back to after signing in.
export const ADMIN_RETURN_PATH = /^\/admin(?:\/(?:clients|users|deliveries|audit)(?:\/[A-Za-z0-9_.@%+-]{1,300}(?:\/(?:edit|delete))?)?)?$/;
const RETURN_PATH = ADMIN_RETURN_PATH;

/** The console page a write's form is on, to come back to after "Confirm it is you". */
export function consolePageOf(writePath: string): string {
  const path = writePath.replace(/\/+$/, '');
  const client = /^(\/admin\/clients\/[^/]+)(\/rotate-secret|\/delete)?$/.exec(path);
  if (path === `${ADMIN_CONSOLE_PREFIX}/clients`) return `${ADMIN_CONSOLE_PREFIX}/clients/new`;
  if (client) return client[2] === '/delete' ? path : client[2] ? client[1]! : `${client[1]}/edit`;
  const user = /^(\/admin\/users\/[^/]+)\/.+$/.exec(path);
  if (user) return user[1]!;
  if (path.startsWith(`${ADMIN_CONSOLE_PREFIX}/deliveries/`)) return `${ADMIN_CONSOLE_PREFIX}/deliveries`;
  return RETURN_PATH.test(path) ? path : ADMIN_CONSOLE_PREFIX;
}
const AUDIT_PAGE_SIZE = 50;

function field(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

function query(ctx: Context, name: string): string {
  const value = ctx.query[name];
  return typeof value === 'string' ? value.slice(0, 300) : '';
}

function lines(raw: string): string[] {
  return raw.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
}

/** The client form: every setting `gatehouse clients create/update` takes, with the same names as its flags. */
interface ClientForm {
  readonly name: string;
  readonly 'redirect-uri': string;
  readonly 'post-logout-redirect-uri': string;
  readonly 'backchannel-logout-uri': string;
  readonly 'backchannel-logout-session-required': boolean;
  readonly 'min-acr': string;
  readonly 'grant-type': readonly string[];
  readonly 'client-type': 'public' | 'confidential';
  readonly 'token-endpoint-auth-method': string;
  readonly 'jwks-uri': string;
  readonly 'first-party': boolean;
  readonly admin: boolean;
  readonly scope: string;
  readonly 'id-token-signed-response-alg': string;
}

function clientFormOf(client: RegisteredClient | undefined): ClientForm {
  return {
    name: client?.name ?? '',
    'redirect-uri': client?.redirectUris.join('\n') ?? '',
    'post-logout-redirect-uri': client?.postLogoutRedirectUris.join('\n') ?? '',
    'backchannel-logout-uri': client?.backchannelLogoutUri ?? '',
    'backchannel-logout-session-required': client?.backchannelLogoutSessionRequired ?? true,
    'min-acr': client?.minAcr ?? '',
    'grant-type': client?.grantTypes ?? ['authorization_code', 'refresh_token'],
    'client-type': client?.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential',
    'token-endpoint-auth-method': client && client.tokenEndpointAuthMethod !== 'none' ? client.tokenEndpointAuthMethod : 'client_secret_basic',
    'jwks-uri': client?.jwksUri ?? '',
    'first-party': client?.firstParty ?? false,
    admin: client?.admin ?? false,
    scope: client?.scope ?? 'openid profile email offline_access',
    'id-token-signed-response-alg': client?.idTokenSignedResponseAlg ?? 'RS256',
  };
}

function clientFormFromBody(ctx: Context): ClientForm {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const grants = body['grant-type'];
  return {
    name: field(ctx, 'name'),
    'redirect-uri': field(ctx, 'redirect-uri'),
    'post-logout-redirect-uri': field(ctx, 'post-logout-redirect-uri'),
    'backchannel-logout-uri': field(ctx, 'backchannel-logout-uri').trim(),
    'backchannel-logout-session-required': field(ctx, 'backchannel-logout-session-required') === 'yes',
    'min-acr': field(ctx, 'min-acr'),
    'grant-type': (Array.isArray(grants) ? grants : [grants]).filter((g): g is string => typeof g === 'string'),
    'client-type': field(ctx, 'client-type') === 'public' ? 'public' : 'confidential',
    'token-endpoint-auth-method': field(ctx, 'token-endpoint-auth-method'),
    'jwks-uri': field(ctx, 'jwks-uri').trim(),
    'first-party': field(ctx, 'first-party') === 'yes',
    admin: field(ctx, 'admin') === 'yes',
    scope: field(ctx, 'scope'),
    'id-token-signed-response-alg': field(ctx, 'id-token-signed-response-alg'),
  };
}

/** The form as ClientService input: every field is given, so an edit sets exactly what the form shows. */
function clientInputOf(form: ClientForm): ClientInput {
  const isPublic = form['client-type'] === 'public';
  return {
    name: form.name,
    redirectUris: lines(form['redirect-uri']),
    postLogoutRedirectUris: lines(form['post-logout-redirect-uri']),
    backchannelLogoutUri: form['backchannel-logout-uri'] || null,
    backchannelLogoutSessionRequired: form['backchannel-logout-session-required'],
    minAcr: form['min-acr'] || null,
    grantTypes: form['grant-type'],
    public: isPublic,
    ...(isPublic ? {} : { tokenEndpointAuthMethod: form['token-endpoint-auth-method'] }),
    jwksUri: form['jwks-uri'] || null,
    firstParty: form['first-party'],
    admin: form.admin,
    scope: form.scope,
    idTokenSignedResponseAlg: form['id-token-signed-response-alg'],
  };
}

const CLIENT_OPTIONS = {
  grantTypes: GRANT_TYPES,
  authMethods: TOKEN_ENDPOINT_AUTH_METHODS.filter((m) => m !== 'none'),
  idTokenAlgs: ID_TOKEN_ALGS,
  acrLevels: ACR_LEVELS,
  scopes: [...SUPPORTED_SCOPES, ADMIN_SCOPE],
};

const USER_DONE = new Set(['created', 'disabled', 'enabled', 'admin-granted', 'admin-revoked', 'mfa-reset', 'session-ended', 'session-already-ended', 'sessions-ended']);
const CLIENT_DONE = new Set(['updated', 'deleted']);

/**
 * The console's write guard: every write needs a recent second-factor check (or, for an admin without one, a recent
 * password check); otherwise the browser goes to the account pages' "Confirm it is you" and then back to the page.
 */
export function consoleRecentAuthentication(deps: RecentAuthenticationDeps): Middleware {
  return requireRecentAuthentication(deps, {
    signedIn: (ctx) => {
      const { user, session } = ctx.state.console as SignedIn;
      return { userId: user.id, sessionUid: session.uid };
    },
    onStale: (ctx) => {
      ctx.status = 303;
      ctx.redirect(`/account/confirm?return_to=${encodeURIComponent(consolePageOf(ctx.path))}`);
    },
  });
}

/**
 * The admin console (/admin): server-rendered pages over the AdminService, the same service the admin API calls.
 * Reads and writes need a signed-in admin user (re-checked on every request); every write goes through ONE chain
 * (`write` below): form body, admin authorization, CSRF, then `writeGuards` (the step-up insertion point).
 */
export function createAdminConsoleRouter(deps: AdminConsoleDeps): Router {
  const { admin, signIn, csrf, renderView, text: t } = deps;
  const router = new Router({ prefix: ADMIN_CONSOLE_PREFIX });
  const form = bodyParser({ enableTypes: ['form'], formLimit: '32kb' });

  const signedIn = (ctx: Context) => ctx.state.console as SignedIn;
  const csrfScope = (ctx: Context) => `admin:${signedIn(ctx).session.uid}`;

  async function render(ctx: Context, view: string, model: Record<string, unknown>, status = 200) {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = await renderView(view, {
      t,
      section: undefined,
      consoleUser: signedIn(ctx)?.user.email,
      frameNav: { current: 'admin', admin: true },
      csrf: csrf.token(ctx, csrfScope(ctx)),
      csrfField: CSRF_FIELD,
      ...model,
    });
  }

  function redirect(ctx: Context, location: string) {
    ctx.status = 303;
    ctx.redirect(location);
  }

  // A signed-in user who is not an administrator: a clear 403 page.
  const forbidden = async (ctx: Context) => {
    ctx.status = 403;
    ctx.type = 'html';
    ctx.body = await renderView('error', { title: t.console.forbiddenTitle, description: NOT_AN_ADMIN, error: 'access_denied', status: 403 });
  };
  // Reads: a signed-in admin; a form post comes back to the console's start page after signing in, having changed nothing.
  const read = requireAdminUser(signIn, { forbidden });
  /** THE chain of every console write: body, admin authorization, CSRF, then the write guards (step-up goes there). */
  const write: Middleware[] = [form, requireAdminUser(signIn, { forbidden, returnTo: () => ADMIN_CONSOLE_PREFIX }), csrf.verify(csrfScope), ...(deps.writeGuards ?? [])];

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.get('/callback', signIn.callback(async (ctx, failure) => {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = await renderView('error', { title: t.console.signInFailedTitle, description: t.console.signInFailed[failure], error: failure, status: 400 });
  }));

  router.get('/', read, (ctx) => redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/clients`));

  // Clients

  router.get('/clients', read, async (ctx) => {
    const q = query(ctx, 'q');
    const done = query(ctx, 'done');
    await render(ctx, 'admin-clients', {
      section: 'clients',
      q,
      done: CLIENT_DONE.has(done) ? done : undefined,
      clients: await admin.listClients(q),
      internalPrefix: INTERNAL_CLIENT_PREFIX,
    });
  });

  async function renderClientForm(ctx: Context, options: { client?: RegisteredClient; values: ClientForm; error?: ValidationError }) {
    await render(
      ctx,
      'admin-client-form',
      {
        section: 'clients',
        client: options.client,
        values: options.values,
        options: CLIENT_OPTIONS,
        errorField: options.error?.field,
        errorMessage: options.error?.message,
      },
      options.error ? 400 : 200,
    );
  }

  async function renderClient(ctx: Context, client: RegisteredClient, extra: { secret?: string | null; done?: string } = {}) {
    await render(ctx, 'admin-client', {
      section: 'clients',
      client,
      internal: client.clientId.startsWith(INTERNAL_CLIENT_PREFIX),
      secret: extra.secret ?? null,
      done: extra.done,
    });
  }

  router.get('/clients/new', read, (ctx) => renderClientForm(ctx, { values: clientFormOf(undefined) }));

  router.post('/clients', ...write, async (ctx) => {
    const values = clientFormFromBody(ctx);
    try {
      const { client, secret } = await admin.createClient(clientInputOf(values), adminActor(ctx));
      // The secret is in this response only (never in a URL, never stored in plain text): shown once.
      await renderClient(ctx, client, { secret, done: 'created' });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      await renderClientForm(ctx, { values, error });
    }
  });

  router.get('/clients/:clientId', read, async (ctx) => {
    const done = query(ctx, 'done');
    await renderClient(ctx, await admin.getClient(ctx.params.clientId!), { done: CLIENT_DONE.has(done) ? done : undefined });
  });

  router.get('/clients/:clientId/edit', read, async (ctx) => {
    const client = await admin.getClient(ctx.params.clientId!);
    await renderClientForm(ctx, { client, values: clientFormOf(client) });
  });

  router.post('/clients/:clientId', ...write, async (ctx) => {
    const client = await admin.getClient(ctx.params.clientId!);
    const values = clientFormFromBody(ctx);
    try {
      const { client: updated, secret } = await admin.updateClient(client.clientId, clientInputOf(values), adminActor(ctx));
      if (secret) await renderClient(ctx, updated, { secret, done: 'updated' });
      else redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/clients/${encodeURIComponent(updated.clientId)}?done=updated`);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      await renderClientForm(ctx, { client, values, error });
    }
  });

  router.post('/clients/:clientId/rotate-secret', ...write, async (ctx) => {
    const { client, secret } = await admin.rotateClientSecret(ctx.params.clientId!, adminActor(ctx));
    await renderClient(ctx, client, { secret, done: 'rotated' });
  });

  router.get('/clients/:clientId/delete', read, async (ctx) => {
    await render(ctx, 'admin-client-delete', { section: 'clients', client: await admin.getClient(ctx.params.clientId!) });
  });

  router.post('/clients/:clientId/delete', ...write, async (ctx) => {
    await admin.deleteClient(ctx.params.clientId!, adminActor(ctx));
    redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/clients?done=deleted`);
  });

  // Users

  async function renderUsers(ctx: Context, options: { values?: Record<string, string>; error?: ValidationError; status?: number } = {}) {
    const q = query(ctx, 'q');
    await render(
      ctx,
      'admin-users',
      {
        section: 'users',
        q,
        users: await admin.searchUsers(q),
        values: options.values ?? { email: '', name: '' },
        errorField: options.error?.field,
        errorMessage: options.error?.message,
      },
      options.status ?? (options.error ? 400 : 200),
    );
  }

  router.get('/users', read, (ctx) => renderUsers(ctx));

  router.post('/users', ...write, async (ctx) => {
    const values = { email: field(ctx, 'email'), name: field(ctx, 'name') };
    try {
      const user = await admin.createUser({ ...values, password: field(ctx, 'password') }, adminActor(ctx));
      redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/users/${encodeURIComponent(user.id)}?done=created`);
    } catch (error) {
      if (!(error instanceof ValidationError) && !(error instanceof ConflictError)) throw error;
      const field = error instanceof ValidationError ? error.field : 'email';
      await renderUsers(ctx, { values, error: new ValidationError(error.message, { field: field ?? 'email' }), status: error instanceof ValidationError ? 400 : 409 });
    }
  });

  router.get('/users/:id', read, async (ctx) => {
    const detail = await admin.getUser(ctx.params.id!);
    const done = query(ctx, 'done');
    await render(ctx, 'admin-user', {
      section: 'users',
      ...detail,
      self: detail.user.id === signedIn(ctx).user.id,
      done: USER_DONE.has(done) ? done : undefined,
    });
  });

  const userAction = (path: string, act: (id: string, ctx: Context) => Promise<string>) =>
    router.post(`/users/:id/${path}`, ...write, async (ctx) => {
      const done = await act(ctx.params.id!, ctx);
      redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/users/${encodeURIComponent(ctx.params.id!)}?done=${done}`);
    });
  userAction('disable', async (id, ctx) => (await admin.setUserDisabled(id, true, adminActor(ctx)), 'disabled'));
  userAction('enable', async (id, ctx) => (await admin.setUserDisabled(id, false, adminActor(ctx)), 'enabled'));
  userAction('grant-admin', async (id, ctx) => (await admin.setUserAdmin(id, true, adminActor(ctx)), 'admin-granted'));
  userAction('revoke-admin', async (id, ctx) => (await admin.setUserAdmin(id, false, adminActor(ctx)), 'admin-revoked'));
  userAction('reset-mfa', async (id, ctx) => (await admin.resetUserMfa(id, adminActor(ctx)), 'mfa-reset'));
  userAction('sessions/end-all', async (id, ctx) => (await admin.endAllUserSessions(id, adminActor(ctx)), 'sessions-ended'));
  router.post('/users/:id/sessions/:sessionId/end', ...write, async (ctx) => {
    const { ended } = await admin.endUserSession(ctx.params.id!, ctx.params.sessionId!, adminActor(ctx));
    redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/users/${encodeURIComponent(ctx.params.id!)}?done=${ended ? 'session-ended' : 'session-already-ended'}`);
  });

  // Back-channel logout deliveries

  router.get('/deliveries', read, async (ctx) => {
    const filters = { client: query(ctx, 'client'), state: query(ctx, 'state') };
    let error: ValidationError | undefined;
    let deliveries: LogoutNotification[] = [];
    try {
      const parsed = parseDeliveryQuery({ client: filters.client || undefined, state: filters.state || undefined }, DELIVERY_LIST_DEFAULT);
      deliveries = await admin.listLogoutDeliveries(parsed);
    } catch (caught) {
      if (!(caught instanceof ValidationError)) throw caught;
      error = caught;
    }
    const summary = await admin.logoutDeliverySummary();
    const names = new Map((await admin.listClients()).map((c) => [c.clientId, c.name]));
    const done = query(ctx, 'done');
    await render(ctx, 'admin-deliveries', {
      section: 'deliveries',
      filters,
      states: DELIVERY_STATES,
      summary: summary.map((s) => ({ ...s, name: names.get(s.clientId) ?? null })),
      deliveries: deliveries.map((d) => ({ ...d, clientName: names.get(d.clientId) ?? null })),
      done: done === 'retried' ? done : undefined,
      errorField: error ? (error.field === 'state' ? 'state' : 'client') : undefined,
      errorMessage: error?.message,
    }, error ? 400 : 200);
  });

  router.post('/deliveries/:id/retry', ...write, async (ctx) => {
    await admin.retryLogoutDelivery(checkDeliveryId(ctx.params.id!), adminActor(ctx));
    redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/deliveries?done=retried`);
  });

  // Audit log

  router.get('/audit', read, async (ctx) => {
    const filters = { user: query(ctx, 'user'), client: query(ctx, 'client'), type: query(ctx, 'type'), since: query(ctx, 'since'), until: query(ctx, 'until') };
    const page = Math.min(Math.max(1, Number(/^\d{1,4}$/.test(query(ctx, 'page')) ? query(ctx, 'page') : 1)), 2000);
    let error: ValidationError | undefined;
    const instant = (name: 'since' | 'until') => {
      if (!filters[name]) return undefined;
      const at = parseIsoInstant(filters[name]);
      if (!at) error ??= new ValidationError('Give a date such as 2026-01-31 or 2026-01-31T12:00 (UTC).', { field: name });
      return at;
    };
    const since = instant('since');
    const until = instant('until');
    if (filters.type && !(AUDIT_EVENT_TYPES as readonly string[]).includes(filters.type)) error ??= new ValidationError('Choose an event type from the list.', { field: 'type' });
    let result: Awaited<ReturnType<AdminService['queryAudit']>> = { events: [], more: false };
    if (!error) {
      try {
        result = await admin.queryAudit({
          ...(filters.user ? { user: filters.user } : {}),
          ...(filters.client ? { clientId: filters.client } : {}),
          ...(filters.type ? { types: [filters.type] } : {}),
          ...(since ? { since } : {}),
          ...(until ? { until } : {}),
          limit: AUDIT_PAGE_SIZE,
          offset: (page - 1) * AUDIT_PAGE_SIZE,
        });
      } catch (caught) {
        if (!(caught instanceof NotFoundError) && !(caught instanceof ValidationError)) throw caught;
        error = new ValidationError(caught.message, { field: 'user' });
      }
    }
    const pageLink = (n: number) => `${ADMIN_CONSOLE_PREFIX}/audit?${new URLSearchParams({ ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)), page: String(n) }).toString()}`;
    await render(
      ctx,
      'admin-audit',
      {
        section: 'audit',
        filters,
        types: AUDIT_EVENT_TYPES,
        events: result.events,
        page,
        newer: page > 1 ? pageLink(page - 1) : null,
        older: result.more ? pageLink(page + 1) : null,
        errorField: error?.field,
        errorMessage: error?.message,
      },
      error ? 400 : 200,
    );
  });

  return router;
}

/** The console's sign-in: through its own internal client, coming back only to console pages. */
export function consoleSignInOptions() {
  return { client: ADMIN_CONSOLE_CLIENT, prefix: ADMIN_CONSOLE_PREFIX, returnPath: RETURN_PATH } as const;
}
