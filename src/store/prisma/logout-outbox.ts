import type { NewAuditEvent } from '../../domain/audit/audit.js';
import { DELIVERY_LIST_MAX, type AttemptOutcome, type ClientDeliveryCounts, type DeliveryQuery, type DeliveryState, type LogoutNotification, type LogoutOutbox } from '../../domain/logout/logout-notification.js';
import { auditRow } from './audit-log.js';
import type { Db } from './database.js';

/** A time as @prisma/adapter-better-sqlite3 stores DateTime values. */
function sqliteTime(at: Date): string {
  return at.toISOString().replace('Z', '+00:00');
}

function toNotification(row: Omit<LogoutNotification, 'state'> & { state: string }): LogoutNotification {
  return { ...row, state: row.state as DeliveryState };
}

/**
 * The order due rows are claimed (and started) in: oldest due first; the rows of one ended session, due at the same
 * moment, in client-id order, so which of them a claim takes does not depend on how the database lays rows out.
 */
const CLAIM_ORDER: { nextAttemptAt?: 'asc'; clientId?: 'asc'; id?: 'asc' }[] = [{ nextAttemptAt: 'asc' }, { clientId: 'asc' }, { id: 'asc' }];

/**
 * The back-channel logout outbox (rows written by PrismaSessionIndex when sessions end). Claims are atomic: on
 * PostgreSQL one UPDATE over a FOR UPDATE SKIP LOCKED subselect, so concurrent workers skip each other's rows instead
 * of waiting; on SQLite, which has one writer at a time, one conditional UPDATE ... RETURNING.
 */
export class PrismaLogoutOutbox implements LogoutOutbox {
  constructor(private readonly db: Db, private readonly provider: 'sqlite' | 'postgresql') {}

  async claimDue(input: { now: Date; limit: number; workerId: string; leaseUntil: Date }): Promise<LogoutNotification[]> {
    if (input.limit <= 0) return [];
    const ids = this.provider === 'postgresql' ? await this.claimOnPostgres(input) : await this.claimOnSqlite(input);
    if (ids.length === 0) return [];
    const rows = await this.db.logoutNotification.findMany({ where: { id: { in: ids }, claimedBy: input.workerId }, orderBy: CLAIM_ORDER });
    return rows.map(toNotification);
  }

  private async claimOnPostgres(input: { now: Date; limit: number; workerId: string; leaseUntil: Date }): Promise<string[]> {
    // Timestamps are Prisma's timestamp(3) columns holding UTC: ISO strings cast to timestamp keep the UTC wall clock.
    const now = input.now.toISOString();
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      UPDATE "LogoutNotification" SET "claimedBy" = ${input.workerId}, "claimedUntil" = ${input.leaseUntil.toISOString()}::timestamp
      WHERE "id" IN (
        SELECT "id" FROM "LogoutNotification"
        WHERE "state" = 'pending' AND "nextAttemptAt" <= ${now}::timestamp AND ("claimedUntil" IS NULL OR "claimedUntil" < ${now}::timestamp)
        ORDER BY "nextAttemptAt", "clientId", "id" LIMIT ${input.limit}
        FOR UPDATE SKIP LOCKED
      )
      RETURNING "id"`;
    return rows.map((row) => row.id);
  }

  private async claimOnSqlite(input: { now: Date; limit: number; workerId: string; leaseUntil: Date }): Promise<string[]> {
    // One statement, so one write lock: SQLite runs it whole before any other writer. DateTime columns hold text in
    // the adapter's format (2026-03-01T10:00:00.000+00:00), which compares correctly as text.
    const now = sqliteTime(input.now);
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      UPDATE "LogoutNotification" SET "claimedBy" = ${input.workerId}, "claimedUntil" = ${sqliteTime(input.leaseUntil)}
      WHERE "id" IN (
        SELECT "id" FROM "LogoutNotification"
        WHERE "state" = 'pending' AND "nextAttemptAt" <= ${now} AND ("claimedUntil" IS NULL OR "claimedUntil" < ${now})
        ORDER BY "nextAttemptAt", "clientId", "id" LIMIT ${input.limit}
      )
      RETURNING "id"`;
    return rows.map((row) => row.id);
  }

