import type { RecentAuthenticationCheck, SecondFactorStatus, SessionTerminator } from '../../src/domain/accounts/account-service.js';
import type { Actor, AuditEvent, AuditLog, AuditQuery, NewAuditEvent } from '../../src/domain/audit/audit.js';
import type { SessionEndReason } from '../../src/domain/sessions/session.js';
// Small in-memory implementations of the domain ports, for unit tests. They keep the documented contracts of the
// ports (ConflictError on a taken email, NotFoundError on a missing row) so services are tested against the same rules
// the Prisma repositories follow (test/integration/store checks those).

import type { NewUser, PasswordHasher, User, UserRepository, UserWithCredentials } from '../../src/domain/accounts/user.js';
import type {
  ClientMetadataValidator,
  ClientRepository,
  ClientSettings,
  ClientWithSecret,
  RegisteredClient,
} from '../../src/domain/clients/client.js';
import type { Clock } from '../../src/domain/clock.js';
import { ConflictError, NotFoundError, ReauthenticationRequiredError, ValidationError } from '../../src/domain/errors.js';
import type { PrivateSigningKey, SigningKeyRecord, SigningKeyStore } from '../../src/domain/keys/signing-keys.js';

function publicUser({ passwordHash: _omitted, ...user }: UserWithCredentials): User {
  return user;
}

export class InMemoryUserRepository implements UserRepository {
  readonly rows = new Map<string, UserWithCredentials>();
  /** The audit events saved with the writes, in order. */
  readonly audits: NewAuditEvent[] = [];

  constructor(private readonly clock: Clock) {}

  async create(user: NewUser, audit?: NewAuditEvent): Promise<User> {
    if ([...this.rows.values()].some((u) => u.email === user.email)) throw new ConflictError(`A user with email ${user.email} already exists.`);
    const now = this.clock.now();
    const row: UserWithCredentials = { ...user, disabledAt: null, admin: false, createdAt: now, updatedAt: now };
    this.rows.set(user.id, row);
    if (audit) this.audits.push(audit);
    return publicUser(row);
  }

  async findById(id: string): Promise<User | undefined> {
    const row = this.rows.get(id);
    return row && publicUser(row);
  }

  async findByEmail(email: string): Promise<UserWithCredentials | undefined> {
    return [...this.rows.values()].find((u) => u.email === email);
  }

  async list(): Promise<User[]> {
    return [...this.rows.values()].sort((a, b) => a.email.localeCompare(b.email)).map(publicUser);
  }

  async updatePasswordHash(id: string, passwordHash: string, audit?: NewAuditEvent): Promise<User> {
    return this.change(id, { passwordHash }, audit);
  }

  async setDisabledAt(id: string, disabledAt: Date | null, audit?: NewAuditEvent): Promise<User> {
    return this.change(id, { disabledAt }, audit);
  }

  async setAdmin(id: string, admin: boolean, audit?: NewAuditEvent): Promise<User> {
    return this.change(id, { admin }, audit);
  }

  async setName(id: string, name: string | null, audit?: NewAuditEvent): Promise<User> {
    return this.change(id, { name }, audit);
  }

  async search(text: string, limit: number, offset = 0): Promise<User[]> {
    const users = await this.list();
    const needle = text.toLowerCase();
    return users.filter((u) => u.email.includes(needle) || (u.name ?? '').toLowerCase().includes(needle)).slice(offset, offset + limit);
  }

  private change(id: string, patch: Partial<UserWithCredentials>, audit: NewAuditEvent | undefined): User {
    const row = this.rows.get(id);
    if (!row) throw new NotFoundError('No such user.');
    const updated = { ...row, ...patch, updatedAt: this.clock.now() };
    this.rows.set(id, updated);
    if (audit) this.audits.push(audit);
    return publicUser(updated);
  }
}

/**
 * A transparent, instant hasher that counts its calls: `hash(p)` is `fake:<p>`. Anything else is a malformed hash,
 * for which verify resolves false, as the port requires.
 */
export class CountingHasher implements PasswordHasher {
  hashCalls = 0;
  readonly verifyCalls: { hash: string; password: string }[] = [];

  async hash(password: string): Promise<string> {
    this.hashCalls += 1;
    return `fake:${password}`;
  }

  async verify(hash: string, password: string): Promise<boolean> {
    this.verifyCalls.push({ hash, password });
    return hash === `fake:${password}`;
  }
}

export class InMemoryClientRepository implements ClientRepository {
  readonly rows = new Map<string, ClientWithSecret>();
  /** The audit events saved with the writes, in order. */
  readonly audits: NewAuditEvent[] = [];

  constructor(private readonly clock: Clock) {}

