import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import type { Config } from './config/env.js';
import { createContainer, type Container } from './container.js';
import type { Clock } from './domain/clock.js';
import { startPurgeJob, startSessionSweeper } from './domain/sessions/background-jobs.js';
import type { Logger } from './infra/logger.js';
import { migrateDatabase, type MigrationResult } from './store/prisma/migrate.js';

export interface RunningGatehouse {
  readonly server: Server;
  readonly container: Container;
  readonly migrations: MigrationResult;
  /** Stops accepting requests, finishes the ones in flight, stops jobs and closes the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** An HTTP server that is already listening (tests listen first to learn their port); otherwise one is created. */
  readonly server?: Server;
}

function listen(server: Server, config: Config): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startGatehouse(options: StartOptions): Promise<RunningGatehouse> {
  const { config, logger } = options;
  const migrations = await migrateDatabase({ provider: config.databaseProvider, url: config.databaseUrl });
  if (migrations.applied.length > 0) logger.info({ applied: migrations.applied }, 'database migrated');
  if (migrations.tightened.length > 0) logger.warn({ paths: migrations.tightened }, 'database files were readable by other users; made private to this user (0600, directory 0700)');
  const container = await createContainer(config, { logger, ensureInternalClients: true, ...(options.clock ? { clock: options.clock } : {}) });
  const app = createApp(container);
  const stopPurge = startPurgeJob({
    payloads: container.payloads,
    clock: container.clock,
    intervalSeconds: config.purgeIntervalSeconds,
    log: logger,
  });

  const stopSweep = startSessionSweeper({ sessions: container.sessions, intervalSeconds: config.sessions.sweepInterval, log: logger });
  // Back-channel logout: delivers what is queued (also what an earlier run or another process left) and what comes.
  container.logoutDelivery.start(config.backchannel.pollInterval * 1000);

  const server = options.server ?? createServer();
  server.on('request', app.callback());
  // Keep-alive connections must not hold a shutdown open for long.
  server.keepAliveTimeout = 5000;
  if (!server.listening) await listen(server, config);
  const address = server.address() as AddressInfo;
  logger.info({ issuer: config.issuer, port: address.port, database: config.databaseProvider }, 'gatehouse listening');

  let closing: Promise<void> | undefined;
  return {
    server,
    container,
    migrations,
    close() {
      closing ??= (async () => {
        stopPurge();
        stopSweep();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        // After the last request (which may have ended a session): attempts in flight are abandoned and their claims
        // given back, so the next start or another instance delivers them.
        await container.logoutDelivery.stop();
        await container.close();
      })();
      return closing;
    },
  };
}
