// npm run bench: times the session operations an administrator uses on a user with many sessions, on a fresh
// temporary SQLite database, and on PostgreSQL too when BENCH_DATABASE_URL or TEST_DATABASE_URL is set.
import { temporaryPostgresSchema, temporarySqlite, type BenchDatabase } from './databases.js';
import { benchSessions, type BenchRow } from './sessions.js';

const SESSIONS = 1000;
const LIST_RUNS = 20;

function format(rows: BenchRow[]): string {
  const lines = [
    ['database', 'operation', 'sessions', 'ms', 'sessions/s'],
    ...rows.map((r) => [r.database, r.operation, String(r.sessions), r.ms.toFixed(1), Math.round((r.sessions / r.ms) * 1000).toLocaleString('en-US')]),
  ];
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  const numeric = new Set([2, 3, 4]);
  return lines.map((line) => line.map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const postgres = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
  const databases: (() => BenchDatabase)[] = [temporarySqlite, ...(postgres ? [() => temporaryPostgresSchema(postgres)] : [])];
  if (!postgres) process.stderr.write('PostgreSQL skipped: set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to include it.\n');
  const rows: BenchRow[] = [];
  for (const open of databases) {
    const database = open();
    process.stderr.write(`${database.label}: ${SESSIONS} sessions...\n`);
    try {
      rows.push(...(await benchSessions(database, { count: SESSIONS, listRuns: LIST_RUNS })));
    } finally {
      await database.drop();
    }
  }
  process.stdout.write(format(rows) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
