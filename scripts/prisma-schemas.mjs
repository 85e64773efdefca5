#!/usr/bin/env node
// Writes one Prisma schema per database provider from prisma/models.prisma, the single source of truth.
// `--check` exits 1 when a committed schema is out of date (run by the test suite).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const models = readFileSync(join(root, 'prisma/models.prisma'), 'utf8');
const providers = {
  sqlite: 'file:./placeholder.db',
  postgresql: 'postgresql://placeholder@localhost:5432/placeholder',
};

const check = process.argv.includes('--check');
let stale = false;
for (const [provider, placeholderUrl] of Object.entries(providers)) {
  const header = `// GENERATED from prisma/models.prisma by scripts/prisma-schemas.mjs. Do not edit.

generator client {
  provider   = "prisma-client"
  output     = "../../src/store/prisma/generated/${provider}"
  engineType = "client"
  moduleFormat = "esm"
  importFileExtension = "js"
}

datasource db {
  provider = "${provider}"
  // Only the Prisma CLI reads this (migrate diff); the running server connects through a driver adapter.
  url      = "${placeholderUrl}"
}

`;
  const file = join(root, 'prisma', provider, 'schema.prisma');
  const content = header + models;
  if (check) {
    let current = '';
    try { current = readFileSync(file, 'utf8'); } catch { /* missing counts as stale */ }
    if (current !== content) { stale = true; console.error(`${file} is out of date: run npm run db:schemas`); }
  } else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}
process.exit(stale ? 1 : 0);
