import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { User } from '../domain/accounts/user.js';
import { consoleActor } from '../domain/admin/admin-service.js';
import type { Actor } from '../domain/audit/audit.js';
import { ADMIN_SCOPE } from '../domain/clients/client.js';
import type { ClientService } from '../domain/clients/client-service.js';
import { NotFoundError } from '../domain/errors.js';
import type { Logger } from '../infra/logger.js';
import type { FirstPartySignIn, OidcSession } from './first-party-sign-in.js';
import type { Csrf } from './middleware/csrf.js';
import { requireRecentAuthentication, type RecentAuthenticationDeps } from './middleware/recent-authentication.js';
import { requestMeta } from './middleware/request-context.js';

// THE one set of rules for who may administer Gatehouse, and the one place an admin Actor is made. Two credentials:
//  - a client_credentials access token of an admin client carrying the admin scope (machines; the admin API only);
//  - a live SSO session of an active user with the admin flag, signed in through the console (people; the console,
//    and the admin API too).
// Both are re-checked on every request (a client or user that stops being admin is refused at its next request). A
// write (any method but GET, HEAD, OPTIONS) by a signed-in user also needs the CSRF token of the session (a form field
// in the console, the X-CSRF-Token header in the API) and a recent check of the user (a second-factor check for users
// with one, else a password check: recent-authentication.ts). Tokens of admin clients need neither: they are not sent
// by browsers, and a machine has no second factor. The console and the API differ only in how they answer a refusal
// (their "door"); the AdminService they both call audits every write with the Actor made here.

/** Who is administering: an admin client (bearer token) or a signed-in admin user (SSO session). */
export type AdminPrincipal =
  | { readonly kind: 'client'; readonly clientId: string }
  | { readonly kind: 'user'; readonly user: User; readonly session: OidcSession };

/** Why a request was refused. */
export type AdminRefusal =
  /** No credential, or a session that is not live any more. */
  | 'unauthenticated'
  /** A bearer token that is not a live client_credentials token (or not one this API accepts). */
  | 'invalid_token'
  /** A valid token without the admin scope, or of a client that is not an admin client. */
  | 'insufficient_scope'
  /** A signed-in user without the admin flag. */
  | 'not_an_admin'
  /** A signed-in user's write without the session's CSRF token. */
  | 'csrf'
  /** A signed-in user's write without a recent check (step-up). */
  | 'stale';

/** How one door (the console's pages, the API's JSON) takes credentials and answers refusals; the rules are shared. */
export interface AdminDoor {
  /** Whether bearer tokens of admin clients are taken here (the API); the console is for browsers only. */
  readonly bearer: boolean;
  /** The CSRF token a signed-in user's write carries: the form field (console) or the X-CSRF-Token header (API). */
  submittedCsrf(ctx: Context): string;
  /** Answers a refused request; `secondFactor` tells a stale write whether the user has a second factor. */
  refuse(ctx: Context, refusal: AdminRefusal, detail: { readonly secondFactor?: boolean }): Promise<void> | void;
}

export interface AdminAuthorizationDeps {
  readonly provider: Provider;
  readonly clients: Pick<ClientService, 'get'>;
  /** The console's sign-in: reads the SSO session of the browser. */
  readonly signIn: Pick<FirstPartySignIn, 'authenticate'>;
  readonly csrf: Csrf;
  /** The recent-check rule of sensitive actions, shared with the account pages. */
  readonly recent: RecentAuthenticationDeps;
}

export interface AdminAuthorization {
  /** Authorizes the request with the credentials the door takes; a write also passes the write guards (CSRF, step-up). */
  require(door: AdminDoor): Middleware;
  /**
   * The step-up alone, for a signed-in user on a page that shows a write form (GET): asked before the form is shown,
   * so what is typed is not lost to it. Use after `require`.
   */
  recentCheck(door: AdminDoor): Middleware;
  /** The CSRF token of a signed-in admin user's session (forms and the X-CSRF-Token header); undefined for clients. */
  csrfToken(ctx: Context): string | undefined;
}

// RFC 6750's b64token; anything longer than this is not a token Gatehouse issued.
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]{1,512}=*)$/i;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The Actor the admin authorization established for this request. */
export function adminActor(ctx: Context): Actor {
  const actor = ctx.state.adminActor as Actor | undefined;
  if (!actor) throw new Error('adminActor() used on a route without admin authorization');
  return actor;
}

/** Who the admin authorization let in. */
export function adminPrincipal(ctx: Context): AdminPrincipal {
  const principal = ctx.state.adminPrincipal as AdminPrincipal | undefined;
  if (!principal) throw new Error('adminPrincipal() used on a route without admin authorization');
  return principal;
}

