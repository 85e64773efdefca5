import { randomInt, timingSafeEqual } from 'node:crypto';
import type { RecentAuthenticationCheck, SessionTerminator } from '../accounts/account-service.js';
import type { Actor, AuditEventType, AuditLog, NewAuditEvent } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { RecoveryCodeHasher, RecoveryCodeRepository, TotpAlgorithm, TotpFactorRepository } from './mfa.js';

export const RECOVERY_CODE_COUNT = 10;
/** Second-factor attempts (TOTP or recovery codes, wherever they are typed) in a row without success that lock the factor. */
export const MAX_FAILED_ATTEMPTS = 5;
export const LOCK_DURATION_MS = 15 * 60 * 1000;

// Recovery codes: 10 characters from 31 unambiguous ones (10 × log2 31 ≈ 49.5 bits), shown as xxxxx-xxxxx.
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const RECOVERY_LENGTH = 10;

export interface Enrolment {
  /** Base32 secret, for typing into an app by hand. */
  readonly secret: string;
  /** otpauth:// URI, for the QR code. */
  readonly otpauthUri: string;
}

export type TotpVerification =
  | { readonly result: 'ok' }
  | { readonly result: 'invalid' }
  | { readonly result: 'locked'; readonly retryAt: Date }
  | { readonly result: 'replayed' };

/** A recovery code is single-use: a used one is simply not valid (there is no replay to tell apart). */
export type RecoveryCodeVerification = Exclude<TotpVerification, { readonly result: 'replayed' }>;

/** One second-factor attempt: a recovery code when one is given, else a code from the authenticator app. */
export interface SecondFactorAttempt {
  readonly code?: string;
  readonly recoveryCode?: string;
}

export type SecondFactorVerification =
  /** Proven; `methods` are the amr values it adds (otp, and recovery for a recovery code). */
  | { readonly result: 'ok'; readonly methods: readonly string[] }
  | Exclude<TotpVerification, { readonly result: 'ok' }>;

export interface MfaStatus {
  readonly enabled: boolean;
  readonly recoveryCodesLeft: number;
}

export interface MfaServiceDeps {
  readonly factors: TotpFactorRepository;
  readonly recoveryCodes: RecoveryCodeRepository;
  readonly totp: TotpAlgorithm;
  readonly hasher: RecoveryCodeHasher;
  readonly clock: Clock;
  readonly audit: AuditLog;
  /**
   * Ends the user's sessions when an administrator resets their second factor; tells whether a session checked the
   * second factor recently enough for the user to renew the recovery codes or turn the factor off.
   */
  readonly sessions: SessionTerminator & RecentAuthenticationCheck;
  /** The issuer name authenticator apps show next to the account. */
  readonly issuerName: string;
}

interface ReservedAttempt {
  readonly reserved: true;
  /** When the attempt was counted: the time its code is checked against. */
  readonly at: Date;
  /** Until when the factor is locked if this attempt is the last one allowed and fails. */
  readonly lockUntil: Date;
  readonly attempt: number;
  readonly locks: boolean;
}

/** The user acting on their own account, when the caller names no other actor. */
const self = (userId: string): Actor => ({ type: 'user', id: userId });

/** Digits only, without the spaces apps show in the middle; anything else is not a code. */
function normalizeTotpCode(raw: string): string | undefined {
  const code = raw.replace(/[\s-]/g, '');
  return /^\d{6}$/.test(code) ? code : undefined;
}

/** Case, spaces and dashes do not matter; anything outside the alphabet cannot be a code. */
export function normalizeRecoveryCode(raw: string): string | undefined {
  const code = raw.toLowerCase().replace(/[\s-]/g, '');
  return code.length === RECOVERY_LENGTH && [...code].every((c) => RECOVERY_ALPHABET.includes(c)) ? code : undefined;
}

