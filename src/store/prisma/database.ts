import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
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

const PRIVATE_FILE = 0o600;
const PRIVATE_DIRECTORY = 0o700;
// The files SQLite keeps next to the database (WAL mode, and the rollback journal of a crash), and the development secret.
const COMPANIONS = ['-wal', '-shm', '-journal'];
const SECRET_FILE = 'secret';

const ownedByUs = (path: string) => process.getuid === undefined || statSync(path).uid === process.getuid();
const groupOrOtherMayUse = (path: string) => (statSync(path).mode & 0o077) !== 0;

/** Removes group and other permissions from a file or directory of ours; true when it had any. */
function tighten(path: string, mode: number): boolean {
  if (!existsSync(path) || !ownedByUs(path) || !groupOrOtherMayUse(path)) return false;
  chmodSync(path, mode);
  return true;
}

/** Whether the directory holds nothing but this database's files and the development secret (Gatehouse's own). */
function onlyGatehouseFiles(dir: string, file: string): boolean {
  const ours = new Set([basename(file), ...COMPANIONS.map((suffix) => basename(file) + suffix), SECRET_FILE]);
  return readdirSync(dir).every((name) => ours.has(name));
}

/**
 * Creates the file empty with mode 0600 unless it exists. An existing database is never opened here: closing any
 * descriptor of a file releases every POSIX lock this process holds on it, SQLite's included.
 */
function createPrivateFile(file: string): void {
  if (existsSync(file)) return;
  try {
    closeSync(openSync(file, 'wx', PRIVATE_FILE));
  } catch (error) {
    // Another process (the CLI and the server started together) created it first.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * Makes the SQLite database private to the Gatehouse user before it is opened: the directory is created 0700 and the
 * file 0600 (created empty, a valid empty database, so SQLite never creates it with the umask's 0644). SQLite gives
 * the -wal and -shm files it creates the database file's mode. Files of ours left readable by older versions are
 * tightened to 0600, and so is their directory (to 0700) when it holds only Gatehouse's files (never, say, a project
 * directory the database was put in). Returns the paths it tightened, for the caller to log.
 */
export function prepareSqliteFile(file: string): string[] {
  if (file === ':memory:') return [];
  const dir = dirname(file);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY });
  createPrivateFile(file);
  const tightened = [file, ...COMPANIONS.map((suffix) => file + suffix)].filter((path) => tighten(path, PRIVATE_FILE));
  if (onlyGatehouseFiles(dir, file) && tighten(dir, PRIVATE_DIRECTORY)) tightened.push(dir);
  return tightened;
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
  const file = sqliteFilePath(target.url);
  prepareSqliteFile(file);
  const adapter = new PrismaBetterSQLite3({ url: file, timeout: 5000 });
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
