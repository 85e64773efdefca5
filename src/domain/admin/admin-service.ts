import type { AccountService } from '../accounts/account-service.js';
import type { User } from '../accounts/user.js';
import { AUDIT_MAX_LIMIT, type Actor, type AuditEvent, type AuditEventType, type AuditLog, type AuditQuery } from '../audit/audit.js';
import type { ClientInput, ClientService, CreatedClient } from '../clients/client-service.js';
import type { RegisteredClient } from '../clients/client.js';
import type { Clock } from '../clock.js';
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
  readonly clock: Clock;
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

/**
 * Everything an administrator does, whichever door they came through: the admin console (a signed-in admin user) and
 * the admin API (an admin client's token) both call this, with the Actor their one authorization module produced, so
 * the two cannot drift apart. Each write is audited with that actor.
 */
export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  private async recordClient(type: AuditEventType, actor: Actor, clientId: string, details: Record<string, unknown> | null = null): Promise<void> {
    await this.deps.audit.append({ at: this.deps.clock.now(), type, actor, userId: null, sessionId: null, clientId, details });
  }

  // Clients

  /** Clients whose id or name contains the text (case-insensitive), by name; Gatehouse's own clients included. */
  async listClients(text = ''): Promise<RegisteredClient[]> {
    const needle = text.trim().toLowerCase();
    const clients = await this.deps.clients.list();
    return clients
      .filter((c) => !needle || c.clientId.toLowerCase().includes(needle) || c.name.toLowerCase().includes(needle))
      .sort((a, b) => a.name.localeCompare(b.name) || a.clientId.localeCompare(b.clientId));
  }

  getClient(clientId: string): Promise<RegisteredClient> {
    return this.deps.clients.get(clientId);
  }

  /** Validated completely before anything is saved (ClientService): nothing is half-saved. */
  async createClient(input: ClientInput, actor: Actor): Promise<CreatedClient> {
    const created = await this.deps.clients.create(input);
    await this.recordClient('client.created', actor, created.client.clientId, { name: created.client.name });
    return created;
  }

  async updateClient(clientId: string, input: ClientInput, actor: Actor): Promise<CreatedClient> {
    const updated = await this.deps.clients.update(clientId, input);
    await this.recordClient('client.updated', actor, clientId, { secretIssued: updated.secret !== null });
    return updated;
  }

  async rotateClientSecret(clientId: string, actor: Actor): Promise<CreatedClient> {
    const rotated = await this.deps.clients.rotateSecret(clientId);
    await this.recordClient('client.secret_rotated', actor, clientId);
    return rotated;
  }

  async deleteClient(clientId: string, actor: Actor): Promise<void> {
    await this.deps.clients.delete(clientId);
    await this.recordClient('client.deleted', actor, clientId);
  }

  // Users

  searchUsers(text = ''): Promise<User[]> {
    return this.deps.accounts.search(text);
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
    if (disabled && actorUserId(actor) === user.id) throw new ForbiddenError('You cannot disable your own account; ask another administrator.');
    return disabled ? this.deps.accounts.disable(user.email, actor) : this.deps.accounts.enable(user.email, actor);
  }

  /** An administrator cannot take the console away from themself (someone must be left to give it back). */
  async setUserAdmin(idOrEmail: string, admin: boolean, actor: Actor): Promise<User> {
    const user = await this.deps.accounts.getByIdOrEmail(idOrEmail);
    if (!admin && actorUserId(actor) === user.id) throw new ForbiddenError('You cannot revoke your own admin access; ask another administrator.');
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
