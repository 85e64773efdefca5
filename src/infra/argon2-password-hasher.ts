import argon2 from 'argon2';
import type { PasswordHasher } from '../domain/accounts/user.js';

// OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
export const OWASP_ARGON2ID = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export class Argon2PasswordHasher implements PasswordHasher {
  hash(password: string): Promise<string> {
    return argon2.hash(password, OWASP_ARGON2ID);
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }
}
