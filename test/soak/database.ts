import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrateDatabase } from '../../src/store/prisma/migrate.js';
import type { TestDatabase } from '../support/databases.js';

/** The soak's own database on the local server: created, migrated with Gatehouse's migrator, dropped at the end. */
export interface SoakDatabase extends TestDatabase {
  readonly name: string;
  /** A connection string for the same database through another host and port (the soak's cut-able proxy). */
  urlVia(port: number): string;
}

/** The run cannot start: said in one line, without a stack trace. */
export class SoakSetupError extends Error {}

const SERVER = process.env.SOAK_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(base: string, name: string, port?: number): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  if (port !== undefined) {
    url.hostname = '127.0.0.1';
    url.port = String(port);
  }
  return url.toString();
}

export async function createSoakDatabase(): Promise<SoakDatabase> {
  const name = `gatehouse_soak_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: SERVER });
  try {
    await admin.connect();
  } catch (error) {
    const where = new URL(SERVER);
    throw new SoakSetupError(`PostgreSQL at ${where.host} does not answer (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); start it, or point SOAK_POSTGRES_URL at a server where the soak may create a database`);
  }
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-soak-'));
  const url = withDatabase(SERVER, name);
  let dropped = false;
  const database: SoakDatabase = {
    provider: 'postgresql',
    name,
    url,
    dir,
    urlVia: (port) => withDatabase(SERVER, name, port),
    async drop() {
      if (dropped) return;
      dropped = true;
      rmSync(dir, { recursive: true, force: true });
      const client = new pg.Client({ connectionString: SERVER });
      await client.connect();
      try {
        // WITH (FORCE): a server process killed mid-transaction may leave a backend the server has not reaped yet.
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
  try {
    await migrateDatabase(database);
  } catch (error) {
    await database.drop();
    throw error;
  }
  return database;
}
