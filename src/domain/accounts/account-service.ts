import { randomUUID } from 'node:crypto';
import type { Actor, AuditEventType, NewAuditEvent } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import type { SessionEndReason } from '../sessions/session.js';
import { InvalidCredentialsError, NotFoundError, ValidationError } from '../errors.js';
import { PASSWORD_MAX_LENGTH, type PasswordPolicy } from './password-policy.js';
import type { PasswordHasher, User, UserRepository } from './user.js';

export { PASSWORD_MAX_LENGTH } from './password-policy.js';

const NAME_MAX_LENGTH = 200;
const EMAIL_MAX_LENGTH = 254;
/** The most users one search returns. */
export const USER_SEARCH_MAX = 200;
// Deliberately simple: one @, something on each side, a dot in the domain, no spaces.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length === 0 || email.length > EMAIL_MAX_LENGTH || !EMAIL_PATTERN.test(email)) {
    throw new ValidationError('Enter a valid email address.', { field: 'email', reason: { code: 'email_invalid' } });
  }
  return email;
}

function normalizeName(raw: string | undefined | null): string | null {
  if (raw === undefined || raw === null) return null;
  const name = raw.trim();
  if (name.length === 0) return null;
  if (name.length > NAME_MAX_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new ValidationError(`The name must be at most ${NAME_MAX_LENGTH} printable characters.`, { field: 'name', reason: { code: 'name_too_long', max: NAME_MAX_LENGTH } });
  }
  return name;
}

/** Ends a user's sessions (SessionService); a credential change or a disabled account must not leave any alive. */
export interface SessionTerminator {
  endAllForUser(userId: string, reason: SessionEndReason, actor: Actor, exceptId?: string): Promise<number>;
}

/** The rule of sensitive actions (SessionService): a recent enough check in the session the request comes from. */
export interface RecentAuthenticationCheck {
  /** Throws ReauthenticationRequiredError unless the session proved its user recently (a second-factor check when the user has one, else the password). */
  assertRecentAuthentication(sessionId: string, userId: string, userHasSecondFactor: boolean): Promise<void>;
}

/** Whether a user has an active second factor (MfaService). */
export interface SecondFactorStatus {
  hasSecondFactor(userId: string): Promise<boolean>;
}

export interface AccountServiceDeps {
  readonly users: UserRepository;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly sessions: SessionTerminator & RecentAuthenticationCheck;
  readonly secondFactor: SecondFactorStatus;
  /** The rule of every new password (length, not a common one); passwords set before are not re-checked. */
  readonly passwordPolicy: PasswordPolicy;
}

/** The operator at the command line. */
export const CLI_ADMIN: Actor = { type: 'admin', id: 'cli' };

/**
 * What proves a password change is the user's own. A user without a second factor types the current password; a user
 * with one is not asked for it again: the service requires instead a recent second-factor check in the session.
 */
export interface PasswordChangeProof {
  readonly currentPassword?: string;
}

