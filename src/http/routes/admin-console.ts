import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { AdminService, Page } from '../../domain/admin/admin-service.js';
import { AUDIT_EVENT_TYPES, parseAuditTypeFilter, type AuditEventType } from '../../domain/audit/audit.js';
import { ADMIN_SCOPE, GRANT_TYPES, ID_TOKEN_ALGS, SUPPORTED_SCOPES, TOKEN_ENDPOINT_AUTH_METHODS, type RegisteredClient } from '../../domain/clients/client.js';
import { INTERNAL_CLIENT_PREFIX, type ClientInput } from '../../domain/clients/client-service.js';
import { ADMIN_CONSOLE_CLIENT } from '../../domain/clients/internal-clients.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { ACR_LEVELS } from '../../domain/mfa/levels.js';
import { checkDeliveryId, parseDeliveryQuery } from '../../domain/logout/delivery-query.js';
import { DELIVERY_LIST_DEFAULT, DELIVERY_STATES, type LogoutNotification } from '../../domain/logout/logout-notification.js';
import { adminActor, adminCsrfScope, adminUser, type AdminAuthorization, type AdminDoor } from '../admin-auth.js';
import { parseIsoInstant } from '../admin-json.js';
import type { FirstPartySignIn } from '../first-party-sign-in.js';
import type { FormDrafts } from '../form-drafts.js';
import { CONFIRM_PATH, errorText } from '../errors.js';
import { CSRF_FIELD, formToken, type Csrf } from '../middleware/csrf.js';
import type { SessionSignOut } from '../sign-out.js';
import type { Text } from '../text/en.js';
import type { RenderView } from '../views.js';
import { readBody } from '../request-body.js';

export interface AdminConsoleDeps {
  readonly admin: AdminService;
  /** The one admin authorization module, shared with the admin API: the console is its "session only" door. */
  readonly authorization: AdminAuthorization;
  readonly signIn: FirstPartySignIn;
  readonly signOut: SessionSignOut;
  readonly csrf: Csrf;
  /** What a write form typed, kept while the admin confirms it is them. */
  readonly drafts: FormDrafts;
  readonly renderView: RenderView;
  readonly text: Text;
}

export const ADMIN_CONSOLE_PREFIX = '/admin';
// Places to come back to after signing in.
export const ADMIN_RETURN_PATH = /^\/admin(?:\/(?:clients|users|deliveries|audit)(?:\/[A-Za-z0-9_.@%+-]{1,300}(?:\/(?:edit|delete))?)?)?$/;
const RETURN_PATH = ADMIN_RETURN_PATH;
/** The pages that show a write form with typed values: a step-up is asked before them, and a refused post keeps a draft. */
const FORM_PAGE = /^\/admin\/(?:clients\/new|clients\/[^/]+\/edit|users\/new)$/;
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The console page a write's form is on, to come back to after "Confirm it is you" or signing in. */
export function consolePageOf(writePath: string): string {
  const path = writePath.replace(/\/+$/, '');
  if (path === `${ADMIN_CONSOLE_PREFIX}/clients`) return `${ADMIN_CONSOLE_PREFIX}/clients/new`;
  if (path === `${ADMIN_CONSOLE_PREFIX}/users`) return `${ADMIN_CONSOLE_PREFIX}/users/new`;
  const client = /^(\/admin\/clients\/[^/]+)(\/rotate-secret|\/delete)?$/.exec(path);
  if (client) return client[2] === '/delete' ? path : client[2] ? client[1]! : `${client[1]}/edit`;
  const user = /^(\/admin\/users\/[^/]+)\/.+$/.exec(path);
  if (user) return user[1]!;
  if (path.startsWith(`${ADMIN_CONSOLE_PREFIX}/deliveries/`)) return `${ADMIN_CONSOLE_PREFIX}/deliveries`;
  return RETURN_PATH.test(path) ? path : ADMIN_CONSOLE_PREFIX;
}
const AUDIT_PAGE_SIZE = 50;
/** Users and clients a list page shows. */
const LIST_PAGE_SIZE = 50;
const MAX_PAGE = 2000;

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

/** The form as posted (or as kept in a draft): a request body, or the values of one. */
type Posted = Readonly<Record<string, unknown>>;

function text(values: Posted, name: string): string {
  const value = values[name];
  return typeof value === 'string' ? value : '';
}

