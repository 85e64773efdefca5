import { timingSafeEqual } from 'node:crypto';
import { generateSecret, generateSync, generateURI } from 'otplib';
import type { TotpAlgorithm } from '../domain/mfa/mfa.js';

// What every authenticator app supports: HMAC-SHA-1, 6 digits, 30-second steps.
const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** Steps either side of the current one that are accepted (clock drift between the phone and the server). */
const DRIFT_STEPS = 1;

/** RFC 6238 TOTP with otplib. */
export class OtplibTotp implements TotpAlgorithm {
  generateSecret(): string {
    // 20 random bytes (160 bits, RFC 4226's recommendation), base32.
    return generateSecret({ length: 20 });
  }

  keyUri(secret: string, accountName: string, issuer: string): string {
    return generateURI({ issuer, label: accountName, secret, algorithm: 'sha1', digits: DIGITS, period: PERIOD_SECONDS });
  }

  stepAt(at: Date): number {
    return Math.floor(at.getTime() / 1000 / PERIOD_SECONDS);
  }

  verify(secret: string, code: string, atStep: number): number | null {
    const given = Buffer.from(code.padEnd(DIGITS, ' ').slice(0, DIGITS));
    let matched: number | null = null;
    // Every candidate is computed and compared, so the time taken does not say which one matched.
    for (let step = atStep - DRIFT_STEPS; step <= atStep + DRIFT_STEPS; step += 1) {
      const expected = Buffer.from(generateSync({ secret, algorithm: 'sha1', digits: DIGITS, period: PERIOD_SECONDS, epoch: step * PERIOD_SECONDS }));
      if (timingSafeEqual(expected, given) && code.length === DIGITS) matched = step;
    }
    return matched;
  }
}
