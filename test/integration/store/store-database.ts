import { createDb, type Db } from '../../../src/store/prisma/database.js';
import { migrateDatabase } from '../../../src/store/prisma/migrate.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from '../../support/databases.js';

export interface StoreDatabase {
  readonly db: Db;
  readonly database: TestDatabase;
  /** Deletes every row, so each test starts from empty tables without paying for a new database. */
  truncate(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh, migrated database of this kind and a Prisma client for it. */
export async function openStoreDatabase(kind: DatabaseKind): Promise<StoreDatabase> {
  const database = await createTestDatabase(kind);
  await migrateDatabase(database);
  const db = createDb(database);
  return {
    db,
    database,
    async truncate() {
      await db.$transaction([db.oidcPayload.deleteMany(), db.user.deleteMany(), db.client.deleteMany(), db.signingKey.deleteMany(), db.auditEvent.deleteMany()]);
    },
    async close() {
      await db.$disconnect();
      await database.drop();
    },
  };
}
