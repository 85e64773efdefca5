import type { AuditLog } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import { TooManyAttemptsError } from '../errors.js';
import { normalizeEmail } from './account-service.js';

/** Whose password attempts are counted: the account (its normalised email) and the client's IP, when known. */
export interface LoginThrottleKey {
  readonly account: string;
  readonly ip: string | null;
}

export type LoginThrottleDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * Counts password attempts per account and per IP, and refuses further attempts for a while past a limit. An attempt
 * is counted (reserved) before its password is verified, so concurrent attempts can never exceed the limit; what the
 * verification then shows decides whether the point stays counted.
 */
export interface LoginThrottle {
  /** Counts an attempt, atomically, before it is made; refused (nothing counted) when a limit is already reached. */
  reserve(key: LoginThrottleKey): Promise<LoginThrottleDecision>;
  /** The reserved attempt failed: it stays counted; refused when a limit is now reached (the next attempt will be refused). */
  recordFailure(key: LoginThrottleKey): Promise<LoginThrottleDecision>;
  /** The reserved attempt proved the password: the account's count is cleared, the IP's point given back. */
  recordSuccess(key: LoginThrottleKey): Promise<void>;
  /** The reserved attempt was neither a failure nor a success (it stopped on another error): its points are given back. */
  release(key: LoginThrottleKey): Promise<void>;
}

/** The account part of a throttle key: the normalised email, or the trimmed, lower-cased input when it is not one. */
export function accountThrottleKey(login: string): string {
  try {
    return normalizeEmail(login);
  } catch {
    return login.trim().toLowerCase().slice(0, 254);
  }
}

export interface PasswordAttemptsDeps {
  readonly throttle: LoginThrottle;
  readonly audit: AuditLog;
  readonly clock: Clock;
  /** The id of the user with this (normalised) email, if there is one: for the audit trail only. */
  readonly findUserId: (email: string) => Promise<string | undefined>;
}

/** Where a password was being proven. */
export type PasswordAttemptKind = 'login' | 'password_change' | 'reauthentication';

export interface PasswordAttempt {
  /** The login (email) the password is for, as typed, or the signed-in user's email. */
  readonly login: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly kind: PasswordAttemptKind;
}

/**
 * Runs one password verification under the throttle: the attempt is counted first, so refused attempts never reach the
 * verification (and answer the same whether the account exists or not) and a burst of concurrent attempts gets no more
 * verified than the limit allows; failures stay counted and are audited; a success clears the account's count.
 */
export class PasswordAttempts {
  constructor(private readonly deps: PasswordAttemptsDeps) {}

  /**
   * `verify` proves the password; `isFailure` tells a wrong password (counted) from any other error (passed on
   * uncounted). Throws TooManyAttemptsError when refused.
   */
  async attempt<T>(
    input: PasswordAttempt,
    verify: () => Promise<T>,
    isFailure: (error: unknown) => boolean,
  ): Promise<T> {
    const key: LoginThrottleKey = { account: accountThrottleKey(input.login), ip: input.ip || null };
    const reserved = await this.deps.throttle.reserve(key);
    if (!reserved.allowed) {
      await this.record('login.throttled', key, input, { retryAfterSeconds: reserved.retryAfterSeconds });
      throw new TooManyAttemptsError(reserved.retryAfterSeconds);
    }
    let result: T;
    try {
      result = await verify();
    } catch (error) {
      if (!isFailure(error)) {
        await this.deps.throttle.release(key);
        throw error;
      }
      const after = await this.deps.throttle.recordFailure(key);
      await this.record('login.failed', key, input, after.allowed ? null : { limitReached: true, retryAfterSeconds: after.retryAfterSeconds });
      throw error;
    }
    await this.deps.throttle.recordSuccess(key);
    return result;
  }

  private async record(
    type: 'login.failed' | 'login.throttled',
    key: LoginThrottleKey,
    input: PasswordAttempt,
    extra: Record<string, unknown> | null,
  ): Promise<void> {
    const userId = key.account.includes('@') ? ((await this.deps.findUserId(key.account)) ?? null) : null;
    await this.deps.audit.append({
      at: this.deps.clock.now(),
      type,
      // Nobody is proven yet: the actor is the (claimed) user, known by the request it came from.
      actor: { type: 'user', id: userId, ip: input.ip || null, userAgent: input.userAgent?.slice(0, 512) || null },
      userId,
      sessionId: null,
      clientId: null,
      // The login as typed is not kept when it names no account (it may be a mistyped password).
      details: { step: input.kind, ...(userId ? {} : { knownAccount: false }), ...extra },
    });
  }
}
