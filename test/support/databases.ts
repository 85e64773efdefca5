import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseTarget } from '../../src/store/prisma/database.js';
import { variantsRequiredInCi } from './required-in-ci.js';

export type DatabaseKind = DatabaseTarget['provider'];

export const MISSING_DATABASE_IN_CI =
  'TEST_DATABASE_URL is not set; CI must run every database test on PostgreSQL too (.ci/run sets it, e.g. postgres://postgres@127.0.0.1:5432/test).';

/** SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (required in CI). */
export function databaseKinds(env: NodeJS.ProcessEnv = process.env): DatabaseKind[] {
  return variantsRequiredInCi<DatabaseKind>(env, {
    variable: 'TEST_DATABASE_URL',
    withoutService: ['sqlite'],
    withService: ['sqlite', 'postgresql'],
    missingInCi: MISSING_DATABASE_IN_CI,
  });
}

export interface TestDatabase extends DatabaseTarget {
  /** A scratch directory for this database's owner (DATA_DIR). */
  readonly dir: string;
  drop(): Promise<void>;
}

/** A fresh, empty database: a new SQLite file, or a new schema in the TEST_DATABASE_URL database. */
export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  if (kind === 'sqlite') {
    return { provider: 'sqlite', url: `file:${join(dir, 'gatehouse.db')}`, dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `gh_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  return {
    provider: 'postgresql',
    url: url.toString(),
    dir,
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
