import { execFileSync } from 'node:child_process';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import Database from 'better-sqlite3';
import { packageRoot } from '../../src/config/paths.js';
import { postgresConnectionString, postgresSchema, sqliteFilePath, type DatabaseTarget, type Db } from '../../src/store/prisma/database.js';
import type { DatabaseKind, TestDatabase } from './databases.js';

/**
 * Makes every insert into a table fail inside the database (a trigger raising an error), as a real failure in the
 * middle of a transaction would: the logout outbox while a session ends, the audit log while a change is saved.
 * Returns the function that repairs it.
 */
export async function breakInserts(db: Db, kind: DatabaseKind, table: 'LogoutNotification' | 'AuditEvent'): Promise<() => Promise<void>> {
  const trigger = `gh_test_${table.toLowerCase()}_unavailable`;
  if (kind === 'sqlite') {
    await db.$executeRawUnsafe(`CREATE TRIGGER "${trigger}" BEFORE INSERT ON "${table}" BEGIN SELECT RAISE(ABORT, '${table} is unavailable'); END`);
    return async () => {
      await db.$executeRawUnsafe(`DROP TRIGGER "${trigger}"`);
    };
  }
  await db.$executeRawUnsafe(`CREATE FUNCTION "${trigger}"() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '${table} is unavailable'; END $$ LANGUAGE plpgsql`);
  await db.$executeRawUnsafe(`CREATE TRIGGER "${trigger}" BEFORE INSERT ON "${table}" FOR EACH ROW EXECUTE FUNCTION "${trigger}"()`);
  return async () => {
    await db.$executeRawUnsafe(`DROP TRIGGER "${trigger}" ON "${table}"`);
    await db.$executeRawUnsafe(`DROP FUNCTION "${trigger}"()`);
  };
}

/**
 * PostgreSQL only: makes every new row of a table violate a check constraint, so an insert fails the way a schema
 * mistake would, with PostgreSQL's own detail "Failing row contains (...)": every value of the row, the request's
 * input among them. Returns the function that repairs it.
 */
export async function refuseRowsWithDetail(db: Db, table: 'OidcPayload' | 'User'): Promise<() => Promise<void>> {
  const constraint = `gh_test_${table.toLowerCase()}_refused`;
  await db.$executeRawUnsafe(`ALTER TABLE "${table}" ADD CONSTRAINT "${constraint}" CHECK (false) NOT VALID`);
  return async () => {
    await db.$executeRawUnsafe(`ALTER TABLE "${table}" DROP CONSTRAINT "${constraint}"`);
  };
}

// Runs in a child process: prints how many outbox rows of a session its own, new connection sees.
const COUNT_SCRIPT = `
const [provider, location, schema, sessionId] = process.argv.slice(1);
const sql = 'SELECT count(*) AS n FROM "LogoutNotification" WHERE "sessionId" = $1';
if (provider === 'sqlite') {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(location, { readonly: true, timeout: 5000 });
  console.log(db.prepare(sql.replace('$1', '?')).get(sessionId).n);
  db.close();
} else {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: location, options: '-c search_path="' + schema + '"' });
  await client.connect();
  console.log((await client.query(sql, [sessionId])).rows[0].n);
  await client.end();
}
`;

/**
 * How many logout notifications of a session are committed, as another connection sees them. The count is read
 * synchronously in a child process, so this process (and any transaction it has open) stands still meanwhile: called
 * from inside a transaction, it sees none of that transaction's rows.
 */
export function committedNotifications(database: DatabaseTarget, sessionId: string): number {
  const args = database.provider === 'sqlite'
    ? ['sqlite', sqliteFilePath(database.url), '', sessionId]
    : ['postgresql', postgresConnectionString(database.url), postgresSchema(database.url), sessionId];
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', COUNT_SCRIPT, ...args], { cwd: packageRoot, encoding: 'utf8', timeout: 20_000 });
  return Number(output.trim());
}

/** A TCP proxy between Gatehouse and PostgreSQL that a test cuts (every connection dropped, new ones refused) and restores. */
export interface DatabaseOutage {
  /** The database as seen through the proxy: give it to the Gatehouse under test. */
  readonly database: TestDatabase;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function proxiedDatabase(database: TestDatabase): Promise<DatabaseOutage> {
  const upstream = new URL(database.url);
  const sockets = new Set<Socket>();
  let down = false;
  const proxy = createNetServer((client) => {
    if (down) return void client.destroy();
    const server = connect(Number(upstream.port || 5432), upstream.hostname);
    for (const [socket, other] of [[client, server], [server, client]] as const) {
      sockets.add(socket);
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        other.destroy();
      });
      socket.pipe(other);
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const url = new URL(database.url);
  url.hostname = '127.0.0.1';
  url.port = String((proxy.address() as AddressInfo).port);
  const cut = () => {
    down = true;
    for (const socket of sockets) socket.destroy();
  };
  return {
    database: { ...database, url: url.toString() },
    cut,
    restore() {
      down = false;
    },
    async close() {
      cut();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

/**
 * Holds SQLite's write lock from another connection (as a long write of another process would) until released:
 * Gatehouse's writes wait out their busy timeout, then fail with SQLITE_BUSY.
 */
export function holdSqliteWriteLock(database: DatabaseTarget): { release(): void } {
  const connection = new Database(sqliteFilePath(database.url));
  connection.exec('BEGIN IMMEDIATE');
  return {
    release() {
      connection.exec('ROLLBACK');
      connection.close();
    },
  };
}
