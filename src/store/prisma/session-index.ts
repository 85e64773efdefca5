import { randomUUID } from 'node:crypto';
import type { NewAuditEvent } from '../../domain/audit/audit.js';
import type { EndSession, EndSessions, NewSession, SessionActivity, SessionEndReason, SessionIndex, SessionLiveness, SessionUpdate, SsoSession } from '../../domain/sessions/session.js';
import type { Db } from './database.js';
import { auditRow, type Tx } from './audit-log.js';
import { takesBackchannelLogout } from './client-repository.js';
import { payloadKey } from './payload-store.js';

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
  passwordAt: Date | null;
  secondFactorAt: Date | null;
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

// Sessions ended per transaction by endMany: bounds how long a transaction holds its locks (SQLite's one writer) and
// the size of its IN lists, while a thousand sessions still take a handful of transactions instead of a thousand.
const END_BATCH = 200;

/** The session index and the transactional end of a session (grants, oidc Session, logout hand-off, audit). */
export class PrismaSessionIndex implements SessionIndex {
  /** `onHandOff` runs after a transaction that may have queued logout notifications has committed (wakes the worker). */
  constructor(private readonly db: Db, private readonly options: { readonly onHandOff?: () => void } = {}) {}

  private handedOff(): void {
    this.options.onHandOff?.();
  }

  async find(id: string): Promise<SsoSession | undefined> {
    const row = await this.db.ssoSession.findUnique({ where: { id }, include: withClients });
    return row ? toSession(row) : undefined;
  }

