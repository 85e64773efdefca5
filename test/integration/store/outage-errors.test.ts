import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, UnavailableError } from '../../../src/domain/errors.js';
import { PrismaUserRepository } from '../../../src/store/prisma/user-repository.js';
import { createDb } from '../../../src/store/prisma/database.js';
import { isDatabaseUnavailable } from '../../../src/store/prisma/errors.js';
import { databaseKinds } from '../../support/databases.js';
import { openStoreDatabase, type StoreDatabase } from './store-database.js';

describe('the store raises UnavailableError for a database out of reach, and nothing else', () => {
  it('on a PostgreSQL server that refuses connections (nothing listens on the port)', async () => {
    const db = createDb({ provider: 'postgresql', url: 'postgres://postgres@127.0.0.1:9/test?schema=nowhere' });
    try {
      const failure = await db.user.findMany().catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(UnavailableError);
      expect((failure as UnavailableError).debug).toBeDefined();
      await expect(db.$transaction(async (tx) => tx.user.count())).rejects.toBeInstanceOf(UnavailableError);
      await expect(db.$queryRawUnsafe('SELECT 1')).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      await db.$disconnect();
    }
  });

  it('on a SQLite file that cannot be opened (SQLITE_CANTOPEN: a directory stands where the file should be)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-outage-'));
    mkdirSync(join(dir, 'gatehouse.db'));
    const db = createDb({ provider: 'sqlite', url: `file:${join(dir, 'gatehouse.db')}` });
    try {
      await expect(db.user.findMany()).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      await db.$disconnect().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('recognises the drivers\' connection errors, and no others', () => {
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect', errno: -111 });
    expect(isDatabaseUnavailable(socket)).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable({ name: 'DriverAdapterError', cause: { kind: 'postgres', code: '57P01' } })).toBe(true);
    expect(isDatabaseUnavailable({ code: 'P2010', meta: { driverAdapterError: { cause: { kind: 'ConnectionClosed' } } } })).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('Unique constraint failed'), { code: 'P2002' }))).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error('syntax error'), { code: 'SQLITE_ERROR' }))).toBe(false);
    expect(isDatabaseUnavailable({ name: 'DriverAdapterError', cause: { kind: 'postgres', code: '23505' } })).toBe(false);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly, or so says the input'))).toBe(false);
  });

  describe.each(databaseKinds())('%s', (kind) => {
    let store: StoreDatabase;

    beforeAll(async () => {
      store = await openStoreDatabase(kind);
    });

    afterAll(async () => {
      await store?.close();
    });

    it('leaves the other errors of a reachable database as they were (a conflict stays a conflict)', async () => {
      const users = new PrismaUserRepository(store.db, kind);
      const user = { id: crypto.randomUUID(), email: 'ada@example.com', name: null, passwordHash: 'x' };
      await users.create(user);
      await expect(users.create({ ...user, id: crypto.randomUUID() })).rejects.toBeInstanceOf(ConflictError);
    });
  });
});