  async create(input: { clientId: string; secret: string | null; settings: ClientSettings }, audit?: NewAuditEvent): Promise<RegisteredClient> {
    if (this.rows.has(input.clientId)) throw new ConflictError(`A client with id ${input.clientId} already exists.`);
    const now = this.clock.now();
    const row: ClientWithSecret = { ...input.settings, clientId: input.clientId, secret: input.secret, createdAt: now, updatedAt: now };
    this.rows.set(input.clientId, row);
    if (audit) this.audits.push(audit);
    return withoutSecret(row);
  }

  async findById(clientId: string): Promise<ClientWithSecret | undefined> {
    return this.rows.get(clientId);
  }

  async list(): Promise<RegisteredClient[]> {
    return [...this.rows.values()].map(withoutSecret);
  }

  async update(clientId: string, settings: ClientSettings, secret?: { secret: string | null }, audit?: NewAuditEvent): Promise<RegisteredClient> {
    const row = this.rows.get(clientId);
    if (!row) throw new NotFoundError(`No client with id ${clientId}.`);
    const updated: ClientWithSecret = { ...row, ...settings, secret: secret ? secret.secret : row.secret, updatedAt: this.clock.now() };
    this.rows.set(clientId, updated);
    if (audit) this.audits.push(audit);
    return withoutSecret(updated);
  }

  async delete(clientId: string, audit?: NewAuditEvent): Promise<void> {
    if (!this.rows.delete(clientId)) throw new NotFoundError(`No client with id ${clientId}.`);
    if (audit) this.audits.push(audit);
  }
}

function withoutSecret({ secret: _omitted, ...client }: ClientWithSecret): RegisteredClient {
  return client;
}

/** Records what it was asked to validate; refuses whatever `refuse` says to (nothing by default). */
export class RecordingValidator implements ClientMetadataValidator {
  readonly calls: { clientId: string; settings: ClientSettings; secret: string | null }[] = [];
  refuse: ((settings: ClientSettings) => string | undefined) | undefined;

  async validate(clientId: string, settings: ClientSettings, secret: string | null): Promise<void> {
    this.calls.push({ clientId, settings, secret });
    const problem = this.refuse?.(settings);
    if (problem) throw new ValidationError(problem);
  }
}

export class InMemorySigningKeyStore implements SigningKeyStore {
  readonly keys: PrivateSigningKey[] = [];
  replaceCalls = 0;

  async listWithPrivate(): Promise<PrivateSigningKey[]> {
    return [...this.keys].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  async list(): Promise<SigningKeyRecord[]> {
    return (await this.listWithPrivate()).map(({ privateJwk: _omitted, ...record }) => record);
  }

  async replace(newKeys: PrivateSigningKey[], retire: string[], at: Date): Promise<void> {
    this.replaceCalls += 1;
    for (const [index, key] of this.keys.entries()) {
      if (retire.includes(key.kid) && !key.retiredAt) this.keys[index] = { ...key, retiredAt: at };
    }
    this.keys.push(...newKeys);
  }
}

/**
 * Records which users had their sessions ended, and why; and answers the sensitive-action rule for the sessions a test
 * marks as recently checked (`recent`), recording what was asked.
 */
export class RecordingSessionTerminator implements SessionTerminator, RecentAuthenticationCheck {
  readonly calls: { userId: string; reason: SessionEndReason; actor: Actor; exceptId: string | undefined }[] = [];
  /** `${sessionId}:${userId}` pairs (with `:second-factor` when that check was made) the rule lets through. */
  readonly recent = new Set<string>();
  readonly checks: { sessionId: string; userId: string; userHasSecondFactor: boolean }[] = [];

  async assertRecentAuthentication(sessionId: string, userId: string, userHasSecondFactor: boolean): Promise<void> {
    this.checks.push({ sessionId, userId, userHasSecondFactor });
    if (!this.recent.has(`${sessionId}:${userId}${userHasSecondFactor ? ':second-factor' : ''}`)) throw new ReauthenticationRequiredError(userHasSecondFactor);
  }

  async endAllForUser(userId: string, reason: SessionEndReason, actor: Actor, exceptId?: string): Promise<number> {
    this.calls.push({ userId, reason, actor, exceptId });
    return 0;
  }
}

export class InMemoryAuditLog implements AuditLog {
  readonly events: AuditEvent[] = [];

  async append(event: NewAuditEvent): Promise<void> {
    this.events.push({ ...event, id: String(this.events.length + 1), ip: event.ip ?? null, userAgent: event.userAgent ?? null });
  }

  async list(query: AuditQuery): Promise<AuditEvent[]> {
    return this.events
      .filter((e) => (!query.userId || e.userId === query.userId) && (!query.since || e.at >= query.since))
      .reverse()
      .slice(0, query.limit ?? 100);
  }
}

/** Which users have an active second factor, as a test sets it. */
export class FixedSecondFactorStatus implements SecondFactorStatus {
  readonly enabled = new Set<string>();

  async hasSecondFactor(userId: string): Promise<boolean> {
    return this.enabled.has(userId);
  }
}
