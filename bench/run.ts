// npm run bench: times the session operations an administrator uses on a user with many sessions, and the
// back-channel logout fan-out of one session with 50 clients, on fresh temporary SQLite databases, and on PostgreSQL
// too when BENCH_DATABASE_URL or TEST_DATABASE_URL is set.
import { temporaryPostgresSchema, temporarySqlite, type BenchDatabase } from './databases.js';
import { benchFanOut, type FanOutRow } from './fan-out.js';
import { benchSessions, type BenchRow } from './sessions.js';

const SESSIONS = 1000;
const LIST_RUNS = 20;
const FAN_OUT_CLIENTS = 50;

function format(rows: BenchRow[]): string {
  const lines = [
    ['database', 'operation', 'sessions', 'ms', 'sessions/s'],
    ...rows.map((r) => [r.database, r.operation, String(r.sessions), r.ms.toFixed(1), Math.round((r.sessions / r.ms) * 1000).toLocaleString('en-US')]),
  ];
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  const numeric = new Set([2, 3, 4]);
  return lines.map((line) => line.map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

function formatFanOut(rows: FanOutRow[]): string {
  return [
    'back-channel logout: end of one session with N clients -> last logout token received',
    ...rows.map((r) => `${r.database.padEnd(10)}  ${String(r.clients).padStart(3)} clients  ${r.ms.toFixed(1).padStart(8)} ms`),
  ].join('\n');
}

async function main(): Promise<void> {
  const postgres = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
  const databases: (() => BenchDatabase)[] = [temporarySqlite, ...(postgres ? [() => temporaryPostgresSchema(postgres)] : [])];
  if (!postgres) process.stderr.write('PostgreSQL skipped: set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to include it.\n');
  const rows: BenchRow[] = [];
  const fanOut: FanOutRow[] = [];
  for (const open of databases) {
    const database = open();
    process.stderr.write(`${database.label}: ${SESSIONS} sessions...\n`);
    try {
      rows.push(...(await benchSessions(database, { count: SESSIONS, listRuns: LIST_RUNS })));
    } finally {
      await database.drop();
    }
    const fresh = open();
    process.stderr.write(`${fresh.label}: back-channel logout fan-out to ${FAN_OUT_CLIENTS} clients...\n`);
    try {
      fanOut.push(await benchFanOut(fresh, FAN_OUT_CLIENTS));
    } finally {
      await fresh.drop();
    }
  }
  process.stdout.write(format(rows) + '\n\n');
  process.stdout.write(formatFanOut(fanOut) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
