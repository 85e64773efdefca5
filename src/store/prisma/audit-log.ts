import { randomUUID } from 'node:crypto';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, type AuditEvent, type AuditEventType, type AuditLog, type AuditQuery, type NewAuditEvent } from '../../domain/audit/audit.js';
import type { Db } from './database.js';

export function auditRow(event: NewAuditEvent) {
  return {
    id: randomUUID(),
    at: event.at,
    type: event.type,
    actorType: event.actor.type,
    actorId: event.actor.id,
    userId: event.userId,
    sessionId: event.sessionId,
    clientId: event.clientId,
    ip: event.ip ?? event.actor.ip ?? null,
    userAgent: event.userAgent ?? event.actor.userAgent ?? null,
    details: event.details ? JSON.stringify(event.details) : null,
  };
}

/** A transaction's client, as interactive transactions hand it to their callback. */
export type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/**
 * Runs a write and appends its audit event in one transaction, so neither is kept without the other; without an event,
 * just the write.
 */
export function writeWithAudit<T>(db: Db, audit: NewAuditEvent | undefined, write: (tx: Tx) => Promise<T>): Promise<T> {
  if (!audit) return write(db);
  return db.$transaction(async (tx) => {
    const result = await write(tx);
    await tx.auditEvent.create({ data: auditRow(audit) });
    return result;
  });
}

export class PrismaAuditLog implements AuditLog {
  constructor(private readonly db: Db) {}

  async append(event: NewAuditEvent): Promise<void> {
    await this.db.auditEvent.create({ data: auditRow(event) });
  }

  async list(query: AuditQuery): Promise<AuditEvent[]> {
    const rows = await this.db.auditEvent.findMany({
      where: {
        ...(query.userId ? { userId: query.userId } : {}),
        ...(query.sessionId ? { sessionId: query.sessionId } : {}),
        ...(query.clientId ? { clientId: query.clientId } : {}),
        ...(query.types?.length ? { type: { in: [...query.types] } } : {}),
        ...(query.since || query.until ? { at: { ...(query.since ? { gte: query.since } : {}), ...(query.until ? { lt: query.until } : {}) } } : {}),
      },
      orderBy: [{ at: 'desc' }, { id: 'asc' }],
      take: Math.min(query.limit ?? AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT),
      ...(query.offset ? { skip: query.offset } : {}),
    });
    return rows.map((row) => ({
      id: row.id,
      at: row.at,
      type: row.type as AuditEventType,
      actor: { type: row.actorType as AuditEvent['actor']['type'], id: row.actorId },
      userId: row.userId,
      sessionId: row.sessionId,
      clientId: row.clientId,
      ip: row.ip,
      userAgent: row.userAgent,
      details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
    }));
  }
}
