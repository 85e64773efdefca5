import { generateSync } from 'otplib';
import { HmacRecoveryCodeHasher } from '../../src/infra/hmac-code-hasher.js';
import { OtplibTotp } from '../../src/infra/otplib-totp.js';
import type { AuditLog, NewAuditEvent } from '../../src/domain/audit/audit.js';
import type { AttemptReservation, RecoveryCodeRepository, StoredRecoveryCode, TotpFactor, TotpFactorRepository } from '../../src/domain/mfa/mfa.js';

// In-memory second-factor repositories with the contracts of the Prisma ones (test/integration/store/mfa-store.test.ts).
// The events the Prisma ones save in a write's transaction go to the given audit log with the write.

export class InMemoryTotpFactorRepository implements TotpFactorRepository {
  readonly rows = new Map<string, TotpFactor>();

  /** `codes`: the user's recovery codes, which activation and removal write too. */
  constructor(private readonly codes: InMemoryRecoveryCodeRepository, private readonly audit: AuditLog) {}

  async find(userId: string): Promise<TotpFactor | undefined> {
    return this.rows.get(userId);
  }

  async isActive(userId: string): Promise<boolean> {
    return Boolean(this.rows.get(userId)?.activatedAt);
  }

  async savePending(userId: string, secret: string, createdAt: Date): Promise<boolean> {
    if (this.rows.get(userId)?.activatedAt) return false;
    this.rows.set(userId, { userId, secret, createdAt, activatedAt: null, lastUsedStep: null, failedAttempts: 0, lockedUntil: null });
    return true;
  }

  async activate(userId: string, input: { at: Date; step: number; recoveryCodeHashes: readonly string[] }, audit: NewAuditEvent): Promise<boolean> {
    const row = this.rows.get(userId);
    if (!row || row.activatedAt) return false;
    this.rows.set(userId, { ...row, activatedAt: input.at, lastUsedStep: input.step, failedAttempts: 0, lockedUntil: null });
    this.codes.store(userId, input.recoveryCodeHashes);
    await this.audit.append(audit);
    return true;
  }

  async recordSuccess(userId: string, step: number): Promise<boolean> {
    const row = this.rows.get(userId);
    if (!row || (row.lastUsedStep !== null && row.lastUsedStep >= step)) return false;
    this.rows.set(userId, { ...row, lastUsedStep: step, failedAttempts: 0, lockedUntil: null });
    return true;
  }

  // One synchronous step per call, so concurrent calls are as atomic as the Prisma repository's conditional updates.
  async reserveAttempt(userId: string, input: { now: Date; maxAttempts: number; lockUntil: Date }): Promise<AttemptReservation> {
    const row = this.rows.get(userId);
    if (!row?.activatedAt) return { reserved: false, lockedUntil: null };
    if (row.lockedUntil && row.lockedUntil > input.now) return { reserved: false, lockedUntil: row.lockedUntil };
    const attempt = row.lockedUntil ? 1 : row.failedAttempts + 1;
    const locks = attempt >= input.maxAttempts;
    this.rows.set(userId, { ...row, failedAttempts: attempt, lockedUntil: locks ? input.lockUntil : null });
    return { reserved: true, attempt, locks };
  }

  async clearFailures(userId: string): Promise<void> {
    const row = this.rows.get(userId);
    if (row) this.rows.set(userId, { ...row, failedAttempts: 0, lockedUntil: null });
  }

  async remove(userId: string, audit?: NewAuditEvent): Promise<boolean> {
    this.codes.store(userId, []);
    const removed = this.rows.delete(userId);
    if (audit) await this.audit.append(audit);
    return removed;
  }
}

interface CodeRow extends StoredRecoveryCode {
  readonly userId: string;
  usedAt: Date | null;
}

export class InMemoryRecoveryCodeRepository implements RecoveryCodeRepository {
  rows: CodeRow[] = [];
  private next = 0;

  constructor(private readonly audit: AuditLog) {}

  /** Replaces the user's codes (what replaceAll, and the factor's activation and removal, write). */
  store(userId: string, codeHashes: readonly string[]): void {
    this.rows = this.rows.filter((r) => r.userId !== userId);
    for (const codeHash of codeHashes) this.rows.push({ id: `code-${(this.next += 1)}`, userId, codeHash, usedAt: null });
  }

  async replaceAll(userId: string, codeHashes: readonly string[], _at: Date, audit: NewAuditEvent): Promise<void> {
    this.store(userId, codeHashes);
    await this.audit.append(audit);
  }

  async listUnused(userId: string): Promise<StoredRecoveryCode[]> {
    return this.rows.filter((r) => r.userId === userId && !r.usedAt).map(({ id, codeHash }) => ({ id, codeHash }));
  }

  async markUsed(id: string, at: Date, audit: NewAuditEvent): Promise<boolean> {
    const row = this.rows.find((r) => r.id === id);
    if (!row || row.usedAt) return false;
    row.usedAt = at;
    await this.audit.append(audit);
    return true;
  }

  async countUnused(userId: string): Promise<number> {
    return (await this.listUnused(userId)).length;
  }
}

/** The code an authenticator app shows for this secret at this instant (SHA-1, 6 digits, 30 s), computed with otplib. */
export function totpCode(secret: string, at: Date | number): string {
  const ms = typeof at === 'number' ? at : at.getTime();
  return generateSync({ secret, algorithm: 'sha1', digits: 6, period: 30, epoch: Math.floor(ms / 1000) });
}

/** The real TOTP algorithm, counting the codes it checks (how many guesses were evaluated). */
export class CountingTotp extends OtplibTotp {
  checked = 0;

  override verify(secret: string, code: string, atStep: number): number | null {
    this.checked += 1;
    return super.verify(secret, code, atStep);
  }
}

/** The real recovery-code hasher, counting the codes it hashes (each checked recovery code is hashed once). */
export class CountingRecoveryCodeHasher extends HmacRecoveryCodeHasher {
  hashed = 0;

  override hash(code: string): string {
    this.hashed += 1;
    return super.hash(code);
  }
}
