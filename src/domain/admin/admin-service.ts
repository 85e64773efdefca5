import type { AccountService } from '../accounts/account-service.js';
import type { User } from '../accounts/user.js';
import { AUDIT_MAX_LIMIT, type Actor, type AuditEvent, type AuditLog, type AuditQuery } from '../audit/audit.js';
import type { ClientInput, ClientService, CreatedClient } from '../clients/client-service.js';
import type { RegisteredClient } from '../clients/client.js';
import { ForbiddenError } from '../errors.js';
import type { MfaService } from '../mfa/mfa-service.js';
import type { SessionService } from '../sessions/session-service.js';
import type { SsoSession } from '../sessions/session.js';
import type { LogoutDeliveryService } from '../logout/delivery-service.js';
import type { ClientDeliveryCounts, DeliveryQuery, LogoutNotification } from '../logout/logout-notification.js';

export interface AdminServiceDeps {
  readonly accounts: AccountService;
  readonly clients: ClientService;
  readonly sessions: SessionService;
  readonly mfa: Pick<MfaService, 'reset' | 'status'>;
  readonly audit: AuditLog;
  readonly logoutDeliveries: Pick<LogoutDeliveryService, 'list' | 'retry' | 'countByClient'>;
}

export interface AuditPage {
  readonly events: AuditEvent[];
  /** Whether there are events after this page. */
  readonly more: boolean;
}

export interface UserDetail {
  readonly user: User;
  readonly mfaEnabled: boolean;
  readonly sessions: SsoSession[];
}

/** The most audit events one page shows, and how far pages go (offset + limit). */
export const AUDIT_PAGE_MAX = 200;

/** The most users or clients one page lists. */
export const LIST_PAGE_MAX = 100;
/** How far a list may be paged. */
export const LIST_OFFSET_MAX = 100_000;

export interface PageRequest {
  readonly limit: number;
  readonly offset: number;
}

/** Some of a longer list: the items from `offset`, and whether more follow. */
export interface Page<T> {
  readonly items: T[];
  readonly offset: number;
  readonly more: boolean;
}

function pageBounds(page: PageRequest): PageRequest {
  return { limit: Math.min(Math.max(1, Math.floor(page.limit)), LIST_PAGE_MAX), offset: Math.min(Math.max(0, Math.floor(page.offset)), LIST_OFFSET_MAX) };
}

/**
 * Everything an administrator does, whichever door they came through: the admin console (a signed-in admin user) and
 * the admin API (an admin client's token) both call this, with the Actor their one authorization module produced, so
 * the two cannot drift apart. Each write is audited with that actor.
 */
