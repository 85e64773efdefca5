import { generateSync } from 'otplib';
import type { RecoveryCodeRepository, StoredRecoveryCode, TotpFactor, TotpFactorRepository } from '../../src/domain/mfa/mfa.js';

// In-memory second-factor repositories with the contracts of the Prisma ones (test/integration/store/mfa-store.test.ts).

export class InMemoryTotpFactorRepository implements TotpFactorRepository {
  readonly rows = new Map<string, TotpFactor>();

  async find(userId: string): Promise<TotpFactor | undefined> {
    return this.rows.get(userId);
  }

  async savePending(userId: string, secret: string, createdAt: Date): Promise<boolean> {
    if (this.rows.get(userId)?.activatedAt) return false;
    this.rows.set(userId, { userId, secret, createdAt, activatedAt: null, lastUsedStep: null, failedAttempts: 0, lockedUntil: null });
    return true;
  }

  async activate(userId: string, at: Date, step: number): Promise<boolean> {
    const row = this.rows.get(userId);
    if (!row || row.activatedAt) return false;
    this.rows.set(userId, { ...row, activatedAt: at, lastUsedStep: step, failedAttempts: 0, lockedUntil: null });
    return true;
  }

  async recordSuccess(userId: string, step: number): Promise<boolean> {
    const row = this.rows.get(userId);
    if (!row || (row.lastUsedStep !== null && row.lastUsedStep >= step)) return false;
    this.rows.set(userId, { ...row, lastUsedStep: step, failedAttempts: 0, lockedUntil: null });
    return true;
  }

  async recordFailure(userId: string): Promise<number> {
    const row = this.rows.get(userId)!;
    this.rows.set(userId, { ...row, failedAttempts: row.failedAttempts + 1 });
    return row.failedAttempts + 1;
  }

  async lock(userId: string, until: Date): Promise<void> {
    const row = this.rows.get(userId)!;
    this.rows.set(userId, { ...row, lockedUntil: until, failedAttempts: 0 });
  }

  async delete(userId: string): Promise<boolean> {
    return this.rows.delete(userId);
  }
}

interface CodeRow extends StoredRecoveryCode {
  readonly userId: string;
  usedAt: Date | null;
}

export class InMemoryRecoveryCodeRepository implements RecoveryCodeRepository {
  rows: CodeRow[] = [];
  private next = 0;

  async replaceAll(userId: string, codeHashes: readonly string[]): Promise<void> {
    this.rows = this.rows.filter((r) => r.userId !== userId);
    for (const codeHash of codeHashes) this.rows.push({ id: `code-${(this.next += 1)}`, userId, codeHash, usedAt: null });
  }

  async listUnused(userId: string): Promise<StoredRecoveryCode[]> {
    return this.rows.filter((r) => r.userId === userId && !r.usedAt).map(({ id, codeHash }) => ({ id, codeHash }));
  }

  async markUsed(id: string, at: Date): Promise<boolean> {
    const row = this.rows.find((r) => r.id === id);
    if (!row || row.usedAt) return false;
    row.usedAt = at;
    return true;
  }

  async countUnused(userId: string): Promise<number> {
    return (await this.listUnused(userId)).length;
  }

  async deleteAll(userId: string): Promise<void> {
    this.rows = this.rows.filter((r) => r.userId !== userId);
  }
}

/** The code an authenticator app shows for this secret at this instant (SHA-1, 6 digits, 30 s), computed with otplib. */
export function totpCode(secret: string, at: Date | number): string {
  const ms = typeof at === 'number' ? at : at.getTime();
  return generateSync({ secret, algorithm: 'sha1', digits: 6, period: 30, epoch: Math.floor(ms / 1000) });
}