function clientFormFrom(values: Posted): ClientForm {
  const grants = values['grant-type'];
  return {
    name: text(values, 'name'),
    'redirect-uri': text(values, 'redirect-uri'),
    'post-logout-redirect-uri': text(values, 'post-logout-redirect-uri'),
    'backchannel-logout-uri': text(values, 'backchannel-logout-uri').trim(),
    'backchannel-logout-session-required': text(values, 'backchannel-logout-session-required') === 'yes',
    'min-acr': text(values, 'min-acr'),
    'grant-type': (Array.isArray(grants) ? grants : [grants]).filter((g): g is string => typeof g === 'string'),
    'client-type': text(values, 'client-type') === 'public' ? 'public' : 'confidential',
    'token-endpoint-auth-method': text(values, 'token-endpoint-auth-method'),
    'jwks-uri': text(values, 'jwks-uri').trim(),
    'first-party': text(values, 'first-party') === 'yes',
    admin: text(values, 'admin') === 'yes',
    scope: text(values, 'scope'),
    'id-token-signed-response-alg': text(values, 'id-token-signed-response-alg'),
  };
}

const body = (ctx: Context): Posted => (ctx.request.body ?? {}) as Posted;

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
 * The admin console (/admin): server-rendered pages over the AdminService, the same service the admin API calls, and
 * behind the same authorization middleware (http/admin-auth.ts): a signed-in admin user, re-checked on every request;
 * every write (POST) also passes its write guards there (the session's CSRF token, then a recent second-factor check).
 * Pages with a write form ask for the recent check before they show the form, and a refused post keeps what was typed.
 */
export function createAdminConsoleRouter(deps: AdminConsoleDeps): Router {
  const { admin, authorization, signIn, csrf, drafts, renderView, text: t } = deps;
  const router = new Router({ prefix: ADMIN_CONSOLE_PREFIX });
  const form = readBody('form', 32);

  async function render(ctx: Context, view: string, model: Record<string, unknown>, status = 200) {
    const token = authorization.csrfToken(ctx)!;
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = await renderView(view, {
      section: undefined,
      consoleUser: adminUser(ctx).user.email,
      frameNav: { current: 'admin', admin: true, signOut: { action: `${ADMIN_CONSOLE_PREFIX}/logout`, csrf: token, csrfField: CSRF_FIELD } },
      csrf: token,
      csrfField: CSRF_FIELD,
      ...model,
    });
  }

  function redirect(ctx: Context, location: string) {
    ctx.status = 303;
    ctx.redirect(location);
  }

  // A signed-in user who is not an administrator: a clear 403 page.
  async function forbidden(ctx: Context) {
    ctx.status = 403;
    ctx.type = 'html';
    ctx.body = await renderView('error', { title: t.console.forbiddenTitle, description: t.console.notAnAdmin, error: 'access_denied', status: 403 });
  }

  /** The console's door: sessions only; refusals as pages, sign-ins and "Confirm it is you". */
  const door: AdminDoor = {
    bearer: false,
    submittedCsrf: formToken,
    async refuse(ctx, refusal) {
      const safe = SAFE_METHODS.has(ctx.method);
      switch (refusal) {
        case 'unauthenticated':
          // A page comes back to itself after signing in; a form post to its page, having changed nothing.
          return signIn.start(ctx, safe ? ctx.path : consolePageOf(ctx.path));
        case 'not_an_admin':
          return forbidden(ctx);
        case 'stale': {
          const page = safe ? ctx.path : consolePageOf(ctx.path);
          // What the refused post typed comes back with its form after the confirmation.
          if (!safe && FORM_PAGE.test(page)) drafts.keep(ctx, adminUser(ctx).session.uid, page);
          return redirect(ctx, `${CONFIRM_PATH}?return_to=${encodeURIComponent(page)}`);
        }
        default:
          throw new ForbiddenError(t.errors.formExpired);
      }
    },
  };
  /** Reads, and (with the POST's form body read first) writes: THE chain, with its write guards, in admin-auth.ts. */
  const authorized = authorization.require(door);
  const write: Middleware[] = [form, authorized];
  /** A page with a write form: the step-up first, so nothing typed is lost to it. */
  const formPage: Middleware[] = [authorized, authorization.recentCheck(door)];
  /** The values a refused post kept for this page, if any (taken once). */
  const draftOf = (ctx: Context) => drafts.take(ctx, adminUser(ctx).session.uid, ctx.path);

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.get('/callback', signIn.callback(async (ctx, failure) => {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = await renderView('error', { title: t.console.signInFailedTitle, description: t.console.signInFailed[failure], error: failure, status: 400 });
  }));

  // Signing out (the frame's button): ends this browser's SSO session, as /account/logout does. Not an admin action,
  // so no step-up; the form's CSRF token is still required.
  router.post('/logout', form, async (ctx) => {
    const found = await signIn.authenticate(ctx);
    if (found) {
      if (!csrf.matches(ctx, adminCsrfScope(found.session), formToken(ctx))) throw new ForbiddenError(t.errors.formExpired);
      await deps.signOut.signOut(ctx, found);
    } else {
      deps.signOut.clearCookie(ctx);
    }
    ctx.type = 'html';
    ctx.body = await renderView('logged-out', { signInAgain: ADMIN_CONSOLE_PREFIX });
  });

  router.get('/', authorized, (ctx) => redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/clients`));

  /** `?page=N` of a list (1-based), and the link to another page with the same filters. */
  function paging(ctx: Context, filters: Record<string, string>) {
    const page = Math.min(Math.max(1, Number(/^\d{1,4}$/.test(query(ctx, 'page')) ? query(ctx, 'page') : 1)), MAX_PAGE);
    const link = (n: number) => `${ctx.path}?${new URLSearchParams({ ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)), page: String(n) }).toString()}`;
    return { page, request: { limit: LIST_PAGE_SIZE, offset: (page - 1) * LIST_PAGE_SIZE }, link };
  }

  function pager(list: { page: number; link: (n: number) => string }, result: Page<unknown>) {
    return {
      first: result.offset + 1,
      last: result.offset + result.items.length,
      previous: list.page > 1 ? list.link(list.page - 1) : null,
      next: result.more ? list.link(list.page + 1) : null,
    };
  }

  // Clients

  router.get('/clients', authorized, async (ctx) => {
    const q = query(ctx, 'q');
    const done = query(ctx, 'done');
    const list = paging(ctx, { q });
    const result = await admin.listClients(q, list.request);
    await render(ctx, 'admin-clients', {
      section: 'clients',
      q,
      done: CLIENT_DONE.has(done) ? done : undefined,
      clients: result.items,
      pager: pager(list, result),
      internalPrefix: INTERNAL_CLIENT_PREFIX,
    });
  });

  async function renderClientForm(ctx: Context, options: { client?: RegisteredClient; values: ClientForm; error?: ValidationError; kept?: boolean }) {
    await render(
      ctx,
      'admin-client-form',
      {
        section: 'clients',
        client: options.client,
        values: options.values,
        options: CLIENT_OPTIONS,
        kept: options.kept === true,
        errorField: options.error?.field,
        errorMessage: options.error && errorText(options.error, t),
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

  router.get('/clients/new', ...formPage, async (ctx) => {
    const kept = draftOf(ctx);
    await renderClientForm(ctx, { values: kept ? clientFormFrom(kept) : clientFormOf(undefined), kept: kept !== undefined });
  });

  router.post('/clients', ...write, async (ctx) => {
    const values = clientFormFrom(body(ctx));
    try {
      const { client, secret } = await admin.createClient(clientInputOf(values), adminActor(ctx));
      // The secret is in this response only (never in a URL, never stored in plain text): shown once.
      await renderClient(ctx, client, { secret, done: 'created' });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      await renderClientForm(ctx, { values, error });
    }
  });

  router.get('/clients/:clientId', authorized, async (ctx) => {
    const done = query(ctx, 'done');
    await renderClient(ctx, await admin.getClient(ctx.params.clientId!), { done: CLIENT_DONE.has(done) ? done : undefined });
  });

  router.get('/clients/:clientId/edit', ...formPage, async (ctx) => {
    const client = await admin.getClient(ctx.params.clientId!);
    const kept = draftOf(ctx);
    await renderClientForm(ctx, { client, values: kept ? clientFormFrom(kept) : clientFormOf(client), kept: kept !== undefined });
  });

  router.post('/clients/:clientId', ...write, async (ctx) => {
    const client = await admin.getClient(ctx.params.clientId!);
    const values = clientFormFrom(body(ctx));
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

  router.get('/clients/:clientId/delete', authorized, async (ctx) => {
    await render(ctx, 'admin-client-delete', { section: 'clients', client: await admin.getClient(ctx.params.clientId!) });
  });

  router.post('/clients/:clientId/delete', ...write, async (ctx) => {
    await admin.deleteClient(ctx.params.clientId!, adminActor(ctx));
    redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/clients?done=deleted`);
  });

  // Users

  router.get('/users', authorized, async (ctx) => {
    const q = query(ctx, 'q');
    const list = paging(ctx, { q });
    const result = await admin.searchUsers(q, list.request);
    await render(ctx, 'admin-users', { section: 'users', q, users: result.items, pager: pager(list, result) });
  });

  async function renderNewUser(
    ctx: Context,
    options: { values: { email: string; name: string }; error?: ValidationError | ConflictError; status?: number; kept?: boolean },
  ) {
    // A refusal about no field in particular (an email already taken) is shown at the email.
    const errorField = options.error && (options.error.field ?? 'email');
    await render(
      ctx,
      'admin-user-new',
      { section: 'users', values: options.values, kept: options.kept === true, errorField, errorMessage: options.error && errorText(options.error, t) },
      options.status ?? (options.error ? 400 : 200),
    );
  }

  router.get('/users/new', ...formPage, async (ctx) => {
    const kept = draftOf(ctx);
    await renderNewUser(ctx, { values: { email: kept ? text(kept, 'email') : '', name: kept ? text(kept, 'name') : '' }, kept: kept !== undefined });
  });

  router.post('/users', ...write, async (ctx) => {
    const values = { email: field(ctx, 'email'), name: field(ctx, 'name') };
    try {
      const user = await admin.createUser({ ...values, password: field(ctx, 'password') }, adminActor(ctx));
      redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/users/${encodeURIComponent(user.id)}?done=created`);
    } catch (error) {
      if (!(error instanceof ValidationError) && !(error instanceof ConflictError)) throw error;
      await renderNewUser(ctx, { values, error, status: error instanceof ValidationError ? 400 : 409 });
    }
  });

  router.get('/users/:id', authorized, async (ctx) => {
    const detail = await admin.getUser(ctx.params.id!);
    const done = query(ctx, 'done');
    await render(ctx, 'admin-user', {
      section: 'users',
      ...detail,
      self: detail.user.id === adminUser(ctx).user.id,
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

  router.get('/deliveries', authorized, async (ctx) => {
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
    const names = await admin.clientNames();
    const done = query(ctx, 'done');
    await render(ctx, 'admin-deliveries', {
      section: 'deliveries',
      filters,
      states: DELIVERY_STATES,
      summary: summary.map((s) => ({ ...s, name: names.get(s.clientId) ?? null })),
      deliveries: deliveries.map((d) => ({ ...d, clientName: names.get(d.clientId) ?? null })),
      done: done === 'retried' ? done : undefined,
      errorField: error ? (error.field === 'state' ? 'state' : 'client') : undefined,
      errorMessage: error && errorText(error, t),
    }, error ? 400 : 200);
  });

  router.post('/deliveries/:id/retry', ...write, async (ctx) => {
    await admin.retryLogoutDelivery(checkDeliveryId(ctx.params.id!), adminActor(ctx));
    redirect(ctx, `${ADMIN_CONSOLE_PREFIX}/deliveries?done=retried`);
  });

  // Audit log

  router.get('/audit', authorized, async (ctx) => {
    const filters = { user: query(ctx, 'user'), client: query(ctx, 'client'), type: query(ctx, 'type'), since: query(ctx, 'since'), until: query(ctx, 'until') };
    const list = paging(ctx, filters);
    const { page } = list;
    let error: ValidationError | undefined;
    const instant = (name: 'since' | 'until') => {
      if (!filters[name]) return undefined;
      const at = parseIsoInstant(filters[name]);
      if (!at) error ??= new ValidationError(t.audit.badDate, { field: name });
      return at;
    };
    const since = instant('since');
    const until = instant('until');
    let type: AuditEventType | undefined;
    try {
      type = parseAuditTypeFilter(filters.type);
    } catch (caught) {
      if (!(caught instanceof ValidationError)) throw caught;
      error ??= new ValidationError(t.audit.badType, { field: 'type' });
    }
    let result: Awaited<ReturnType<AdminService['queryAudit']>> = { events: [], more: false };
    if (!error) {
      try {
        result = await admin.queryAudit({
          ...(filters.user ? { user: filters.user } : {}),
          ...(filters.client ? { clientId: filters.client } : {}),
          ...(type ? { types: [type] } : {}),
          ...(since ? { since } : {}),
          ...(until ? { until } : {}),
          limit: AUDIT_PAGE_SIZE,
          offset: (page - 1) * AUDIT_PAGE_SIZE,
        });
      } catch (caught) {
        if (!(caught instanceof NotFoundError) && !(caught instanceof ValidationError)) throw caught;
        error = new ValidationError(caught.message, { field: 'user', reason: caught.reason });
      }
    }
    await render(
      ctx,
      'admin-audit',
      {
        section: 'audit',
        filters,
        types: AUDIT_EVENT_TYPES,
        events: result.events,
        page,
        newer: page > 1 ? list.link(page - 1) : null,
        older: result.more ? list.link(page + 1) : null,
        errorField: error?.field,
        errorMessage: error && errorText(error, t),
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