function newRecoveryCode(): string {
  let code = '';
  for (let i = 0; i < RECOVERY_LENGTH; i += 1) code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * A second factor: an authenticator app (TOTP, RFC 6238) proven once at enrolment, and single-use recovery codes for
 * when the app is lost. A TOTP code is accepted at most once. Five attempts in a row that do not prove the user (wrong
 * or replayed TOTP codes and wrong recovery codes alike, at sign-in, step-up or "Confirm it is you") lock the factor
 * for 15 minutes; each attempt is counted before it is checked, so concurrent guesses get no more than five.
 */
export class MfaService {
  constructor(private readonly deps: MfaServiceDeps) {}

  /** A new secret to enrol (replacing any enrolment not yet proven). Refused while an active factor exists. */
  async startEnrolment(userId: string, accountName: string): Promise<Enrolment> {
    const secret = this.deps.totp.generateSecret();
    if (!(await this.deps.factors.savePending(userId, secret, this.deps.clock.now()))) {
      throw new ConflictError('Two-step verification is already set up; disable it before setting up another app.', { reason: { code: 'mfa_already_enabled', anotherApp: true } });
    }
    return this.enrolment(secret, accountName);
  }

  /** The enrolment waiting for its first code, if there is one. */
  async pendingEnrolment(userId: string, accountName: string): Promise<Enrolment | undefined> {
    const factor = await this.deps.factors.find(userId);
    return factor && !factor.activatedAt ? this.enrolment(factor.secret, accountName) : undefined;
  }

  /**
   * Proves the pending enrolment with a code from the app and activates it. Returns the recovery codes, which exist
   * in clear only in this return value. A wrong code changes nothing (ValidationError on field `code`).
   */
  async activate(userId: string, code: string, actor: Actor = self(userId)): Promise<string[]> {
    const factor = await this.deps.factors.find(userId);
    if (!factor) throw new NotFoundError('There is no authenticator app being set up.', { reason: { code: 'mfa_setup_missing' } });
    if (factor.activatedAt) throw new ConflictError('Two-step verification is already set up.', { reason: { code: 'mfa_already_enabled' } });
    const now = this.deps.clock.now();
    const normalized = normalizeTotpCode(code);
    const step = normalized === undefined ? null : this.deps.totp.verify(factor.secret, normalized, this.deps.totp.stepAt(now));
    if (step === null) throw new ValidationError('That code is not right. Enter the 6-digit code the app shows now.', { field: 'code', reason: { code: 'mfa_code_wrong' } });
    // The factor, its recovery codes and the event in one write: an active factor is never without its codes.
    const codes = newRecoveryCodes();
    const activated = await this.deps.factors.activate(
      userId,
      { at: now, step, recoveryCodeHashes: this.hashAll(codes) },
      this.event('mfa.enrolled', actor, userId, { recoveryCodes: codes.length }),
    );
    if (!activated) throw new ConflictError('The set-up changed meanwhile; start again.', { reason: { code: 'mfa_setup_changed' } });
    return codes;
  }

  /**
   * Checks a code from the user's active authenticator app. Like every second-factor attempt, it is counted before it
   * is checked (see `reserve`), so it is refused unchecked while the factor is locked.
   */
  async verifyTotp(userId: string, code: string, actor: Actor = self(userId)): Promise<TotpVerification> {
    const factor = await this.deps.factors.find(userId);
    if (!factor?.activatedAt) return { result: 'invalid' };
    const attempt = await this.reserve(userId);
    if (!attempt.reserved) return attempt.refusal;
    const normalized = normalizeTotpCode(code);
    const step = normalized === undefined ? null : this.deps.totp.verify(factor.secret, normalized, this.deps.totp.stepAt(attempt.at));
    if (step === null) return this.failed(userId, 'totp', 'invalid', attempt, actor);
    if (factor.lastUsedStep !== null && step <= factor.lastUsedStep) return this.failed(userId, 'totp', 'replayed', attempt, actor);
    // The conditional write settles a race between two requests carrying the same code: one of them wins.
    if (!(await this.deps.factors.recordSuccess(userId, step))) return this.failed(userId, 'totp', 'replayed', attempt, actor);
    return { result: 'ok' };
  }

  /**
   * Spends one recovery code of a user with an active factor. A wrong one counts toward the same lock as wrong TOTP
   * codes, and none is checked while the factor is locked.
   */
  async useRecoveryCode(userId: string, code: string, actor: Actor = self(userId)): Promise<RecoveryCodeVerification> {
    const factor = await this.deps.factors.find(userId);
    if (!factor?.activatedAt) return { result: 'invalid' };
    const attempt = await this.reserve(userId);
    if (!attempt.reserved) return attempt.refusal;
    const normalized = normalizeRecoveryCode(code);
    const unused = await this.deps.recoveryCodes.listUnused(userId);
    const hash = this.deps.hasher.hash(normalized ?? '');
    // Every stored hash is compared, in constant time, whichever matches.
    let match: string | undefined;
    for (const stored of unused) if (sameHash(stored.codeHash, hash)) match = stored.id;
    const used =
      normalized !== undefined &&
      match !== undefined &&
      (await this.deps.recoveryCodes.markUsed(match, this.deps.clock.now(), this.event('mfa.recovery_code_used', actor, userId, { recoveryCodesLeft: unused.length - 1 })));
    if (!used) return this.failed(userId, 'recovery', 'invalid', attempt, actor);
    await this.deps.factors.clearFailures(userId);
    return { result: 'ok' };
  }

  /** The second step of a sign-in, a step-up or a "Confirm it is you": a recovery code when given, else a TOTP code. */
  async verifySecondFactor(userId: string, input: SecondFactorAttempt, actor: Actor = self(userId)): Promise<SecondFactorVerification> {
    const recoveryCode = input.recoveryCode?.trim();
    if (recoveryCode) {
      const verification = await this.useRecoveryCode(userId, recoveryCode, actor);
      return verification.result === 'ok' ? { result: 'ok', methods: ['otp', 'recovery'] } : verification;
    }
    const verification = await this.verifyTotp(userId, input.code ?? '', actor);
    return verification.result === 'ok' ? { result: 'ok', methods: ['otp'] } : verification;
  }

  /**
   * A new set of recovery codes; the old set stops working. A sensitive action: session `currentSessionId` must have
   * checked the second factor recently (ReauthenticationRequiredError otherwise).
   */
  async regenerateRecoveryCodes(userId: string, currentSessionId: string, actor: Actor = self(userId)): Promise<string[]> {
    const factor = await this.deps.factors.find(userId);
    if (!factor?.activatedAt) throw new NotFoundError('Two-step verification is not set up.', { reason: { code: 'mfa_not_enabled' } });
    await this.deps.sessions.assertRecentAuthentication(currentSessionId, userId, true);
    const codes = newRecoveryCodes();
    await this.deps.recoveryCodes.replaceAll(userId, this.hashAll(codes), this.deps.clock.now(), this.event('mfa.recovery_codes_regenerated', actor, userId, { recoveryCodes: codes.length }));
    return codes;
  }

  /**
   * The user removes their authenticator app and recovery codes. For an active factor, a sensitive action: session
   * `currentSessionId` must have checked the second factor recently (ReauthenticationRequiredError otherwise); an
   * enrolment not yet proven protects nothing and simply goes.
   */
  async disable(userId: string, currentSessionId: string, actor: Actor = self(userId)): Promise<void> {
    const factor = await this.deps.factors.find(userId);
    if (factor?.activatedAt) await this.deps.sessions.assertRecentAuthentication(currentSessionId, userId, true);
    await this.deps.factors.remove(userId, factor?.activatedAt ? this.event('mfa.disabled', actor, userId) : undefined);
  }

  /**
   * An administrator removes a user's second factor (lost phone): the factor and recovery codes go, and every session
   * of the user ends, so whoever holds one must sign in again with the password and enrol anew. The removal and its
   * event are saved first (in one transaction), then each session ends with its own event.
   */
  async reset(userId: string, actor: Actor): Promise<{ sessionsEnded: number }> {
    await this.deps.factors.remove(userId, this.event('mfa.reset', actor, userId));
    const sessionsEnded = await this.deps.sessions.endAllForUser(userId, 'mfa_reset', actor);
    return { sessionsEnded };
  }

  /** When the user's second factor is locked after too many wrong codes, until when; otherwise null. */
  async lockedUntil(userId: string): Promise<Date | null> {
    const factor = await this.deps.factors.find(userId);
    if (!factor?.activatedAt || !factor.lockedUntil) return null;
    return factor.lockedUntil > this.deps.clock.now() ? factor.lockedUntil : null;
  }

  /** Whether the user has an active second factor (the sensitive-action rule asks for it then). */
  async hasSecondFactor(userId: string): Promise<boolean> {
    return this.deps.factors.isActive(userId);
  }

  async status(userId: string): Promise<MfaStatus> {
    if (!(await this.deps.factors.isActive(userId))) return { enabled: false, recoveryCodesLeft: 0 };
    return { enabled: true, recoveryCodesLeft: await this.deps.recoveryCodes.countUnused(userId) };
  }

  /** Counts an attempt before it is checked (atomically, in the repository); refused while the factor is locked. */
  private async reserve(userId: string): Promise<ReservedAttempt | { readonly reserved: false; readonly refusal: RecoveryCodeVerification }> {
    const at = this.deps.clock.now();
    const lockUntil = new Date(at.getTime() + LOCK_DURATION_MS);
    const reservation = await this.deps.factors.reserveAttempt(userId, { now: at, maxAttempts: MAX_FAILED_ATTEMPTS, lockUntil });
    if (!reservation.reserved) {
      return { reserved: false, refusal: reservation.lockedUntil ? { result: 'locked', retryAt: reservation.lockedUntil } : { result: 'invalid' } };
    }
    return { reserved: true, at, lockUntil, attempt: reservation.attempt, locks: reservation.locks };
  }

  /** A counted attempt that did not prove the user: audited; the last one allowed in a row reports the lock it set. */
  private async failed<R extends 'invalid' | 'replayed'>(
    userId: string,
    method: 'totp' | 'recovery',
    reason: R,
    attempt: ReservedAttempt,
    actor: Actor,
  ): Promise<{ readonly result: R } | { readonly result: 'locked'; readonly retryAt: Date }> {
    await this.record('mfa.failed', actor, userId, { method, reason, attempt: attempt.attempt });
    if (!attempt.locks) return { result: reason };
    await this.record('mfa.locked', actor, userId, { failedAttempts: attempt.attempt, lockedUntil: attempt.lockUntil.toISOString() });
    return { result: 'locked', retryAt: attempt.lockUntil };
  }

  private enrolment(secret: string, accountName: string): Enrolment {
    return { secret, otpauthUri: this.deps.totp.keyUri(secret, accountName, this.deps.issuerName) };
  }

  private hashAll(codes: readonly string[]): string[] {
    return codes.map((c) => this.deps.hasher.hash(normalizeRecoveryCode(c)!));
  }

  private event(type: AuditEventType, actor: Actor, userId: string, details: Record<string, unknown> | null = null): NewAuditEvent {
    return { at: this.deps.clock.now(), type, actor, userId, sessionId: null, clientId: null, details };
  }

  private async record(type: AuditEventType, actor: Actor, userId: string, details: Record<string, unknown> | null = null): Promise<void> {
    await this.deps.audit.append(this.event(type, actor, userId, details));
  }
}
