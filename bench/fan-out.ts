import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config/env.js';
import { createLogger } from '../src/infra/logger.js';
import { startGatehouse } from '../src/server.js';
import { createDb } from '../src/store/prisma/database.js';
import { PrismaSessionIndex } from '../src/store/prisma/session-index.js';
import { registerBenchClients } from './clients.js';
import type { BenchDatabase } from './databases.js';

export interface FanOutRow {
  readonly database: string;
  readonly clients: number;
  /** From the call that ends the session to the last logout token received. */
  readonly ms: number;
}

const MINUTE = 60_000;

/**
 * A real Gatehouse (server, worker, signing keys) on a fresh database, one SSO session in which `clients` applications
 * took part, each with its back-channel logout URI on one local HTTP receiver. Times the end of the session to the
 * last delivery, with the default concurrency and timeout.
 */
export async function benchFanOut(database: BenchDatabase, clients: number): Promise<FanOutRow> {
  const received = new Map<string, number>();
  let allReceived: () => void = () => {};
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  const receiver: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.set(req.url ?? '', performance.now());
      res.statusCode = 200;
      res.end();
      if (received.size === clients) allReceived();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;

  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    GATEHOUSE_SECRET: randomBytes(48).toString('base64url'),
    LOG_LEVEL: 'warn',
  });
  const running = await startGatehouse({ config, logger: createLogger(config.logLevel, new Writable({ write: (_c, _e, cb) => cb() })) });
  const db = createDb(database);
  try {
    const ids = Array.from({ length: clients }, (_, i) => `bench-app-${i}`);
    await registerBenchClients(db, ids.map((clientId) => ({ clientId, backchannelLogoutUri: `http://127.0.0.1:${port}/${clientId}` })));
    const userId = randomUUID();
    await db.user.create({ data: { id: userId, email: 'fan-out@example.com', passwordHash: 'not-a-real-hash' } });
    const now = new Date();
    const sessionId = randomUUID();
    await new PrismaSessionIndex(db).create(
      {
        id: sessionId, userId, createdAt: now, lastSeenAt: now, idleExpiresAt: new Date(now.getTime() + 30 * MINUTE), absoluteExpiresAt: new Date(now.getTime() + 720 * MINUTE),
        ipCreated: null, ipLastSeen: null, userAgent: null, deviceLabel: 'Bench', amr: ['pwd'], acr: null, authTime: now, passwordAt: now, secondFactorAt: null, remember: false,
        clients: ids.map((clientId) => ({ clientId, sid: randomUUID(), grantId: null, firstSeenAt: now })),
      },
      { at: now, type: 'session.created', actor: { type: 'user', id: userId }, userId, sessionId, clientId: null, details: null },
    );

    const started = performance.now();
    await running.container.sessions.revokeByAdmin(sessionId, { type: 'admin', id: 'bench' });
    await done;
    const ms = Math.max(...received.values()) - started;
    await running.container.logoutDelivery.drain();
    const delivered = await db.logoutNotification.count({ where: { sessionId, state: 'delivered' } });
    if (delivered !== clients || received.size !== clients) throw new Error(`fan-out: ${delivered} delivered, ${received.size} received of ${clients}`);
    return { database: database.label, clients, ms };
  } finally {
    await db.$disconnect();
    await running.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
}
