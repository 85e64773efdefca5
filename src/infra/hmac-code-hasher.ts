import { createHmac } from 'node:crypto';
import type { RecoveryCodeHasher } from '../domain/mfa/mfa.js';

/** HMAC-SHA-256 under a key derived from GATEHOUSE_SECRET: a stolen table of hashes cannot be brute-forced alone. */
export class HmacRecoveryCodeHasher implements RecoveryCodeHasher {
  constructor(private readonly key: Buffer) {}

  hash(code: string): string {
    return createHmac('sha256', this.key).update(code, 'utf8').digest('base64url');
  }
}
