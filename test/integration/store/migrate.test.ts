import { createHash } from 'node:crypto';
import { createDb, type Db } from '../../../src/store/prisma/database.js';
import { loadMigrations, migrateDatabase, MigrationError, type Migration } from '../../../src/store/prisma/migrate.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../../support/databases.js';

function migration(name: string, sql: string): Migration {
  return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
}

async function ledger(db: Db): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<{ name: string }[]>('SELECT name FROM "_gatehouse_migrations" ORDER BY name');
  return rows.map((r) => r.name);
}

async function hasTable(db: Db, table: string): Promise<boolean> {
  try {
    await db.$queryRawUnsafe(`SELECT COUNT(*) FROM "${table}"`);
    return true;
  } catch {
    return false;
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe.each(databaseKinds())('migrateDatabase on %s', (kind) => {
  const shipped = loadMigrations(kind);
  let database: TestDatabase;
  let db: Db | undefined;

  const openDb = () => (db ??= createDb(database));

  beforeEach(async () => {
    database = await createTestDatabase(kind);
    db = undefined;
  });

  afterEach(async () => {
    await db?.$disconnect();
    await database.drop();
  });

  it('ships at least the initial migration, in order', () => {
    expect(shipped[0]?.name).toBe('0001_init');
    expect(shipped.map((m) => m.name)).toEqual([...shipped.map((m) => m.name)].sort());
    for (const m of shipped) expect(m.checksum).toBe(createHash('sha256').update(m.sql).digest('hex'));
  });

  it('applies every migration to an empty database and records each', async () => {
    const result = await migrateDatabase(database);
    expect(result).toEqual({ applied: shipped.map((m) => m.name), alreadyApplied: 0, tightened: [] });
    const client = openDb();
    expect(await ledger(client)).toEqual(shipped.map((m) => m.name));
    for (const table of ['User', 'Client', 'OidcPayload', 'SigningKey']) expect(await hasTable(client, table)).toBe(true);
    expect(await client.user.count()).toBe(0);
  });

  it('applies nothing the second time', async () => {
    await migrateDatabase(database);
    expect(await migrateDatabase(database)).toEqual({ applied: [], alreadyApplied: shipped.length, tightened: [] });
    expect(await ledger(openDb())).toEqual(shipped.map((m) => m.name));
  });

  it('applies only the new migrations of a newer version', async () => {
    await migrateDatabase(database);
    const next = migration('9000_add_extra', 'CREATE TABLE "Extra" ("id" TEXT PRIMARY KEY);');
    expect(await migrateDatabase(database, [...shipped, next])).toEqual({ applied: ['9000_add_extra'], alreadyApplied: shipped.length, tightened: [] });
    expect(await hasTable(openDb(), 'Extra')).toBe(true);
  });

  it('refuses a migration whose file changed after it was applied, and changes nothing', async () => {
    await migrateDatabase(database);
    const [first, ...rest] = shipped;
    const edited = migration(first!.name, `${first!.sql}\nCREATE TABLE "Sneaky" ("id" TEXT);\n`);
    const error = await rejection(migrateDatabase(database, [edited, ...rest]));
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.message).toBe(`Migration ${first!.name} was changed after it was applied; restore the original file.`);
    expect(await hasTable(openDb(), 'Sneaky')).toBe(false);
  });

  it('refuses a database migrated by a newer version (a migration it does not know)', async () => {
    await migrateDatabase(database, [...shipped, migration('9000_from_the_future', 'CREATE TABLE "Future" ("id" TEXT);')]);
    const error = await rejection(migrateDatabase(database));
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.message).toMatch(/9000_from_the_future/);
    expect(error.message).toMatch(/does not know/);
  });

  it('refuses to run pending migrations next to an unknown one', async () => {
    await migrateDatabase(database, [...shipped, migration('9000_from_the_future', 'SELECT 1;')]);
    const pending = migration('9001_pending', 'CREATE TABLE "Pending" ("id" TEXT);');
    await expect(migrateDatabase(database, [...shipped, pending])).rejects.toThrow(MigrationError);
    expect(await hasTable(openDb(), 'Pending')).toBe(false);
  });

  it('rolls a failing migration back completely, so it can be fixed and run again', async () => {
    await migrateDatabase(database);
    const broken = migration('9000_broken', 'CREATE TABLE "Half" ("id" TEXT);\nINSERT INTO "NoSuchTable" VALUES (1);');
    // Not `rejects.toThrow()`: better-sqlite3's errors come from whichever jest module realm loaded the native module
    // first, so they need not be instances of this file's Error.
    const error = await rejection(migrateDatabase(database, [...shipped, broken]));
    expect(String(error.message)).toMatch(/NoSuchTable/);
    expect(await ledger(openDb())).toEqual(shipped.map((m) => m.name));
    expect(await hasTable(openDb(), 'Half')).toBe(false);

    const fixed = migration('9000_broken', 'CREATE TABLE "Half" ("id" TEXT);');
    expect((await migrateDatabase(database, [...shipped, fixed])).applied).toEqual(['9000_broken']);
    expect(await hasTable(openDb(), 'Half')).toBe(true);
  });

  if (kind === 'postgresql') {
    it('serialises concurrent starts: both succeed and every migration is applied once', async () => {
      const results = await Promise.all([migrateDatabase(database), migrateDatabase(database), migrateDatabase(database)]);
      const applied = results.flatMap((r) => r.applied).sort();
      expect(applied).toEqual(shipped.map((m) => m.name));
      expect(results.filter((r) => r.applied.length === 0)).toHaveLength(2);
      expect(await ledger(openDb())).toEqual(shipped.map((m) => m.name));
    });

    it('creates the tables in the schema named by ?schema=', async () => {
      await migrateDatabase(database);
      const schema = new URL(database.url).searchParams.get('schema')!;
      const rows = await openDb().$queryRawUnsafe<{ table_name: string }[]>(
        `SELECT table_name::text AS table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        schema,
      );
      expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['Client', 'OidcPayload', 'SigningKey', 'User', '_gatehouse_migrations']));
    });
  }
});