  async settle(id: string, workerId: string, outcome: AttemptOutcome, audit?: NewAuditEvent): Promise<boolean> {
    const data = {
      state: outcome.state,
      attempts: outcome.attempts,
      lastAttemptAt: outcome.at,
      claimedBy: null,
      claimedUntil: null,
      ...(outcome.state === 'delivered' ? { deliveredAt: outcome.at, lastError: null } : { lastError: outcome.lastError }),
      ...(outcome.state === 'pending' ? { nextAttemptAt: outcome.nextAttemptAt } : {}),
      ...(outcome.state === 'failed' ? { failedAt: outcome.at } : {}),
    };
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.logoutNotification.updateMany({ where: { id, claimedBy: workerId }, data });
      if (count === 1 && audit) await tx.auditEvent.create({ data: auditRow(audit) });
      return count === 1;
    });
  }

  async oldestDueAt(now: Date): Promise<Date | undefined> {
    // The claim's condition, read in the order of the (state, nextAttemptAt) index: the first row is the answer.
    const row = await this.db.logoutNotification.findFirst({
      where: { state: 'pending', nextAttemptAt: { lte: now }, OR: [{ claimedUntil: null }, { claimedUntil: { lt: now } }] },
      orderBy: { nextAttemptAt: 'asc' },
      select: { nextAttemptAt: true },
    });
    return row?.nextAttemptAt;
  }

  async release(id: string, workerId: string): Promise<void> {
    await this.db.logoutNotification.updateMany({ where: { id, claimedBy: workerId }, data: { claimedBy: null, claimedUntil: null } });
  }

  async find(id: string): Promise<LogoutNotification | undefined> {
    const row = await this.db.logoutNotification.findUnique({ where: { id } });
    return row ? toNotification(row) : undefined;
  }

  async list(query: DeliveryQuery): Promise<LogoutNotification[]> {
    const rows = await this.db.logoutNotification.findMany({
      where: {
        ...(query.sessionId ? { sessionId: query.sessionId } : {}),
        ...(query.clientId ? { clientId: query.clientId } : {}),
        ...(query.state ? { state: query.state } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { clientId: 'asc' }, { id: 'asc' }],
      take: Math.min(query.limit, DELIVERY_LIST_MAX),
    });
    return rows.map(toNotification);
  }

  async countByState(): Promise<Record<DeliveryState, number>> {
    const groups = await this.db.logoutNotification.groupBy({ by: ['state'], _count: { _all: true } });
    const counts: Record<DeliveryState, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const group of groups) if (group.state in counts) counts[group.state as DeliveryState] = group._count._all;
    return counts;
  }

  async countByClient(): Promise<ClientDeliveryCounts[]> {
    const groups = await this.db.logoutNotification.groupBy({ by: ['clientId', 'state'], _count: { _all: true } });
    const byClient = new Map<string, Record<DeliveryState, number>>();
    for (const group of groups) {
      const counts = byClient.get(group.clientId) ?? { pending: 0, delivered: 0, failed: 0 };
      if (group.state in counts) counts[group.state as DeliveryState] = group._count._all;
      byClient.set(group.clientId, counts);
    }
    return [...byClient.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([clientId, counts]) => ({ clientId, counts }));
  }

  async requeue(id: string, now: Date, audit: (notification: LogoutNotification) => NewAuditEvent): Promise<LogoutNotification | undefined> {
    return this.db.$transaction(async (tx) => {
      // A live claim is left alone: that attempt finishes and records its outcome as usual.
      const [row] = await tx.logoutNotification.updateManyAndReturn({
        where: { id, state: { in: ['pending', 'failed'] } },
        data: { state: 'pending', nextAttemptAt: now, failedAt: null },
      });
      if (!row) return undefined;
      const notification = toNotification(row);
      await tx.auditEvent.create({ data: auditRow(audit(notification)) });
      return notification;
    });
  }
}
