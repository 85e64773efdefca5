// npm run bench:tokens: one client_credentials client hammering the token endpoint of an in-process Gatehouse (SQLite,
// 127.0.0.1 only) for BENCH_TOKEN_SECONDS (default 30) seconds, once without the per-client rate limit
// (TOKEN_RATE_LIMIT=0) and once with the default 600 a minute. It reports the tokens issued and refused, the rows in
// the payload table during and at the end of the run, and after the purge of expired rows (the purge job's work, with
// the clock moved past CLIENT_CREDENTIALS_TTL).
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config/env.js';
import type { Clock } from '../src/domain/clock.js';
import { createLogger } from '../src/infra/logger.js';
import { startGatehouse } from '../src/server.js';
import { createDb } from '../src/store/prisma/database.js';
import { temporarySqlite } from './databases.js';

const SECONDS = Number(process.env.BENCH_TOKEN_SECONDS ?? 30);
const WORKERS = 4;
const SAMPLE_EVERY_MS = 5000;

/** Real time plus an offset the bench moves forward to expire what was issued. */
class MovableClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

interface FloodResult {
  readonly limit: number;
  readonly issued: number;
  readonly refused: number;
  readonly other: number;
  readonly rowsDuring: number[];
  readonly rowsAtEnd: number;
  readonly rowsAfterPurge: number;
  readonly purged: number;
}

async function flood(limit: number): Promise<FloodResult> {
  const database = temporarySqlite();
  const clock = new MovableClock();
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: database.url,
    GATEHOUSE_SECRET: 'bench-secret-0123456789abcdefghijklmnopqrstuvwxyz',
    LOG_LEVEL: 'silent',
    TOKEN_RATE_LIMIT: String(limit),
  });
  const gatehouse = await startGatehouse({ config, logger: createLogger('silent'), clock });
  const db = createDb(database);
  try {
    const origin = `http://127.0.0.1:${(gatehouse.server.address() as AddressInfo).port}`;
    const { client, secret } = await gatehouse.container.clients.create({ name: 'Flood', grantTypes: ['client_credentials'], scope: 'profile' });
    const authorization = `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`;
    const counts = { issued: 0, refused: 0, other: 0 };
    const rows = () => db.oidcPayload.count();
    const rowsDuring: number[] = [];
    const sampler = setInterval(() => void rows().then((n) => rowsDuring.push(n)), SAMPLE_EVERY_MS);
    const end = Date.now() + SECONDS * 1000;
    await Promise.all(Array.from({ length: WORKERS }, async () => {
      while (Date.now() < end) {
        const response = await fetch(`${origin}/token`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
        await response.arrayBuffer();
        if (response.status === 200) counts.issued += 1;
        else if (response.status === 429) counts.refused += 1;
        else counts.other += 1;
      }
    }));
    clearInterval(sampler);
    const rowsAtEnd = await rows();
    clock.advance((config.ttl.clientCredentials + 1) * 1000);
    const purged = await gatehouse.container.payloads.purgeExpired(clock.now());
    return { limit, ...counts, rowsDuring, rowsAtEnd, rowsAfterPurge: await rows(), purged };
  } finally {
    await db.$disconnect();
    await gatehouse.close();
    await database.drop();
  }
}

function report(results: FloodResult[]): string {
  return [
    `one client, ${WORKERS} concurrent requests, ${SECONDS} s, SQLite`,
    ...results.map((r) => [
      `TOKEN_RATE_LIMIT=${r.limit}${r.limit === 0 ? ' (off)' : ''}`,
      `  issued ${r.issued} (${(r.issued / SECONDS).toFixed(1)}/s), refused 429: ${r.refused}, other: ${r.other}`,
      `  payload rows every ${SAMPLE_EVERY_MS / 1000} s: ${r.rowsDuring.join(', ')}; at the end ${r.rowsAtEnd}`,
      `  after the purge past CLIENT_CREDENTIALS_TTL: ${r.rowsAfterPurge} (${r.purged} purged)`,
    ].join('\n')),
  ].join('\n');
}

async function main(): Promise<void> {
  const results: FloodResult[] = [];
  for (const limit of [0, 600]) {
    process.stderr.write(`token flood with TOKEN_RATE_LIMIT=${limit}...\n`);
    results.push(await flood(limit));
  }
  process.stdout.write(report(results) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
