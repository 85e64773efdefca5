import type { AttemptOutcome, LogoutNotification } from './logout-notification.js';

export interface RetryPolicy {
  /** The first retry waits up to this long; each further one up to twice as long as the one before (capped). */
  readonly baseDelayMs: number;
  /** The cap of a single wait. */
  readonly maxDelayMs: number;
  /** A notification not delivered this long after the session ended is given up (state failed). */
  readonly retryWindowMs: number;
}

/** Never retry sooner than this, whatever the jitter draws: a dead receiver is not hammered. */
export const MIN_RETRY_DELAY_MS = 1000;

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): after the n-th
 * failed attempt, wait a uniformly random time in [MIN, min(max, base * 2^(n-1))]. `random` returns [0, 1).
 */
export function retryDelayMs(policy: RetryPolicy, failedAttempts: number, random: () => number): number {
  const exponent = Math.min(Math.max(failedAttempts - 1, 0), 40);
  const ceiling = Math.max(MIN_RETRY_DELAY_MS, Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent));
  return Math.floor(MIN_RETRY_DELAY_MS + random() * (ceiling - MIN_RETRY_DELAY_MS));
}

/** When a notification is given up if still undelivered. */
export function giveUpAt(policy: RetryPolicy, notification: Pick<LogoutNotification, 'createdAt'>): Date {
  return new Date(notification.createdAt.getTime() + policy.retryWindowMs);
}

export type AttemptResult = { readonly ok: true } | { readonly ok: false; readonly error: string; readonly retryable: boolean };

/**
 * The state after one attempt at `now`: delivered; or pending with the next attempt scheduled (never later than the
 * give-up time, so the last attempt happens at the deadline); or failed when the deadline has passed or the failure
 * cannot be cured by retrying.
 */
export function outcomeOf(
  policy: RetryPolicy,
  notification: Pick<LogoutNotification, 'createdAt' | 'attempts'>,
  result: AttemptResult,
  now: Date,
  random: () => number,
): AttemptOutcome {
  const attempts = notification.attempts + 1;
  if (result.ok) return { state: 'delivered', attempts, at: now };
  const deadline = giveUpAt(policy, notification).getTime();
  if (!result.retryable || now.getTime() >= deadline) return { state: 'failed', attempts, at: now, lastError: result.error };
  const next = Math.min(now.getTime() + retryDelayMs(policy, attempts, random), deadline);
  return { state: 'pending', attempts, at: now, nextAttemptAt: new Date(next), lastError: result.error };
}
