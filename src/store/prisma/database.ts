import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as PostgresPrismaClient } from './generated/postgresql/client.js';
import { PrismaClient as SqlitePrismaClient } from './generated/sqlite/client.js';
import { rethrowUnavailable } from './errors.js';

// Both generated clients come from one set of models (prisma/models.prisma), so they share one shape.
export type Db = SqlitePrismaClient;

export interface DatabaseTarget {
  readonly provider: 'sqlite' | 'postgresql';
  readonly url: string;
}

/** SQLite file path of a file: URL (relative paths are relative to the working directory). */
export function sqliteFilePath(url: string): string {
  return url.replace(/^file:/, '').replace(/\?.*$/, '');
}

/** The schema named by a postgres URL's ?schema= parameter (Prisma's convention), default public. */
export function postgresSchema(url: string): string {
  return new URL(url).searchParams.get('schema') ?? 'public';
}

export function postgresConnectionString(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.delete('schema');
  return parsed.toString();
}

/**
 * Every query of the client (model operations and raw SQL, inside transactions too) and every transaction (whose
 * start and commit need a connection of their own) turn an outage of the database into the domain's
 * UnavailableError, so no repository has to tell a driver's connection errors apart.
 */
function mappingOutages(client: Db): Db {
  const extended = client.$extends({
    query: {
      async $allOperations({ args, query }) {
        try {
          return await query(args);
        } catch (error) {
          return rethrowUnavailable(error);
        }
      },
    },
  }) as unknown as Db;
  return new Proxy(extended, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== '$transaction' || typeof value !== 'function') return value;
      return (...args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).catch(rethrowUnavailable);
    },
  });
}

export function createDb(target: DatabaseTarget): Db {
  return mappingOutages(createClient(target));
}

function createClient(target: DatabaseTarget): Db {
  if (target.provider === 'postgresql') {
    const schema = postgresSchema(target.url);
    const adapter = new PrismaPg(
      { connectionString: postgresConnectionString(target.url), max: 10, options: `-c search_path="${schema}"` },
      { schema },
    );
    return new PostgresPrismaClient({ adapter }) as unknown as Db;
  }
  // timeout: wait up to 5 s for a write lock held by another process (the CLI and the server share the file).
  const adapter = new PrismaBetterSQLite3({ url: sqliteFilePath(target.url), timeout: 5000 });
  return new SqlitePrismaClient({ adapter });
}

/** True when the database answers a trivial query. */
export async function isReachable(db: Db): Promise<boolean> {
  try {
    await db.$queryRawUnsafe('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