export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  // Clients

  /**
   * A page of the clients whose id or name contains the text (case-insensitive), by name; Gatehouse's own clients
   * included.
   */
  async listClients(text: string, page: PageRequest): Promise<Page<RegisteredClient>> {
    const needle = text.trim().toLowerCase();
    const matching = (await this.deps.clients.list())
      .filter((c) => !needle || c.clientId.toLowerCase().includes(needle) || c.name.toLowerCase().includes(needle))
      .sort((a, b) => a.name.localeCompare(b.name) || a.clientId.localeCompare(b.clientId));
    const { limit, offset } = pageBounds(page);
    return { items: matching.slice(offset, offset + limit), offset, more: matching.length > offset + limit };
  }

  /** The name of every client, by client id (to name the clients of deliveries). */
  async clientNames(): Promise<Map<string, string>> {
    return new Map((await this.deps.clients.list()).map((c) => [c.clientId, c.name]));
  }

  getClient(clientId: string): Promise<RegisteredClient> {
    return this.deps.clients.get(clientId);
  }

  /** Validated completely before anything is saved (ClientService); the client and its audit event are one transaction. */
  createClient(input: ClientInput, actor: Actor): Promise<CreatedClient> {
    return this.deps.clients.create(input, actor);
  }

  updateClient(clientId: string, input: ClientInput, actor: Actor): Promise<CreatedClient> {
    return this.deps.clients.update(clientId, input, actor);
  }

  rotateClientSecret(clientId: string, actor: Actor): Promise<CreatedClient> {
    return this.deps.clients.rotateSecret(clientId, actor);
  }

  deleteClient(clientId: string, actor: Actor): Promise<void> {
    return this.deps.clients.delete(clientId, actor);
  }

  // Users

  /** A page of the users whose email or name contains the text (case-insensitive), by email. */
  async searchUsers(text: string, page: PageRequest): Promise<Page<User>> {
    const { limit, offset } = pageBounds(page);
    // One more than the page, to know whether another page follows.
    const users = await this.deps.accounts.search(text, limit + 1, offset);
    return { items: users.slice(0, limit), offset, more: users.length > limit };
  }

  async getUser(idOrEmail: string): Promise<UserDetail> {
    const user = await this.deps.accounts.getByIdOrEmail(idOrEmail);
    const [mfa, sessions] = await Promise.all([this.deps.mfa.status(user.id), this.deps.sessions.listLive(user.id)]);
    return { user, mfaEnabled: mfa.enabled, sessions };
  }

  createUser(input: { email: string; password: string; name?: string | null }, actor: Actor): Promise<User> {
    return this.deps.accounts.createUser(input, actor);
  }

  /** An administrator cannot disable themself either (it would end the very session doing it). */
  async setUserDisabled(idOrEmail: string, disabled: boolean, actor: Actor): Promise<User> {
    const user = await this.deps.accounts.getByIdOrEmail(idOrEmail);
    if (disabled && actorUserId(actor) === user.id) throw new ForbiddenError('You cannot disable your own account; ask another administrator.', { reason: { code: 'cannot_disable_self' } });
    return disabled ? this.deps.accounts.disable(user.email, actor) : this.deps.accounts.enable(user.email, actor);
  }

  /** An administrator cannot take the console away from themself (someone must be left to give it back). */
  async setUserAdmin(idOrEmail: string, admin: boolean, actor: Actor): Promise<User> {
    const user = await this.deps.accounts.getByIdOrEmail(idOrEmail);
    if (!admin && actorUserId(actor) === user.id) throw new ForbiddenError('You cannot revoke your own admin access; ask another administrator.', { reason: { code: 'cannot_revoke_own_admin' } });
    return this.deps.accounts.setAdmin(user.email, admin, actor);
  }

  async resetUserMfa(idOrEmail: string, actor: Actor): Promise<{ user: User; sessionsEnded: number }> {
    const user = await this.deps.accounts.getByIdOrEmail(idOrEmail);
    const { sessionsEnded } = await this.deps.mfa.reset(user.id, actor);
    return { user, sessionsEnded };
  }

  // Sessions

  async listUserSessions(idOrEmail: string): Promise<{ user: User; sessions: SsoSession[] }> {
    const user = await this.deps.accounts.getByIdOrEmail(idOrEmail);
    return { user, sessions: await this.deps.sessions.listLive(user.id) };
  }

  /** False when the session had already ended; NotFoundError for an unknown session or another user's. */
  async endUserSession(idOrEmail: string, sessionId: string, actor: Actor): Promise<{ user: User; ended: boolean }> {
    const user = await this.deps.accounts.getByIdOrEmail(idOrEmail);
    return { user, ended: await this.deps.sessions.revokeByAdmin(sessionId, actor, user.id) };
  }

  async endAllUserSessions(idOrEmail: string, actor: Actor): Promise<{ user: User; ended: number }> {
    const user = await this.deps.accounts.getByIdOrEmail(idOrEmail);
    return { user, ended: await this.deps.sessions.endAllForUser(user.id, 'revoked_by_admin', actor) };
  }

  // Audit

  /** Newest first; `user` is an id or an email address. One more event than the page is read to know if more follow. */
  async queryAudit(filter: Omit<AuditQuery, 'userId' | 'limit' | 'offset'> & { user?: string; limit: number; offset: number }): Promise<AuditPage> {
    const { user, limit, offset, ...rest } = filter;
    const userId = user ? (await this.deps.accounts.getByIdOrEmail(user)).id : undefined;
    const size = Math.min(Math.max(1, limit), AUDIT_PAGE_MAX);
    const start = Math.min(Math.max(0, offset), AUDIT_MAX_LIMIT * 100);
    const events = await this.deps.audit.list({ ...rest, ...(userId ? { userId } : {}), limit: size + 1, offset: start });
    return { events: events.slice(0, size), more: events.length > size };
  }
  // Back-channel logout deliveries

  listLogoutDeliveries(query: Partial<DeliveryQuery>): Promise<LogoutNotification[]> {
    return this.deps.logoutDeliveries.list(query);
  }

  /** Pending, delivered and failed deliveries per client. */
  logoutDeliverySummary(): Promise<ClientDeliveryCounts[]> {
    return this.deps.logoutDeliveries.countByClient();
  }

  /** Audited by the delivery service (logout.delivery_retried). */
  retryLogoutDelivery(id: string, actor: Actor): Promise<LogoutNotification> {
    return this.deps.logoutDeliveries.retry(id, actor);
  }

}

/** The console's actors carry the signed-in administrator's user id as `user:<id>`; API clients carry their client id. */
export const CONSOLE_ACTOR_PREFIX = 'user:';

export function consoleActor(userId: string, meta: { ip: string | null; userAgent: string | null }): Actor {
  return { type: 'admin', id: `${CONSOLE_ACTOR_PREFIX}${userId}`, ...meta };
}

function actorUserId(actor: Actor): string | undefined {
  return actor.id?.startsWith(CONSOLE_ACTOR_PREFIX) ? actor.id.slice(CONSOLE_ACTOR_PREFIX.length) : undefined;
}
