import * as jose from 'jose';
import pg from 'pg';
import { verifyLogoutToken } from '../support/logout-receiver.js';
import type { AuditRecord, ClientRecord, NotificationRecord, ReceivedToken, SessionRecord } from './checker.js';
import type { SoakApp } from './setup.js';

/** What the database holds at the end, as the checker reads it (plain SQL: no Gatehouse code between it and the rows). */
export interface DatabaseState {
  readonly sessions: SessionRecord[];
  readonly notifications: NotificationRecord[];
  readonly audit: AuditRecord[];
  readonly signedInPayloadUids: string[];
}

const ms = (value: Date | null) => (value === null ? null : value.getTime());

export async function readDatabase(url: string): Promise<DatabaseState> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const sessions = await client.query<{ id: string; userId: string; endedAt: Date | null; endReason: string | null }>('SELECT id, "userId", "endedAt", "endReason" FROM "SsoSession"');
    const participants = await client.query<{ sessionId: string; clientId: string; sid: string }>('SELECT "sessionId", "clientId", sid FROM "SsoSessionClient"');
    const notifications = await client.query('SELECT id, "sessionId", "userId", "clientId", sid, reason, state, "createdAt", attempts, "deliveredAt", "failedAt", "lastError" FROM "LogoutNotification"');
    const audit = await client.query<{ type: string; sessionId: string | null; details: string | null }>(`SELECT type, "sessionId", details FROM "AuditEvent" WHERE type LIKE 'session.%' OR type = 'logout.delivery_failed'`);
    const payloads = await client.query<{ uid: string | null; payload: string }>(`SELECT uid, payload FROM "OidcPayload" WHERE model = 'Session'`);
    const clientsOf = new Map<string, { clientId: string; sid: string }[]>();
    for (const p of participants.rows) clientsOf.set(p.sessionId, [...(clientsOf.get(p.sessionId) ?? []), { clientId: p.clientId, sid: p.sid }]);
    return {
      sessions: sessions.rows.map((s) => ({ id: s.id, userId: s.userId, endedAt: ms(s.endedAt), endReason: s.endReason, clients: clientsOf.get(s.id) ?? [] })),
      notifications: notifications.rows.map((n: Record<string, unknown>) => ({
        id: n.id as string, sessionId: n.sessionId as string, userId: n.userId as string, clientId: n.clientId as string, sid: n.sid as string,
        reason: n.reason as string, state: n.state as string, createdAt: (n.createdAt as Date).getTime(), attempts: n.attempts as number,
        deliveredAt: ms(n.deliveredAt as Date | null), failedAt: ms(n.failedAt as Date | null), lastError: n.lastError as string | null,
      })),
      audit: audit.rows.map((e) => ({ type: e.type, sessionId: e.sessionId, notificationId: e.details ? ((JSON.parse(e.details) as { notification_id?: string }).notification_id ?? null) : null })),
      signedInPayloadUids: payloads.rows.filter((p) => p.uid && (JSON.parse(p.payload) as { accountId?: string }).accountId).map((p) => p.uid!),
    };
  } finally {
    await client.end();
  }
}

/** Pending notifications now (the drain waits for none). */
export async function countPending(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query(`SELECT count(*) AS n FROM "LogoutNotification" WHERE state = 'pending'`)).rows[0].n);
  } finally {
    await client.end();
  }
}

export function clientRecords(apps: readonly SoakApp[]): ClientRecord[] {
  return apps.map((a) => ({ clientId: a.clientId, name: a.name, backchannel: a.receiver !== undefined, sessionRequired: a.sessionRequired }));
}

/** Every token every receiver got, verified as a relying party must (against the issuer's JWKS, fetched once). */
export async function receivedTokens(apps: readonly SoakApp[], issuer: string): Promise<ReceivedToken[]> {
  const jwks = jose.createLocalJWKSet((await (await fetch(`${issuer}/jwks`)).json()) as jose.JSONWebKeySet);
  const tokens: ReceivedToken[] = [];
  for (const app of apps) {
    for (const received of app.receiver?.received ?? []) {
      // As the specification has it: a form POST without cookies (a cookie would be an ambient credential).
      const form = received.method === 'POST' && received.contentType === 'application/x-www-form-urlencoded' && received.cookie === undefined;
      if (!form) {
        tokens.push({ clientId: app.clientId, answered: received.answered, invalid: `${received.method} ${received.contentType}${received.cookie ? ' with a cookie' : ''}` });
        continue;
      }
      try {
        const claims = await verifyLogoutToken(received.token, { issuer, clientId: app.clientId, alg: app.alg, at: received.at }, jwks);
        tokens.push({ clientId: app.clientId, answered: received.answered, claims: { jti: claims.jti, ...(claims.sid ? { sid: claims.sid } : {}), ...(claims.sub ? { sub: claims.sub } : {}) } });
      } catch (error) {
        tokens.push({ clientId: app.clientId, answered: received.answered, invalid: (error as Error).message });
      }
    }
  }
  return tokens;
}
