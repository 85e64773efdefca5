import { randomUUID } from 'node:crypto';
import type { NewAuditEvent } from '../../domain/audit/audit.js';
import type { EndSession, NewSession, SessionEndReason, SessionIndex, SessionUpdate, SsoSession } from '../../domain/sessions/session.js';
import type { Db } from './database.js';
import { auditRow } from './audit-log.js';
import { payloadKey } from './payload-store.js';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

interface SessionRow {
  id: string;
  userId: string;
  createdAt: Date;
  lastSeenAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  ipCreated: string | null;
  ipLastSeen: string | null;
  userAgent: string | null;
  deviceLabel: string;
  amr: string;
  acr: string | null;
  authTime: Date | null;
  remember: boolean;
  endedAt: Date | null;
  endReason: string | null;
  clients: { clientId: string; sid: string; grantId: string | null; firstSeenAt: Date }[];
}

function toSession(row: SessionRow): SsoSession {
  const { clients, amr, endReason, ...rest } = row;
  return {
    ...rest,
    amr: JSON.parse(amr) as string[],
    endReason: endReason as SessionEndReason | null,
    clients: clients.map((c) => ({ clientId: c.clientId, sid: c.sid, grantId: c.grantId, firstSeenAt: c.firstSeenAt })),
  };
}

const withClients = { clients: { orderBy: { firstSeenAt: 'asc' } } } as const;

/** The session index and the transactional end of a session (grants, oidc Session, logout hand-off, audit). */
export class PrismaSessionIndex implements SessionIndex {
  constructor(private readonly db: Db) {}

  async find(id: string): Promise<SsoSession | undefined> {
    const row = await this.db.ssoSession.findUnique({ where: { id }, include: withClients });
    return row ? toSession(row) : undefined;
  }

  async create(session: NewSession, audit: NewAuditEvent): Promise<void> {
    const { clients, amr, ...fields } = session;
    await this.db.$transaction([
      this.db.ssoSession.create({
        data: { ...fields, amr: JSON.stringify(amr), clients: { create: clients.map((c) => ({ ...c })) } },
      }),
      this.db.auditEvent.create({ data: auditRow(audit) }),
    ]);
  }

  async update(id: string, update: SessionUpdate, audit: NewAuditEvent | null, at: Date): Promise<void> {
    const { addClients, removeClients, amr, ...fields } = update;
    await this.db.$transaction(async (tx) => {
      await tx.ssoSession.update({ where: { id }, data: { ...fields, amr: JSON.stringify(amr) } });
      if (addClients.length) {
        await tx.ssoSessionClient.createMany({ data: addClients.map((c) => ({ ...c, sessionId: id })) });
      }
      if (removeClients.length) {
        const leaving = await tx.ssoSessionClient.findMany({ where: { sessionId: id, clientId: { in: [...removeClients] } } });
        const session = await tx.ssoSession.findUniqueOrThrow({ where: { id }, select: { userId: true } });
        await handOff(tx, leaving, { sessionId: id, userId: session.userId, reason: 'logged_out', at });
        await tx.ssoSessionClient.deleteMany({ where: { sessionId: id, clientId: { in: [...removeClients] } } });
      }
      if (audit) await tx.auditEvent.create({ data: auditRow(audit) });
    });
  }

  async listLive(userId: string, now: Date): Promise<SsoSession[]> {
    const rows = await this.db.ssoSession.findMany({
      where: { userId, endedAt: null, idleExpiresAt: { gt: now }, absoluteExpiresAt: { gt: now } },
      include: withClients,
      orderBy: [{ lastSeenAt: 'desc' }, { id: 'asc' }],
    });
    return rows.map(toSession);
  }

  async listExpired(now: Date, limit: number): Promise<SsoSession[]> {
    const rows = await this.db.ssoSession.findMany({
      where: { endedAt: null, OR: [{ idleExpiresAt: { lte: now } }, { absoluteExpiresAt: { lte: now } }] },
      include: withClients,
      take: limit,
      orderBy: { idleExpiresAt: 'asc' },
    });
    return rows.map(toSession);
  }

  async end(command: EndSession): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.ssoSession.updateMany({
        where: { id: command.sessionId, endedAt: null },
        data: { endedAt: command.at, endReason: command.reason },
      });
      if (count === 0) return false;
      const session = await tx.ssoSession.findUniqueOrThrow({ where: { id: command.sessionId }, select: { userId: true } });
      const clients = await tx.ssoSessionClient.findMany({ where: { sessionId: command.sessionId } });
      // oidc-provider's Session (by its uid) and every grant issued in it, with the tokens of those grants.
      await tx.oidcPayload.deleteMany({ where: { model: 'Session', uid: command.sessionId } });
      const grantIds = clients.map((c) => c.grantId).filter((g): g is string => g !== null);
      if (grantIds.length) {
        await tx.oidcPayload.deleteMany({ where: { grantId: { in: grantIds } } });
        await tx.oidcPayload.deleteMany({ where: { model: 'Grant', id: { in: grantIds.map(payloadKey) } } });
      }
      await handOff(tx, clients, { sessionId: command.sessionId, userId: session.userId, reason: command.reason, at: command.at });
      await tx.auditEvent.create({ data: auditRow(command.audit) });
      return true;
    });
  }
}

/** The hand-off point to back-channel logout: one notification per client, in the caller's transaction. */
async function handOff(
  tx: Tx,
  clients: { clientId: string; sid: string }[],
  context: { sessionId: string; userId: string; reason: string; at: Date },
): Promise<void> {
  if (clients.length === 0) return;
  await tx.logoutNotification.createMany({
    data: clients.map((c) => ({
      id: randomUUID(),
      sessionId: context.sessionId,
      userId: context.userId,
      clientId: c.clientId,
      sid: c.sid,
      reason: context.reason,
      createdAt: context.at,
    })),
  });
}
