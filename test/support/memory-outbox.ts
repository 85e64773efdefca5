import type { NewAuditEvent } from '../../src/domain/audit/audit.js';
import type { AttemptOutcome, LogoutNotification, LogoutOutbox } from '../../src/domain/logout/logout-notification.js';

/** Rows are claimed as the real outbox claims them: oldest due first, then by client id and id. */
function claimOrder(a: LogoutNotification, b: LogoutNotification): number {
  return a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || a.clientId.localeCompare(b.clientId) || a.id.localeCompare(b.id);
}

/**
 * The outbox port in memory, with the claim rules of the real one (oldestDueAt is held to the same contract as the
 * real one, test/support/outbox-contract.ts). `holdNextClaim()` makes a claim wait until the test lets it go on (a slow or hung
 * database); `failClaims` makes the next claims throw.
 */
export class MemoryOutbox implements LogoutOutbox {
  readonly rows = new Map<string, LogoutNotification>();
  readonly audits: NewAuditEvent[] = [];
  /** Claims started so far (each call of claimDue). */
  claims = 0;
  /** Calls of oldestDueAt so far. */
  oldestDueReads = 0;
  /** How many of the next claims throw. */
  failClaims = 0;
  private claimGate: { readonly where: 'after' | 'before'; readonly gate: Promise<void> } | undefined;

  constructor(private readonly createdAt = new Date('2026-03-01T10:00:00Z')) {}

  /** Queues a pending notification, created (the session ended) at `createdAt` and due at `due` (both default: the outbox's creation time). */
  add(id: string, clientId: string, options: { due?: Date; createdAt?: Date; sessionId?: string } = {}): void {
    this.rows.set(id, {
      id, sessionId: options.sessionId ?? 's1', userId: 'u1', clientId, sid: `sid-${clientId}`, reason: 'revoked_by_admin', state: 'pending',
      createdAt: options.createdAt ?? this.createdAt, attempts: 0, nextAttemptAt: options.due ?? options.createdAt ?? this.createdAt, claimedBy: null, claimedUntil: null, lastAttemptAt: null,
      lastError: null, deliveredAt: null, failedAt: null,
    });
  }

  /**
   * Makes the next claim wait until the returned function is called: after taking its rows (a slow answer), or with
   * `before`, before taking any (a statement that has not run yet, as on a hung connection).
   */
  holdNextClaim(where: 'after' | 'before' = 'after'): () => void {
    let open!: () => void;
    this.claimGate = { where, gate: new Promise<void>((resolve) => (open = resolve)) };
    return () => open();
  }

  private isDue(n: LogoutNotification, now: Date): boolean {
    return n.state === 'pending' && n.nextAttemptAt <= now && (!n.claimedUntil || n.claimedUntil < now);
  }

  async claimDue(input: { now: Date; limit: number; workerId: string; leaseUntil: Date }) {
    this.claims += 1;
    if (this.failClaims > 0) {
      this.failClaims -= 1;
      throw new Error('database is locked');
    }
    const held = this.claimGate;
    this.claimGate = undefined;
    if (held?.where === 'before') await held.gate;
    const due = [...this.rows.values()]
      .filter((n) => this.isDue(n, input.now))
      .sort(claimOrder)
      .slice(0, Math.max(0, input.limit))
      .map((n) => ({ ...n, claimedBy: input.workerId, claimedUntil: input.leaseUntil }));
    for (const n of due) this.rows.set(n.id, n);
    if (held?.where === 'after') await held.gate;
    return due;
  }

  async oldestDueAt(now: Date) {
    this.oldestDueReads += 1;
    const due = [...this.rows.values()].filter((n) => this.isDue(n, now)).sort(claimOrder);
    return due[0]?.nextAttemptAt;
  }

  async settle(id: string, workerId: string, outcome: AttemptOutcome, audit?: NewAuditEvent) {
    const row = this.rows.get(id)!;
    if (row.claimedBy !== workerId) return false;
    this.rows.set(id, {
      ...row, state: outcome.state, attempts: outcome.attempts, lastAttemptAt: outcome.at, claimedBy: null, claimedUntil: null,
      lastError: outcome.state === 'delivered' ? null : outcome.lastError,
      ...(outcome.state === 'pending' ? { nextAttemptAt: outcome.nextAttemptAt } : {}),
      ...(outcome.state === 'delivered' ? { deliveredAt: outcome.at } : {}),
      ...(outcome.state === 'failed' ? { failedAt: outcome.at } : {}),
    });
    if (audit) this.audits.push(audit);
    return true;
  }

  async release(id: string, workerId: string) {
    const row = this.rows.get(id)!;
    if (row.claimedBy === workerId) this.rows.set(id, { ...row, claimedBy: null, claimedUntil: null });
  }

  async find(id: string) {
    return this.rows.get(id);
  }

  async list() {
    return [...this.rows.values()];
  }

  async countByState() {
    const counts = { pending: 0, delivered: 0, failed: 0 };
    for (const n of this.rows.values()) counts[n.state] += 1;
    return counts;
  }

  async countByClient() {
    const byClient = new Map<string, { pending: number; delivered: number; failed: number }>();
    for (const n of this.rows.values()) {
      const counts = byClient.get(n.clientId) ?? { pending: 0, delivered: 0, failed: 0 };
      counts[n.state] += 1;
      byClient.set(n.clientId, counts);
    }
    return [...byClient.entries()].map(([clientId, counts]) => ({ clientId, counts }));
  }

  async requeue() {
    return undefined;
  }
}