  async findLiveness(id: string): Promise<SessionLiveness | undefined> {
    const row = await this.db.ssoSession.findUnique({
      where: { id },
      select: { id: true, userId: true, endedAt: true, idleExpiresAt: true, absoluteExpiresAt: true, lastSeenAt: true, remember: true },
    });
    return row ?? undefined;
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

  async update(id: string, update: SessionUpdate, audit: NewAuditEvent | null, at: Date): Promise<boolean> {
    const { addClients, removeClients, amr, ...fields } = update;
    const updated = await this.db.$transaction(async (tx) => {
      // Only a session that has not ended takes the update. The caller read the session before this transaction;
      // had it ended since, a client joining now would be attached to an ended session, and no end would ever
      // queue its back-channel logout. On PostgreSQL this waits for an end in progress and sees its endedAt.
      const { count } = await tx.ssoSession.updateMany({ where: { id, endedAt: null }, data: { ...fields, amr: JSON.stringify(amr) } });
      if (count === 0) return false;
      if (addClients.length) {
        await tx.ssoSessionClient.createMany({ data: addClients.map((c) => ({ ...c, sessionId: id })) });
      }
      if (removeClients.length) {
        const leaving = await tx.ssoSessionClient.findMany({ where: { sessionId: id, clientId: { in: [...removeClients] } } });
        const session = await tx.ssoSession.findUniqueOrThrow({ where: { id }, select: { userId: true } });
        await handOff(tx, leaving.map((c) => ({ ...c, userId: session.userId })), { reason: 'logged_out', at });
        await tx.ssoSessionClient.deleteMany({ where: { sessionId: id, clientId: { in: [...removeClients] } } });
      }
      if (audit) await tx.auditEvent.create({ data: auditRow(audit) });
      return true;
    });
    if (updated && removeClients.length) this.handedOff();
    return updated;
  }

  async recordActivity(id: string, activity: SessionActivity): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.ssoSession.updateMany({ where: { id, endedAt: null }, data: activity });
      if (count === 0) return false;
      // The row's expiry is the stored Session's life (the adapter reads it as the Session's exp).
      await tx.oidcPayload.updateMany({ where: { model: 'Session', uid: id }, data: { expiresAt: activity.idleExpiresAt } });
      return true;
    });
  }

  async recordCheck(id: string, check: { readonly passwordAt?: Date; readonly secondFactorAt?: Date }, audit: NewAuditEvent): Promise<void> {
    await this.db.$transaction(async (tx) => {
      // Only a session that has not ended takes the check (an ended one must stay as it ended).
      const { count } = await tx.ssoSession.updateMany({ where: { id, endedAt: null }, data: check });
      if (count > 0) await tx.auditEvent.create({ data: auditRow(audit) });
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
    const ended = await this.db.$transaction((tx) => endSessions(tx, [{ sessionId: command.sessionId, audit: command.audit }], command.reason, command.at));
    if (ended.length) this.handedOff();
    return ended.length === 1;
  }

  async endMany(command: EndSessions): Promise<string[]> {
    const ended: string[] = [];
    for (let offset = 0; offset < command.sessions.length; offset += END_BATCH) {
      const batch = command.sessions.slice(offset, offset + END_BATCH);
      ended.push(...(await this.db.$transaction((tx) => endSessions(tx, batch, command.reason, command.at))));
    }
    if (ended.length) this.handedOff();
    return ended;
  }
}

/**
 * Ends, in the caller's transaction, those of these sessions that have not ended yet: marks them ended, deletes
 * oidc-provider's Session of each (by its uid) and every grant issued in them with the tokens of those grants, hands
 * each participating client to back-channel logout and appends each session's audit event. Returns the ids it ended.
 */
async function endSessions(tx: Tx, sessions: EndSessions['sessions'], reason: SessionEndReason, at: Date): Promise<string[]> {
  if (sessions.length === 0) return [];
  // The conditional update decides which sessions this transaction ends: one that ended concurrently is not returned.
  const ended = await tx.ssoSession.updateManyAndReturn({
    where: { id: { in: sessions.map((s) => s.sessionId) }, endedAt: null },
    data: { endedAt: at, endReason: reason },
    select: { id: true, userId: true },
  });
  if (ended.length === 0) return [];
  const ids = ended.map((s) => s.id);
  const userOf = new Map(ended.map((s) => [s.id, s.userId]));
  const clients = await tx.ssoSessionClient.findMany({ where: { sessionId: { in: ids } }, orderBy: [{ sessionId: 'asc' }, { firstSeenAt: 'asc' }] });
  await tx.oidcPayload.deleteMany({ where: { model: 'Session', uid: { in: ids } } });
  const grantIds = clients.map((c) => c.grantId).filter((g): g is string => g !== null);
  if (grantIds.length) {
    await tx.oidcPayload.deleteMany({ where: { grantId: { in: grantIds } } });
    await tx.oidcPayload.deleteMany({ where: { model: 'Grant', id: { in: grantIds.map(payloadKey) } } });
  }
  await handOff(tx, clients.map((c) => ({ ...c, userId: userOf.get(c.sessionId)! })), { reason, at });
  const endedIds = new Set(ids);
  const endedHere = [...new Map(sessions.map((s) => [s.sessionId, s])).values()].filter((s) => endedIds.has(s.sessionId));
  await tx.auditEvent.createMany({ data: endedHere.map((s) => auditRow(s.audit)) });
  return endedHere.map((s) => s.sessionId);
}

/**
 * The hand-off point to back-channel logout, in the caller's transaction: one notification (outbox row) per client of
 * a session that registered a back-channel logout URI; the worker delivers them after the commit. Clients without a
 * URI cannot be told, so nothing is queued for them.
 */
async function handOff(
  tx: Tx,
  clients: { sessionId: string; userId: string; clientId: string; sid: string }[],
  context: { reason: string; at: Date },
): Promise<void> {
  if (clients.length === 0) return;
  const registered = await tx.client.findMany({ where: { clientId: { in: [...new Set(clients.map((c) => c.clientId))] } }, select: { clientId: true, metadata: true } });
  const notifiable = new Set(registered.filter((r) => takesBackchannelLogout(r.metadata)).map((r) => r.clientId));
  const owed = clients.filter((c) => notifiable.has(c.clientId));
  if (owed.length === 0) return;
  await tx.logoutNotification.createMany({
    data: owed.map((c) => ({
      id: randomUUID(),
      sessionId: c.sessionId,
      userId: c.userId,
      clientId: c.clientId,
      sid: c.sid,
      reason: context.reason,
      createdAt: context.at,
      nextAttemptAt: context.at,
    })),
  });
}