/** The signed-in admin user of this request (console routes, which take sessions only). */
export function adminUser(ctx: Context): Extract<AdminPrincipal, { kind: 'user' }> {
  const principal = adminPrincipal(ctx);
  if (principal.kind !== 'user') throw new Error('adminUser() used on a request authorized by a token');
  return principal;
}

/** The scope of an admin session's CSRF token (console forms, the API's X-CSRF-Token header, the frame's sign-out). */
export const adminCsrfScope = (session: Pick<OidcSession, 'uid'>) => `admin:${session.uid}`;
const csrfScope = adminCsrfScope;

export function createAdminAuthorization(deps: AdminAuthorizationDeps): AdminAuthorization {
  async function byToken(value: string | undefined): Promise<AdminPrincipal | AdminRefusal> {
    // ClientCredentials.find looks among client_credentials tokens only: a user's access token is never found here.
    const token = value ? await deps.provider.ClientCredentials.find(value) : undefined;
    // A DPoP- or certificate-bound token needs its proof, which this API does not take: refused rather than downgraded.
    if (!token || token.kind !== 'ClientCredentials' || token.isExpired || token.jkt || token['x5t#S256'] || !token.clientId) return 'invalid_token';
    let client;
    try {
      client = await deps.clients.get(token.clientId);
    } catch (error) {
      if (error instanceof NotFoundError) return 'invalid_token';
      throw error;
    }
    if (!client.admin || !token.scopes.has(ADMIN_SCOPE)) return 'insufficient_scope';
    return { kind: 'client', clientId: client.clientId };
  }

  async function bySession(ctx: Context): Promise<AdminPrincipal | AdminRefusal> {
    const found = await deps.signIn.authenticate(ctx);
    if (!found) return 'unauthenticated';
    if (!found.user.admin) {
      (ctx.state.log as Logger | undefined)?.info({ userId: found.user.id }, 'admin request refused: not an admin');
      return 'not_an_admin';
    }
    return { kind: 'user', user: found.user, session: found.session };
  }

  /** An Authorization header means a token, and only a token: a bad one is not rescued by a cookie. */
  function resolve(ctx: Context, door: AdminDoor): Promise<AdminPrincipal | AdminRefusal> {
    const authorization = ctx.get('authorization');
    if (door.bearer && authorization) return byToken(BEARER.exec(authorization)?.[1]);
    return bySession(ctx);
  }

  const recentChecks = new Map<AdminDoor, Middleware>();
  function recentCheckOf(door: AdminDoor): Middleware {
    let check = recentChecks.get(door);
    if (!check) {
      check = requireRecentAuthentication(deps.recent, {
        signedIn: (ctx) => {
          const { user, session } = adminUser(ctx);
          return { userId: user.id, sessionUid: session.uid };
        },
        onStale: (ctx, secondFactor) => door.refuse(ctx, 'stale', { secondFactor }),
      });
      recentChecks.set(door, check);
    }
    return check;
  }

  return {
    require(door) {
      const recent = recentCheckOf(door);
      return async (ctx, next) => {
        const principal = await resolve(ctx, door);
        if (typeof principal === 'string') return door.refuse(ctx, principal, {});
        ctx.state.adminPrincipal = principal;
        const actor: Actor =
          principal.kind === 'client' ? { type: 'admin', id: principal.clientId, ...requestMeta(ctx) } : consoleActor(principal.user.id, requestMeta(ctx));
        ctx.state.adminActor = actor;
        // Reads leave no audit event; this line says which administrator read or changed what (the route is logged too).
        (ctx.state.log as Logger | undefined)?.info(
          principal.kind === 'client' ? { adminClientId: principal.clientId } : { adminUserId: principal.user.id },
          'admin request',
        );
        if (SAFE_METHODS.has(ctx.method) || principal.kind === 'client') return next();
        // The write guards of a signed-in user: the session's CSRF token, then a recent check.
        if (!deps.csrf.matches(ctx, csrfScope(principal.session), door.submittedCsrf(ctx))) return door.refuse(ctx, 'csrf', {});
        await recent(ctx, next);
      };
    },

    recentCheck(door) {
      const recent = recentCheckOf(door);
      return async (ctx, next) => {
        if (adminPrincipal(ctx).kind === 'client') return next();
        await recent(ctx, next);
      };
    },

    csrfToken(ctx) {
      const principal = adminPrincipal(ctx);
      return principal.kind === 'user' ? deps.csrf.token(ctx, csrfScope(principal.session)) : undefined;
    },
  };
}
