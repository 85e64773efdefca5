import type { NewAuditEvent } from '../audit/audit.js';

export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly disabledAt: Date | null;
  /** May use the admin console. */
  readonly admin: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface UserWithCredentials extends User {
  readonly passwordHash: string;
}

export interface NewUser {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly passwordHash: string;
}

/**
 * Every write takes the audit event that records it, if any: the row and its event are saved in one transaction, so
 * neither is ever kept without the other.
 */
export interface UserRepository {
  /** Throws ConflictError when the email is taken. */
  create(user: NewUser, audit?: NewAuditEvent): Promise<User>;
  findById(id: string): Promise<User | undefined>;
  findByEmail(email: string): Promise<UserWithCredentials | undefined>;
  list(): Promise<User[]>;
  /** Throws NotFoundError when there is no such user. */
  updatePasswordHash(id: string, passwordHash: string, audit?: NewAuditEvent): Promise<User>;
  /** Throws NotFoundError when there is no such user. */
  setDisabledAt(id: string, disabledAt: Date | null, audit?: NewAuditEvent): Promise<User>;
  /** Throws NotFoundError when there is no such user. */
  setAdmin(id: string, admin: boolean, audit?: NewAuditEvent): Promise<User>;
  /** Throws NotFoundError when there is no such user. */
  setName(id: string, name: string | null, audit?: NewAuditEvent): Promise<User>;
  /**
   * Users whose email or name contains `text`, ignoring case on every database, by email: at most `limit`, after
   * skipping `offset`.
   */
  search(text: string, limit: number, offset?: number): Promise<User[]>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Resolves false for a wrong password or a malformed hash; never throws for either. */
  verify(hash: string, password: string): Promise<boolean>;
}
