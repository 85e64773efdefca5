import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export default function globalSetup() {
  // The CLI tests run the real `gatehouse` bin, which runs the compiled code: compile it (incremental, fast).
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (!process.env.TEST_DATABASE_URL && process.env.CI === 'true') {
    // As test/support/databases.ts says too: in CI the PostgreSQL variants must run.
    throw new Error('TEST_DATABASE_URL is not set; CI must run every database test on PostgreSQL too (.ci/run sets it).');
  }
  if (!process.env.TEST_DATABASE_URL) {
    process.stdout.write('\nPostgreSQL tests skipped: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run every database test against PostgreSQL too.\n');
  }
  if (!process.env.TEST_REDIS_URL && process.env.CI === 'true') {
    // As test/support/redis.ts says too: in CI the Redis variants must run.
    throw new Error('TEST_REDIS_URL is not set; CI must run the login throttle tests on Redis too (.ci/run sets it).');
  }
  if (!process.env.TEST_REDIS_URL) {
    process.stdout.write('Redis tests skipped: set TEST_REDIS_URL=redis://127.0.0.1:6379 to run the login throttle tests against Redis too.\n');
  }
}
