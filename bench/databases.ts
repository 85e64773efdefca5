import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseTarget } from '../src/store/prisma/database.js';

export interface BenchDatabase extends DatabaseTarget {
  readonly label: string;
  drop(): Promise<void>;
}

/** A fresh SQLite file in a temporary directory. */
export function temporarySqlite(): BenchDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  return { label: 'SQLite', provider: 'sqlite', url: `file:${join(dir, 'bench.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh schema in the PostgreSQL database at `base`, dropped afterwards. */
export function temporaryPostgresSchema(base: string): BenchDatabase {
  const schema = `gh_bench_${randomBytes(6).toString('hex')}`;
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  return {
    label: 'PostgreSQL',
    provider: 'postgresql',
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
