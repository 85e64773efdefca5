import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../src/domain/clock.js';
import { SessionService } from '../src/domain/sessions/session-service.js';
import { deviceLabel } from '../src/infra/device-label.js';
import { PrismaAuditLog } from '../src/store/prisma/audit-log.js';
import { createDb, type Db } from '../src/store/prisma/database.js';
import { migrateDatabase } from '../src/store/prisma/migrate.js';
import { payloadKey } from '../src/store/prisma/payload-store.js';
import { PrismaSessionIndex } from '../src/store/prisma/session-index.js';
import { registerBenchClients } from './clients.js';
import type { BenchDatabase } from './databases.js';

export interface BenchRow {
  readonly database: string;
  readonly operation: string;
  readonly sessions: number;
  readonly ms: number;
}

const MINUTE = 60_000;
const CLIENTS = ['bench-notebook', 'bench-calendar'];
const USER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function time<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await work();
  return { ms: performance.now() - started, result };
}

/**
 * One user with `count` live sessions, each with two clients, as Gatehouse would have written them: the index rows,
 * oidc-provider's Session (by uid), each client's Grant and a refresh token of that grant.
 */
async function seed(db: Db, userId: string, count: number): Promise<void> {
  const now = Date.now();
  for (let offset = 0; offset < count; offset += 250) {
    const batch = Array.from({ length: Math.min(250, count - offset) }, (_, i) => {
      const created = new Date(now - (offset + i) * 1000);
      const id = randomUUID();
      return {
        session: {
          id,
          userId,
          createdAt: created,
          lastSeenAt: created,
          idleExpiresAt: new Date(now + 30 * MINUTE),
          absoluteExpiresAt: new Date(now + 12 * 60 * MINUTE),
          ipCreated: '192.0.2.10',
          ipLastSeen: '192.0.2.10',
          userAgent: USER_AGENT,
          deviceLabel: deviceLabel(USER_AGENT),
          amr: JSON.stringify(['pwd']),
          acr: 'urn:gatehouse:loa:1',
          authTime: created,
          remember: false,
        },
        clients: CLIENTS.map((clientId) => ({ sessionId: id, clientId, sid: randomUUID(), grantId: randomUUID(), firstSeenAt: created })),
      };
    });
    const expiresAt = new Date(now + 14 * 24 * 60 * MINUTE);
    await db.$transaction([
      db.ssoSession.createMany({ data: batch.map((b) => b.session) }),
      db.ssoSessionClient.createMany({ data: batch.flatMap((b) => b.clients) }),
      db.oidcPayload.createMany({
        data: batch.flatMap((b) => [
          { model: 'Session', id: payloadKey(randomUUID()), uid: b.session.id, payload: JSON.stringify({ uid: b.session.id, accountId: userId }), expiresAt },
          ...b.clients.flatMap((c) => [
            { model: 'Grant', id: payloadKey(c.grantId), payload: JSON.stringify({ accountId: userId, clientId: c.clientId }), expiresAt },
            { model: 'RefreshToken', id: payloadKey(randomUUID()), grantId: c.grantId, payload: JSON.stringify({ grantId: c.grantId }), expiresAt },
          ]),
        ]),
      }),
    ]);
  }
}

/** Lists and then revokes `count` live sessions of one user on a fresh database; checks that every effect happened. */
export async function benchSessions(database: BenchDatabase, options: { count: number; listRuns: number }): Promise<BenchRow[]> {
  await migrateDatabase(database);
  const db = createDb(database);
  try {
    const audit = new PrismaAuditLog(db);
    const sessions = new SessionService({
      index: new PrismaSessionIndex(db),
      audit,
      clock: systemClock,
      deviceLabel,
      policy: { idleTimeoutMs: 30 * MINUTE, absoluteLifetimeMs: 720 * MINUTE, rememberIdleTimeoutMs: 7 * 1440 * MINUTE, rememberAbsoluteLifetimeMs: 30 * 1440 * MINUTE, limit: 0, limitPolicy: 'evict-oldest', reauthenticationMaxAgeMs: 5 * MINUTE },
    });
    const userId = randomUUID();
    await db.user.create({ data: { id: userId, email: 'bench@example.com', passwordHash: 'not-a-real-hash' } });
    // Nothing listens there: this bench measures the ending, not the delivery (no worker runs here).
    await registerBenchClients(db, CLIENTS.map((clientId) => ({ clientId, backchannelLogoutUri: `http://127.0.0.1:9/${clientId}` })));
    await seed(db, userId, options.count);

    await sessions.listLive(userId); // warm-up: connection, prepared statements
    const runs: number[] = [];
    for (let i = 0; i < options.listRuns; i += 1) {
      const { ms, result } = await time(() => sessions.listLive(userId));
      if (result.length !== options.count || result.some((s) => s.clients.length !== CLIENTS.length)) throw new Error(`listLive returned ${result.length} sessions`);
      runs.push(ms);
    }

    const revoke = await time(() => sessions.endAllForUser(userId, 'revoked_by_admin', { type: 'admin', id: 'bench' }));
    if (revoke.result !== options.count) throw new Error(`endAllForUser ended ${revoke.result} of ${options.count}`);

    // Every effect of every end, not only the count.
    const [live, notifications, audits, payloads] = await Promise.all([
      sessions.listLive(userId),
      db.logoutNotification.count({ where: { userId, reason: 'revoked_by_admin' } }),
      db.auditEvent.count({ where: { userId, type: 'session.revoked_by_admin' } }),
      db.oidcPayload.count(),
    ]);
    const expected = { live: 0, notifications: options.count * CLIENTS.length, audits: options.count, payloads: 0 };
    const actual = { live: live.length, notifications, audits, payloads };
    if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`after endAllForUser: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);

    return [
      { database: database.label, operation: `listLive (median of ${options.listRuns})`, sessions: options.count, ms: median(runs) },
      { database: database.label, operation: 'endAllForUser', sessions: options.count, ms: revoke.ms },
    ];
  } finally {
    await db.$disconnect();
  }
}
