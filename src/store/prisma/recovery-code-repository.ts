import { randomUUID } from 'node:crypto';
import type { RecoveryCodeRepository, StoredRecoveryCode } from '../../domain/mfa/mfa.js';
import type { Db } from './database.js';

/** Recovery codes, by their keyed hash only. */
export class PrismaRecoveryCodeRepository implements RecoveryCodeRepository {
  constructor(private readonly db: Db) {}

  async replaceAll(userId: string, codeHashes: readonly string[], at: Date): Promise<void> {
    await this.db.$transaction([
      this.db.recoveryCode.deleteMany({ where: { userId } }),
      this.db.recoveryCode.createMany({ data: codeHashes.map((codeHash) => ({ id: randomUUID(), userId, codeHash, createdAt: at })) }),
    ]);
  }

  listUnused(userId: string): Promise<StoredRecoveryCode[]> {
    return this.db.recoveryCode.findMany({ where: { userId, usedAt: null }, select: { id: true, codeHash: true } });
  }

  async markUsed(id: string, at: Date): Promise<boolean> {
    const { count } = await this.db.recoveryCode.updateMany({ where: { id, usedAt: null }, data: { usedAt: at } });
    return count === 1;
  }

  countUnused(userId: string): Promise<number> {
    return this.db.recoveryCode.count({ where: { userId, usedAt: null } });
  }

  async deleteAll(userId: string): Promise<void> {
    await this.db.recoveryCode.deleteMany({ where: { userId } });
  }
}
