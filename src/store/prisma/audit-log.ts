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
