import { execFileSync } from 'node:child_process';
import { packageRoot } from '../../src/config/paths.js';
import { postgresConnectionString, postgresSchema, sqliteFilePath, type DatabaseTarget, type Db } from '../../src/store/prisma/database.js';
import type { DatabaseKind } from './databases.js';

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
