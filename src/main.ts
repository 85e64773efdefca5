import { ConfigError, loadConfig } from './config/env.js';
import { AppError } from './domain/errors.js';
import { createLogger } from './infra/logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`gatehouse: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let running: Awaited<ReturnType<typeof import('./server.js')['startGatehouse']>> | undefined;
  let stopping = false;
  // Installed before start-up, so a SIGTERM that arrives while starting (or right after) still shuts down cleanly.
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    (running ? running.close() : Promise.resolve()).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  try {
    // Loaded only after the configuration is valid, so a configuration error is the only thing printed.
    const { startGatehouse } = await import('./server.js');
    running = await startGatehouse({ config, logger });
  } catch (error) {
    const message = error instanceof AppError || error instanceof ConfigError || (error as Error).name === 'MigrationError'
      ? (error as Error).message
      : 'start-up failed; see the log line above';
    logger.fatal({ err: error }, 'start-up failed');
    process.stderr.write(`gatehouse: ${message}\n`);
    process.exit(1);
  }
  if (config.trustProxy === false && new URL(config.issuer).protocol === 'https:') {
    logger.warn('ISSUER is https but TRUST_PROXY is off: Gatehouse speaks plain HTTP, so behind a TLS-terminating proxy set TRUST_PROXY=true or secure cookies cannot be set');
  }

  if (config.nodeEnv !== 'production') {
    const { secret, createdKeys } = running.container;
    const lines = [
      '',
      `  Gatehouse is running at ${config.issuer}`,
      `  Discovery:  ${config.issuer}/.well-known/openid-configuration`,
      `  Database:   ${config.databaseProvider === 'sqlite' ? config.databaseUrl.replace(/^file:/, '') : 'PostgreSQL'}`,
      ...(secret.createdNow ? [`  A development secret was generated in ${config.dataDir}/secret; keep it with the database.`] : []),
      ...(createdKeys.length ? ['  Signing keys (ES256, RS256) were generated and stored encrypted in the database.'] : []),
      '',
      '  Next steps:',
      '    echo "a-long-password" | npx gatehouse users create --email you@example.com --password-stdin',
      '    npx gatehouse clients create --name "My app" --redirect-uri http://localhost:8080/callback',
      '    See README.md, "Five-minute tour".',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }

}

await main();
