import { randomUUID } from 'node:crypto';
import type { NewAuditEvent } from '../../domain/audit/audit.js';
import type { RecoveryCodeRepository, StoredRecoveryCode } from '../../domain/mfa/mfa.js';
import { auditRow } from './audit-log.js';
import type { Db } from './database.js';

/** New rows for a user's recovery codes (also written by the factor's activation). */
export function recoveryCodeRows(userId: string, codeHashes: readonly string[], createdAt: Date) {
  return codeHashes.map((codeHash) => ({ id: randomUUID(), userId, codeHash, createdAt }));
}

/** Recovery codes, by their keyed hash only. */
export class PrismaRecoveryCodeRepository implements RecoveryCodeRepository {
  constructor(private readonly db: Db) {}

  async replaceAll(userId: string, codeHashes: readonly string[], at: Date, audit: NewAuditEvent): Promise<void> {
    await this.db.$transaction([
      this.db.recoveryCode.deleteMany({ where: { userId } }),
      this.db.recoveryCode.createMany({ data: recoveryCodeRows(userId, codeHashes, at) }),
      this.db.auditEvent.create({ data: auditRow(audit) }),
    ]);
  }

  listUnused(userId: string): Promise<StoredRecoveryCode[]> {
    return this.db.recoveryCode.findMany({ where: { userId, usedAt: null }, select: { id: true, codeHash: true } });
  }

  async markUsed(id: string, at: Date, audit: NewAuditEvent): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.recoveryCode.updateMany({ where: { id, usedAt: null }, data: { usedAt: at } });
      if (count !== 1) return false;
      await tx.auditEvent.create({ data: auditRow(audit) });
      return true;
    });
  }

  countUnused(userId: string): Promise<number> {
    return this.db.recoveryCode.count({ where: { userId, usedAt: null } });
  }
}
