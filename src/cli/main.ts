import { loadConfig } from '../config/env.js';
import type { Container } from '../container.js';
import { createLogger, serializeError } from '../infra/logger.js';
import { migrateDatabase } from '../store/prisma/migrate.js';
import { auditCommand } from './commands/audit.js';
import { clientCommands } from './commands/clients.js';
import { logoutDeliveryCommands } from './commands/logout-deliveries.js';
import { sessionCommands } from './commands/sessions.js';
import { dbCommands, keyCommands } from './commands/system.js';
import { userCommands } from './commands/users.js';
import type { CliIo, Command } from './context.js';
import { EXIT, mapCliError, UsageError } from './errors.js';

// A group of commands (gatehouse users create ...), or a command of its own (gatehouse audit ...).
const GROUPS: Record<string, Record<string, Command> | Command> = {
  users: userCommands,
  clients: clientCommands,
  sessions: sessionCommands,
  'logout-deliveries': logoutDeliveryCommands,
  audit: auditCommand,
  db: dbCommands,
  keys: keyCommands,
};

export const HELP = `gatehouse — administer a Gatehouse identity provider

  gatehouse users create --email E --password-stdin [--name N]
  gatehouse users list | show EMAIL | set-password EMAIL --password-stdin | disable EMAIL | enable EMAIL
  gatehouse users reset-mfa EMAIL   (removes the second factor and recovery codes; ends the user's sessions)
  gatehouse users grant-admin EMAIL | revoke-admin EMAIL   (the admin console at /admin; takes effect at once)
  gatehouse clients create --name N --redirect-uri U [--redirect-uri U2 ...] [--post-logout-redirect-uri U ...]
                           [--backchannel-logout-uri U] [--no-backchannel-logout-session-required] [--grant-type authorization_code|refresh_token|client_credentials ...]
                           [--public] [--token-endpoint-auth-method client_secret_basic|client_secret_post|private_key_jwt|none]
                           [--jwks-uri U] [--first-party] [--admin] [--scope "openid profile email offline_access"]
                           [--id-token-signed-response-alg RS256|ES256] [--min-acr urn:gatehouse:loa:2]
  gatehouse clients list | show ID | update ID [flags as for create, plus --confidential, --no-first-party, --no-admin]
                           | rotate-secret ID | delete ID
  gatehouse sessions list --user E | revoke SESSION_ID | revoke-all --user E
  gatehouse logout-deliveries list [--session ID] [--client ID] [--state pending|delivered|failed] [--limit N]
  gatehouse logout-deliveries retry ID   (a pending or failed back-channel logout is sent again now)
  gatehouse audit --user E [--since 2026-01-31T12:00:00Z|30m|24h|7d] [--limit N]
  gatehouse db migrate
  gatehouse keys rotate | list

--user takes a user's email address or id. An --admin client obtains the admin scope with client_credentials and
calls the admin API (/admin/api) with that token.
Every command accepts --json. It uses the same database as the server (DATABASE_URL, DATA_DIR, GATEHOUSE_SECRET).
Exit codes: 0 done, 1 failed, 2 bad usage or invalid value, 3 not found, 4 already exists.
`;

/** Runs one CLI command; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let container: Container | undefined;
  let debug = false;
  try {
    const [group, action, ...args] = argv;
    if (!group || group === 'help' || group === '--help' || group === '-h') {
      io.stdout(HELP);
      return group ? EXIT.ok : EXIT.usage;
    }
    const commands = Object.hasOwn(GROUPS, group) ? GROUPS[group] : undefined;
    if (!commands) throw new UsageError(`unknown command "${group}"; run gatehouse --help`);
    const single = typeof commands === 'function';
    const command = single ? commands : action && Object.hasOwn(commands, action) ? commands[action] : undefined;
    if (!command) throw new UsageError(`unknown command "${[group, action].filter(Boolean).join(' ')}"; expected one of: ${Object.keys(commands).join(', ')}`);
    const config = loadConfig(env);
    debug = config.logLevel === 'debug' || config.logLevel === 'trace';
    await command({
      args: single && action !== undefined ? [action, ...args] : args,
      io,
      config,
      async container() {
        if (!container) {
          await migrateDatabase({ provider: config.databaseProvider, url: config.databaseUrl });
          // Loaded on first use: usage errors need no protocol library. Logs go to stderr so --json stays parseable.
          const { createContainer } = await import('../container.js');
          container = await createContainer(config, { logger: createLogger(config.logLevel, process.stderr) });
        }
        return container;
      },
    });
    return EXIT.ok;
  } catch (error) {
    const { code, message } = mapCliError(error);
    io.stderr(`gatehouse: ${message}\n`);
    // The same allow-list as the log's (a stack's first line repeats a message, which may quote what was given).
    if (code === EXIT.failure && debug) io.stderr(`${JSON.stringify(serializeError(error) ?? {})}\n`);
    return code;
  } finally {
    await container?.close();
  }
}
