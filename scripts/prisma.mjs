#!/usr/bin/env node
// Prisma chores for both database providers, driven from prisma/models.prisma.
//   node scripts/prisma.mjs generate            write both schemas and generate both clients
//   node scripts/prisma.mjs migration NAME      add prisma/<provider>/migrations/<NNNN_NAME>/migration.sql for both
//   node scripts/prisma.mjs check               fail if a schema or migration is missing for the current models
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const providers = ['sqlite', 'postgresql'];
const prismaBin = join(root, 'node_modules', 'prisma', 'build', 'index.js');

function prisma(provider, args) {
  return execFileSync(process.execPath, [prismaBin, ...args], {
    cwd: root,
    env: { ...process.env, PRISMA_PROVIDER: provider, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function writeSchemas() {
  execFileSync(process.execPath, [join(root, 'scripts/prisma-schemas.mjs')], { stdio: 'inherit' });
}

const migrationsDir = (provider) => join(root, 'prisma', provider, 'migrations');
const snapshotFile = (provider) => join(migrationsDir(provider), 'schema.snapshot.prisma');

// SQL that takes the last migrated snapshot to the current schema ('' when they agree).
function pendingSql(provider) {
  const from = existsSync(snapshotFile(provider))
    ? ['--from-schema-datamodel', snapshotFile(provider)]
    : ['--from-empty'];
  const sql = prisma(provider, ['migrate', 'diff', ...from, '--to-schema-datamodel', `prisma/${provider}/schema.prisma`, '--script']);
  return sql
    .split('\n')
    .filter((line) => !/^CREATE SCHEMA IF NOT EXISTS "public";$/.test(line) && line !== '-- CreateSchema')
    .join('\n')
    .trim();
}

const [command, name] = process.argv.slice(2);
if (command === 'generate') {
  writeSchemas();
  for (const provider of providers) prisma(provider, ['generate']);
} else if (command === 'migration') {
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    console.error('usage: node scripts/prisma.mjs migration NAME   (NAME: lowercase letters, digits, _)');
    process.exit(2);
  }
  writeSchemas();
  for (const provider of providers) {
    const sql = pendingSql(provider);
    if (sql === '' || sql === '-- This is an empty migration.') { console.log(`${provider}: nothing to migrate`); continue; }
    mkdirSync(migrationsDir(provider), { recursive: true });
    const number = readdirSync(migrationsDir(provider)).filter((d) => /^\d{4}_/.test(d)).length + 1;
    const dir = join(migrationsDir(provider), `${String(number).padStart(4, '0')}_${name}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'migration.sql'), sql + '\n');
    writeFileSync(snapshotFile(provider), readFileSync(join(root, 'prisma', provider, 'schema.prisma'), 'utf8'));
    console.log(`${provider}: wrote ${dir}`);
  }
} else if (command === 'check') {
  execFileSync(process.execPath, [join(root, 'scripts/prisma-schemas.mjs'), '--check'], { stdio: 'inherit' });
  for (const provider of providers) {
    const sql = pendingSql(provider);
    if (sql !== '' && sql !== '-- This is an empty migration.') {
      console.error(`${provider}: prisma/models.prisma has changes without a migration; run node scripts/prisma.mjs migration NAME`);
      process.exit(1);
    }
  }
} else {
  console.error('usage: node scripts/prisma.mjs generate | migration NAME | check');
  process.exit(2);
}
