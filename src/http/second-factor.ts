import type { Context } from 'koa';
import type { SecondFactorVerification } from '../domain/mfa/mfa-service.js';
import type { Text } from './text/en.js';

type Refused = Exclude<SecondFactorVerification, { readonly result: 'ok' }>;

/**
 * The answer to a second-factor attempt that did not prove the user, the same at sign-in, step-up and "Confirm it is
 * you": 401 with what was wrong, or 429 with Retry-After while the factor is locked.
 */
export function secondFactorRefusal(
  ctx: Context,
  t: Text,
  verification: Refused,
  now: Date,
  usedRecoveryCode: boolean,
): { readonly message: string; readonly status: number } {
  if (verification.result === 'locked') return { message: secondFactorLocked(ctx, t, verification.retryAt, now), status: 429 };
  if (verification.result === 'replayed') return { message: t.secondFactor.replayedCode, status: 401 };
  return { message: usedRecoveryCode ? t.secondFactor.wrongRecoveryCode : t.secondFactor.wrongCode, status: 401 };
}

/** The lock message, in whole minutes; sets Retry-After. */
export function secondFactorLocked(ctx: Context, t: Text, retryAt: Date, now: Date): string {
  const minutes = Math.max(1, Math.ceil((retryAt.getTime() - now.getTime()) / 60_000));
  ctx.set('Retry-After', String(minutes * 60));
  return t.secondFactor.locked(minutes);
}
