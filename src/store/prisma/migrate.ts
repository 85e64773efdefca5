import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { rethrowUnavailable } from './errors.js';
import { migrationsDir } from '../../config/paths.js';
import { postgresConnectionString, postgresSchema, sqliteFilePath, type DatabaseTarget } from './database.js';

// Applies the committed SQL migrations of prisma/<provider>/migrations in order, each once, recorded with a checksum
// in _gatehouse_migrations. Prisma's own `migrate deploy` cannot run offline against PostgreSQL, so this is the one
// way migrations are applied, for both databases. Concurrent starts are serialised by a database lock.

export interface Migration {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrationResult {
  readonly applied: string[];
  readonly alreadyApplied: number;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export function loadMigrations(provider: DatabaseTarget['provider'], dir = migrationsDir(provider)): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d{4}_[a-z0-9_]+$/.test(entry.name))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(`${dir}/${name}/migration.sql`, 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

function pendingAfter(migrations: Migration[], applied: Map<string, string>): Migration[] {
  for (const [name, checksum] of applied) {
    const known = migrations.find((m) => m.name === name);
    if (!known) throw new MigrationError(`The database has migration ${name}, which this version of Gatehouse does not know (a newer version migrated it).`);
    if (known.checksum !== checksum) throw new MigrationError(`Migration ${name} was changed after it was applied; restore the original file.`);
  }
  return migrations.filter((m) => !applied.has(m.name));
}

const LEDGER = '_gatehouse_migrations';

function migrateSqlite(url: string, migrations: Migration[]): MigrationResult {
  const file = sqliteFilePath(url);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { timeout: 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE IF NOT EXISTS "${LEDGER}" (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const run = db.transaction(() => {
      const rows = db.prepare(`SELECT name, checksum FROM "${LEDGER}"`).all() as { name: string; checksum: string }[];
      const pending = pendingAfter(migrations, new Map(rows.map((r) => [r.name, r.checksum])));
      const record = db.prepare(`INSERT INTO "${LEDGER}" (name, checksum, applied_at) VALUES (?, ?, ?)`);
      for (const migration of pending) {
        db.exec(migration.sql);
        record.run(migration.name, migration.checksum, new Date().toISOString());
      }
      return { applied: pending.map((m) => m.name), alreadyApplied: rows.length };
    });
    return run.immediate();
  } finally {
    db.close();
  }
}

// An arbitrary constant: the advisory lock that serialises migrations across Gatehouse processes.
const MIGRATION_LOCK_KEY = 720_547_113;

async function migratePostgres(url: string, migrations: Migration[]): Promise<MigrationResult> {
  const schema = postgresSchema(url);
  const client = new pg.Client({ connectionString: postgresConnectionString(url) });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(schema)}`);
    await client.query(`SET LOCAL search_path TO ${pg.escapeIdentifier(schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${LEDGER}" (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`);
    const { rows } = await client.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM "${LEDGER}"`);
    const pending = pendingAfter(migrations, new Map(rows.map((r) => [r.name, r.checksum])));
    for (const migration of pending) {
      await client.query(migration.sql);
      await client.query(`INSERT INTO "${LEDGER}" (name, checksum, applied_at) VALUES ($1, $2, now())`, [migration.name, migration.checksum]);
    }
    await client.query('COMMIT');
    return { applied: pending.map((m) => m.name), alreadyApplied: rows.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

/** Applies the pending migrations; a database out of reach is the domain's UnavailableError (start-up and the CLI say so). */
export async function migrateDatabase(target: DatabaseTarget, migrations = loadMigrations(target.provider)): Promise<MigrationResult> {
  try {
    return target.provider === 'postgresql' ? await migratePostgres(target.url, migrations) : migrateSqlite(target.url, migrations);
  } catch (error) {
    return rethrowUnavailable(error);
  }
}
