import type { NewAuditEvent } from '../../domain/audit/audit.js';
import type { AttemptReservation, TotpFactor, TotpFactorRepository } from '../../domain/mfa/mfa.js';
import type { SecretBox } from '../../domain/secret-box.js';
import { auditRow } from './audit-log.js';
import type { Db } from './database.js';
import { recoveryCodeRows } from './recovery-code-repository.js';

/** The SecretBox context of a user's TOTP secret: the ciphertext opens only in that user's row. */
const secretContext = (userId: string) => `totp:${userId}`;

/**
 * TOTP factors with the shared secret sealed by the SecretBox (AES-256-GCM, bound to the user id as associated data);
 * only this class sees it in clear.
 */
export class PrismaTotpFactorRepository implements TotpFactorRepository {
  constructor(private readonly db: Db, private readonly box: SecretBox) {}

  async find(userId: string): Promise<TotpFactor | undefined> {
    const row = await this.db.totpFactor.findUnique({ where: { userId } });
    if (!row) return undefined;
    const { secretEncrypted, ...rest } = row;
    return { ...rest, secret: this.box.open(secretEncrypted, secretContext(userId)) };
  }

  async isActive(userId: string): Promise<boolean> {
    const row = await this.db.totpFactor.findUnique({ where: { userId }, select: { activatedAt: true } });
    return Boolean(row?.activatedAt);
  }

  async savePending(userId: string, secret: string, createdAt: Date): Promise<boolean> {
    const secretEncrypted = this.box.seal(secret, secretContext(userId));
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

  async activate(userId: string, input: { at: Date; step: number; recoveryCodeHashes: readonly string[] }, audit: NewAuditEvent): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.totpFactor.updateMany({
        where: { userId, activatedAt: null },
        data: { activatedAt: input.at, lastUsedStep: input.step, failedAttempts: 0, lockedUntil: null },
      });
      if (count !== 1) return false;
      await tx.recoveryCode.deleteMany({ where: { userId } });
      await tx.recoveryCode.createMany({ data: recoveryCodeRows(userId, input.recoveryCodeHashes, input.at) });
      await tx.auditEvent.create({ data: auditRow(audit) });
      return true;
    });
  }

  async recordSuccess(userId: string, step: number): Promise<boolean> {
    const { count } = await this.db.totpFactor.updateMany({
      where: { userId, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }] },
      data: { lastUsedStep: step, failedAttempts: 0, lockedUntil: null },
    });
    return count === 1;
  }

  async reserveAttempt(userId: string, input: { now: Date; maxAttempts: number; lockUntil: Date }): Promise<AttemptReservation> {
    const { now, maxAttempts, lockUntil } = input;
    const active = { userId, activatedAt: { not: null } };
    const select = { failedAttempts: true } as const;
    // Each step is one conditional UPDATE, which the database applies to the row's latest version (PostgreSQL
    // re-checks the condition after waiting for a concurrent writer; SQLite has one writer at a time). Nothing reads
    // the count first, so concurrent attempts cannot all see "not locked yet". A step fails only because another
    // request changed the row meanwhile; the steps are then tried again.
    for (let round = 0; round < 3; round += 1) {
      // Below the last allowed attempt (the usual case, so tried first): count it.
      const counted = await this.db.totpFactor.updateManyAndReturn({
        where: { ...active, lockedUntil: null, failedAttempts: { lt: maxAttempts - 1 } },
        data: { failedAttempts: { increment: 1 } },
        select,
      });
      if (counted.length === 1) return { reserved: true, attempt: counted[0]!.failedAttempts, locks: false };
      // A lock past its time: this attempt is the first of a new count.
      const restarted = await this.db.totpFactor.updateManyAndReturn({
        where: { ...active, lockedUntil: { lte: now } },
        data: { failedAttempts: 1, lockedUntil: maxAttempts <= 1 ? lockUntil : null },
        select,
      });
      if (restarted.length === 1) return { reserved: true, attempt: 1, locks: maxAttempts <= 1 };
      // The last allowed attempt locks the factor as it is counted; its success lifts the lock.
      const last = await this.db.totpFactor.updateMany({
        where: { ...active, lockedUntil: null, failedAttempts: { gte: maxAttempts - 1 } },
        data: { failedAttempts: maxAttempts, lockedUntil: lockUntil },
      });
      if (last.count === 1) return { reserved: true, attempt: maxAttempts, locks: true };
      const row = await this.db.totpFactor.findUnique({ where: { userId }, select: { activatedAt: true, lockedUntil: true } });
      if (!row?.activatedAt) return { reserved: false, lockedUntil: null };
      if (row.lockedUntil && row.lockedUntil > now) return { reserved: false, lockedUntil: row.lockedUntil };
    }
    // Other requests kept changing the row under this one: refuse it unchecked; it may be tried again at once.
    return { reserved: false, lockedUntil: now };
  }

  async clearFailures(userId: string): Promise<void> {
    await this.db.totpFactor.updateMany({ where: { userId }, data: { failedAttempts: 0, lockedUntil: null } });
  }

  async remove(userId: string, audit?: NewAuditEvent): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      await tx.recoveryCode.deleteMany({ where: { userId } });
      const { count } = await tx.totpFactor.deleteMany({ where: { userId } });
      if (audit) await tx.auditEvent.create({ data: auditRow(audit) });
      return count === 1;
    });
  }
}
