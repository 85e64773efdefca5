import type { TotpFactor, TotpFactorRepository } from '../../domain/mfa/mfa.js';
import type { SecretBox } from '../../domain/secret-box.js';
import type { Db } from './database.js';

/** TOTP factors with the shared secret sealed by the SecretBox (AES-256-GCM); only this class sees it in clear. */
export class PrismaTotpFactorRepository implements TotpFactorRepository {
  constructor(private readonly db: Db, private readonly box: SecretBox) {}

  async find(userId: string): Promise<TotpFactor | undefined> {
    const row = await this.db.totpFactor.findUnique({ where: { userId } });
    if (!row) return undefined;
    const { secretEncrypted, ...rest } = row;
    return { ...rest, secret: this.box.open(secretEncrypted) };
  }

  async savePending(userId: string, secret: string, createdAt: Date): Promise<boolean> {
    const secretEncrypted = this.box.seal(secret);
    return this.db.$transaction(async (tx) => {
      const existing = await tx.totpFactor.findUnique({ where: { userId } });
      if (existing?.activatedAt) return false;
      if (existing) {
        // Only while still inactive: an activation that won a race is never overwritten.
        const { count } = await tx.totpFactor.updateMany({
          where: { userId, activatedAt: null },
          data: { secretEncrypted, createdAt, lastUsedStep: null, failedAttempts: 0, lockedUntil: null },
        });
        return count === 1;
      }
      await tx.totpFactor.create({ data: { userId, secretEncrypted, createdAt } });
      return true;
    });
  }

  async activate(userId: string, at: Date, step: number): Promise<boolean> {
    const { count } = await this.db.totpFactor.updateMany({
      where: { userId, activatedAt: null },
      data: { activatedAt: at, lastUsedStep: step, failedAttempts: 0, lockedUntil: null },
    });
    return count === 1;
  }

  async recordSuccess(userId: string, step: number): Promise<boolean> {
    const { count } = await this.db.totpFactor.updateMany({
      where: { userId, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }] },
      data: { lastUsedStep: step, failedAttempts: 0, lockedUntil: null },
    });
    return count === 1;
  }

  async recordFailure(userId: string): Promise<number> {
    const row = await this.db.totpFactor.update({ where: { userId }, data: { failedAttempts: { increment: 1 } }, select: { failedAttempts: true } });
    return row.failedAttempts;
  }

  async lock(userId: string, until: Date): Promise<void> {
    await this.db.totpFactor.updateMany({ where: { userId }, data: { lockedUntil: until, failedAttempts: 0 } });
  }

  async delete(userId: string): Promise<boolean> {
    const { count } = await this.db.totpFactor.deleteMany({ where: { userId } });
    return count === 1;
  }
}
