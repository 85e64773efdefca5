import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/env.js';
import type { Clock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/infra/logger.js';
import { startGatehouse, type RunningGatehouse } from '../../src/server.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';

export interface TestGatehouse extends RunningGatehouse {
  readonly issuer: string;
  readonly database: TestDatabase;
  /** Every log line written so far, parsed. */
  readonly logLines: Record<string, unknown>[];
  readonly rawLog: () => string;
  stop(): Promise<void>;
}

export interface TestGatehouseOptions {
  readonly env?: Record<string, string>;
  readonly clock?: Clock;
  /** Reuse a database (restarts); otherwise a fresh one is created and dropped at stop(). */
  readonly database?: TestDatabase;
  readonly secret?: string;
}

/** A real Gatehouse on an ephemeral 127.0.0.1 port with its own fresh database. */
export async function startTestGatehouse(kind: DatabaseKind, options: TestGatehouseOptions = {}): Promise<TestGatehouse> {
  const database = options.database ?? (await createTestDatabase(kind));
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    ISSUER: issuer,
    DATABASE_URL: database.url,
    DATA_DIR: database.dir,
    GATEHOUSE_SECRET: options.secret ?? 'test-secret-' + randomBytes(24).toString('base64url'),
    LOG_LEVEL: 'info',
    ...options.env,
  });
  let raw = '';
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      raw += chunk.toString();
      callback();
    },
  });
  const running = await startGatehouse({ config, logger: createLogger(config.logLevel, sink), server, ...(options.clock ? { clock: options.clock } : {}) });
  const owned = !options.database;
  return {
    ...running,
    issuer,
    database,
    get logLines() {
      return raw.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    rawLog: () => raw,
    async stop() {
      await running.close();
      if (owned) await database.drop();
    },
  };
}
