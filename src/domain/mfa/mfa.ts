// Ports of the second factor (TOTP authenticator apps and recovery codes). The domain never sees a database, otplib or
// a key: src/infra and src/store implement these. A write that changes what protects an account is saved with its
// audit event in one transaction, so neither is kept without the other.

import type { NewAuditEvent } from '../audit/audit.js';

/** A user's TOTP authenticator, as the domain sees it (the secret in clear; the repository keeps it encrypted). */
export interface TotpFactor {
  readonly userId: string;
  /** Base32 shared secret. */
  readonly secret: string;
  /** Null while the enrolment waits for its first code. */
  readonly activatedAt: Date | null;
  /** The highest time step accepted so far (replays of it or of earlier steps are refused). */
  readonly lastUsedStep: number | null;
  /** Second-factor attempts in a row (counted before they are checked) since the last success or expired lock. */
  readonly failedAttempts: number;
  readonly lockedUntil: Date | null;
  readonly createdAt: Date;
}

export type AttemptReservation =
  /** The attempt may be checked; `locks` when it is the last one allowed (the factor is locked already). */
  | { readonly reserved: true; readonly attempt: number; readonly locks: boolean }
  /** Refused unchecked: locked until `lockedUntil`, or (null) there is no active factor. */
  | { readonly reserved: false; readonly lockedUntil: Date | null };

export interface TotpFactorRepository {
  find(userId: string): Promise<TotpFactor | undefined>;
  /** Whether the user has an activated factor (without opening its secret). */
  isActive(userId: string): Promise<boolean>;
  /** Stores a new inactive factor, replacing an inactive one; false (nothing changed) when an active one exists. */
  savePending(userId: string, secret: string, createdAt: Date): Promise<boolean>;
  /**
   * Activates the inactive factor, recording the step of the code that proved it, together with its first recovery
   * codes (replacing any the user had) and the audit event, in one transaction; false, with nothing changed, when
   * there was no inactive factor.
   */
  activate(userId: string, input: { readonly at: Date; readonly step: number; readonly recoveryCodeHashes: readonly string[] }, audit: NewAuditEvent): Promise<boolean>;
  /**
   * Records an accepted code of `step` and clears failures, only if `step` is above lastUsedStep (atomically, so one
   * code is accepted at most once even by concurrent requests); false when it was not.
   */
  recordSuccess(userId: string, step: number): Promise<boolean>;
  /**
   * Counts one second-factor attempt (TOTP or recovery code) of an active factor BEFORE it is checked, atomically, so
   * concurrent attempts can never be more than `maxAttempts` in a row: refused, with nothing counted, while the factor
   * is locked (or not active). The attempt that brings the count to `maxAttempts` locks the factor until `lockUntil`
   * at once; its success (recordSuccess, clearFailures) lifts the lock again. A lock past its time starts a new count.
   */
  reserveAttempt(userId: string, input: { readonly now: Date; readonly maxAttempts: number; readonly lockUntil: Date }): Promise<AttemptReservation>;
  /** A recovery code proved the user: the attempts in a row start again from zero and any lock is lifted. */
  clearFailures(userId: string): Promise<void>;
  /**
   * Removes the factor (active or not) and every recovery code of the user, with the audit event when one is given,
   * in one transaction; false when there was no factor.
   */
  remove(userId: string, audit?: NewAuditEvent): Promise<boolean>;
}

export interface StoredRecoveryCode {
  readonly id: string;
  readonly codeHash: string;
}

export interface RecoveryCodeRepository {
  /** Replaces every code of the user (used or not) with these hashes, with the audit event, in one transaction. */
  replaceAll(userId: string, codeHashes: readonly string[], at: Date, audit: NewAuditEvent): Promise<void>;
  listUnused(userId: string): Promise<StoredRecoveryCode[]>;
  /**
   * Marks the code used if it still was unused (atomically), with the audit event in the same transaction; false, with
   * nothing written, when it was already used or is gone.
   */
  markUsed(id: string, at: Date, audit: NewAuditEvent): Promise<boolean>;
  countUnused(userId: string): Promise<number>;
}

/** Time-based one-time passwords (RFC 6238). */
export interface TotpAlgorithm {
  /** A new random shared secret, base32. */
  generateSecret(): string;
  /** The otpauth:// URI authenticator apps read from a QR code. */
  keyUri(secret: string, accountName: string, issuer: string): string;
  /** The time step that contains this instant. */
  stepAt(at: Date): number;
  /** The step (atStep - 1, atStep or atStep + 1) whose code this is, or null; compares in constant time. */
  verify(secret: string, code: string, atStep: number): number | null;
}

/** A keyed one-way hash (HMAC) of recovery codes: what is stored and compared, never the codes themselves. */
export interface RecoveryCodeHasher {
  hash(code: string): string;
}