export class AccountService {
  // Verifying against this hash when the user does not exist makes unknown users cost what known ones cost.
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly deps: AccountServiceDeps) {}

  /** Creates a user; with an actor (an administrator), the creation is audited (in the same transaction). */
  async createUser(input: { email: string; password: string; name?: string | null }, actor?: Actor): Promise<User> {
    const email = normalizeEmail(input.email);
    const name = normalizeName(input.name);
    const passwordHash = await this.deps.hasher.hash(this.deps.passwordPolicy.check(input.password));
    const id = randomUUID();
    return this.deps.users.create({ id, email, name, passwordHash }, actor ? this.event('user.created', actor, id) : undefined);
  }

  /** The user for these credentials, or InvalidCredentialsError with one message whatever went wrong. */
  async authenticate(login: string, password: string): Promise<User> {
    let email: string | undefined;
    try {
      email = normalizeEmail(login);
    } catch {
      email = undefined;
    }
    const tooLong = password.length > PASSWORD_MAX_LENGTH;
    const user = email ? await this.deps.users.findByEmail(email) : undefined;
    const hash = user?.passwordHash ?? (await this.dummy());
    const matches = await this.deps.hasher.verify(hash, tooLong ? '' : password);
    if (!user || !matches || tooLong) throw new InvalidCredentialsError({ debug: { reason: user ? 'password' : 'unknown-user' } });
    if (user.disabledAt) throw new InvalidCredentialsError({ debug: { reason: 'disabled', userId: user.id } });
    const { passwordHash: _omitted, ...publicUser } = user;
    return publicUser;
  }

  async findActiveById(id: string): Promise<User | undefined> {
    const user = await this.deps.users.findById(id);
    return user && !user.disabledAt ? user : undefined;
  }

  async getByEmail(rawEmail: string): Promise<User> {
    const user = await this.deps.users.findByEmail(normalizeEmail(rawEmail));
    const email = rawEmail.trim().toLowerCase();
    if (!user) throw new NotFoundError(`No user with email ${email}.`, { reason: { code: 'user_not_found', email } });
    const { passwordHash: _omitted, ...publicUser } = user;
    return publicUser;
  }

  list(): Promise<User[]> {
    return this.deps.users.list();
  }

  /** A user, disabled or not, named by id or (with an @) by email: how administrators name users. */
  async getByIdOrEmail(idOrEmail: string): Promise<User> {
    if (idOrEmail.includes('@')) return this.getByEmail(idOrEmail);
    const user = await this.deps.users.findById(idOrEmail);
    if (!user) throw new NotFoundError(`No user with id ${idOrEmail}.`, { reason: { code: 'user_not_found', id: idOrEmail } });
    return user;
  }

  /** The audit event of a change to this user, which the repository saves in the change's transaction. */
  private event(type: AuditEventType, actor: Actor, userId: string, details: Record<string, unknown> | null = null): NewAuditEvent {
    return { at: this.deps.clock.now(), type, actor, userId, sessionId: null, clientId: null, details };
  }

  /**
   * An administrator sets a password: every session of the user ends, with its refresh tokens (each ending audited as
   * its own session event, after the password change and its event are saved).
   */
  async setPassword(rawEmail: string, password: string, actor: Actor = CLI_ADMIN): Promise<User> {
    const user = await this.getByEmail(rawEmail);
    const hash = await this.deps.hasher.hash(this.deps.passwordPolicy.check(password));
    const updated = await this.deps.users.updatePasswordHash(user.id, hash, this.event('user.password_changed', actor, user.id, { by: 'admin' }));
    await this.deps.sessions.endAllForUser(user.id, 'password_changed', actor);
    return updated;
  }

  /**
   * A user changes their own password in session `currentSessionId`, proving it is them: with a second factor, a
   * recent second-factor check in that session (ReauthenticationRequiredError otherwise), else the current password.
   * Every other session ends with its refresh tokens; the current session survives (the caller rotates its cookie).
   */
  async changeOwnPassword(userId: string, proof: PasswordChangeProof, newPassword: string, currentSessionId: string, actor: Actor): Promise<User> {
    const known = await this.deps.users.findById(userId);
    const user = known ? await this.deps.users.findByEmail(known.email) : undefined;
    let currentPassword: string | undefined = (proof.currentPassword ?? '').slice(0, PASSWORD_MAX_LENGTH);
    if (user && (await this.deps.secondFactor.hasSecondFactor(user.id))) {
      await this.deps.sessions.assertRecentAuthentication(currentSessionId, user.id, true);
      currentPassword = undefined;
    }
    const matches = currentPassword === undefined || (await this.deps.hasher.verify(user?.passwordHash ?? (await this.dummy()), currentPassword));
    if (!user || !matches || user.disabledAt) throw new ValidationError('The current password is not right.', { field: 'current_password', reason: { code: 'current_password_wrong' } });
    const unchanged = currentPassword !== undefined
      ? newPassword === currentPassword
      : await this.deps.hasher.verify(user.passwordHash, newPassword.slice(0, PASSWORD_MAX_LENGTH));
    if (unchanged) {
      throw new ValidationError('The new password must differ from the current one.', { field: 'new_password', reason: { code: 'password_unchanged' } });
    }
    const hash = await this.deps.hasher.hash(this.deps.passwordPolicy.check(newPassword, 'new_password'));
    const updated = await this.deps.users.updatePasswordHash(user.id, hash, this.event('user.password_changed', actor, user.id, { by: 'user' }));
    await this.deps.sessions.endAllForUser(user.id, 'password_changed', actor, currentSessionId);
    return updated;
  }

  /**
   * "Log out everywhere": ends every session of the user, or every one but the current (`keepCurrent`), with their
   * tokens. A sensitive action: the current session must have proven its user recently (ReauthenticationRequiredError).
   */
  async endOwnSessions(userId: string, currentSessionId: string, options: { readonly keepCurrent: boolean }, actor: Actor): Promise<number> {
    await this.deps.sessions.assertRecentAuthentication(currentSessionId, userId, await this.deps.secondFactor.hasSecondFactor(userId));
    return this.deps.sessions.endAllForUser(userId, 'revoked_by_user', actor, options.keepCurrent ? currentSessionId : undefined);
  }

  /** Whether this is the active user's current password (a re-check before a sensitive change). */
  async verifyOwnPassword(userId: string, password: string): Promise<boolean> {
    const known = await this.deps.users.findById(userId);
    const user = known ? await this.deps.users.findByEmail(known.email) : undefined;
    const matches = await this.deps.hasher.verify(user?.passwordHash ?? (await this.dummy()), password.slice(0, PASSWORD_MAX_LENGTH));
    return Boolean(user && matches && !user.disabledAt);
  }

  /**
   * Disabling a user ends every session they have and stops their tokens. The flag and its audit event are saved
   * first (a disabled user's sessions are refused at once), then each session ends with its own audit event.
   */
  async disable(rawEmail: string, actor: Actor = CLI_ADMIN): Promise<User> {
    const user = await this.getByEmail(rawEmail);
    if (user.disabledAt) return user;
    const disabled = await this.deps.users.setDisabledAt(user.id, this.deps.clock.now(), this.event('user.disabled', actor, user.id));
    await this.deps.sessions.endAllForUser(user.id, 'user_disabled', actor);
    return disabled;
  }

  /** Grants or revokes the admin console; the console re-reads this on every request, so a revoke takes effect at once. */
  async setAdmin(rawEmail: string, admin: boolean, actor: Actor = CLI_ADMIN): Promise<User> {
    const user = await this.getByEmail(rawEmail);
    if (user.admin === admin) return user;
    return this.deps.users.setAdmin(user.id, admin, this.event(admin ? 'user.admin_granted' : 'user.admin_revoked', actor, user.id));
  }

  /** The user's own display name (profile); empty clears it. Audited when it changes. */
  async setOwnName(userId: string, rawName: string, actor: Actor): Promise<User> {
    const user = await this.deps.users.findById(userId);
    if (!user || user.disabledAt) throw new NotFoundError('No such user.', { reason: { code: 'user_not_found' } });
    const name = normalizeName(rawName);
    if (name === user.name) return user;
    return this.deps.users.setName(user.id, name, this.event('user.profile_updated', actor, user.id, { fields: ['name'] }));
  }

  /**
   * Users whose email or name contains the text, ignoring case, by email (every user for an empty text): at most
   * `limit` (up to USER_SEARCH_MAX), after skipping `offset`.
   */
  search(text: string, limit = USER_SEARCH_MAX, offset = 0): Promise<User[]> {
    return this.deps.users.search(text.slice(0, EMAIL_MAX_LENGTH), Math.min(Math.max(1, limit), USER_SEARCH_MAX), Math.max(0, offset));
  }

  async enable(rawEmail: string, actor: Actor = CLI_ADMIN): Promise<User> {
    const user = await this.getByEmail(rawEmail);
    if (!user.disabledAt) return user;
    return this.deps.users.setDisabledAt(user.id, null, this.event('user.enabled', actor, user.id));
  }

  /** Computes the stand-in hash ahead of time, so the first unknown-user login costs what later ones cost. */
  async warmUp(): Promise<void> {
    await this.dummy();
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.deps.hasher.hash('gatehouse-timing-equaliser');
    return this.dummyHash;
  }
}
