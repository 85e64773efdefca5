import { ConflictError, NotFoundError, UnavailableError, type ErrorReason } from '../../domain/errors.js';

function prismaCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof (error as { code: unknown }).code === 'string') {
    return (error as { code: string }).code;
  }
  return undefined;
}

/** A domain error's message and its reason. */
type Refusal = { readonly message: string; readonly reason: ErrorReason };

/** Maps Prisma's unique-violation and missing-row errors to domain errors; rethrows anything else unchanged. */
export function mapPrismaError(error: unknown, refusals: { conflict?: Refusal; notFound?: Refusal }): never {
  const code = prismaCode(error);
  if (code === 'P2002' && refusals.conflict) throw new ConflictError(refusals.conflict.message, { debug: error, reason: refusals.conflict.reason });
  if (code === 'P2025' && refusals.notFound) throw new NotFoundError(refusals.notFound.message, { debug: error, reason: refusals.notFound.reason });
  throw error;
}

// Prisma's codes for a database it cannot reach or that is busy: not reachable, timed out (SQLite's SQLITE_BUSY
// arrives as P1008), connection closed, transaction already closed by the server, pool timeout, too many connections.
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
// The driver adapters' error kinds for the same (@prisma/adapter-pg and -better-sqlite3 name them so).
const ADAPTER_UNAVAILABLE = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
// PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01-57P03 (the server is shutting down, crashed or is
// starting; pg_terminate_backend is 57P01), 53300 (too many connections).
const POSTGRES_UNAVAILABLE = /^(08...|57P0[123]|53300)$/;
// Node's socket errors on the way to the server.
const SOCKET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// SQLite's result codes (and their extended forms, SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE...) for a locked, busy,
// unopenable, read-only or failing file, or a full disk.
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|READONLY|FULL|PROTOCOL)(_|$)/;
// node-postgres raises these as plain errors, without a code, when a connection it holds dies.
const PG_CONNECTION_LOST = /^(Connection terminated( unexpectedly)?|Client has encountered a connection error and is not queryable|timeout exceeded when trying to connect)$/;

/** The errors an error was caused by: itself, its `cause` chain, and the driver error Prisma keeps in its `meta`. */
function* causes(error: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (typeof error !== 'object' || error === null || depth > 5) return;
  const record = error as Record<string, unknown>;
  yield record;
  yield* causes(record.cause, depth + 1);
  const meta = record.meta as Record<string, unknown> | undefined;
  if (meta && typeof meta === 'object') yield* causes(meta.driverAdapterError, depth + 1);
}

/** True when the error says the database cannot be reached or is too busy, not that the request was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of causes(error)) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && (PRISMA_UNAVAILABLE.has(code) || SOCKET_UNAVAILABLE.has(code) || SQLITE_UNAVAILABLE.test(code) || POSTGRES_UNAVAILABLE.test(code))) return true;
    if (typeof e.kind === 'string' && ADAPTER_UNAVAILABLE.has(e.kind)) return true;
    if (typeof e.originalCode === 'string' && (POSTGRES_UNAVAILABLE.test(e.originalCode) || SQLITE_UNAVAILABLE.test(e.originalCode))) return true;
    if (e instanceof Error && PG_CONNECTION_LOST.test(e.message)) return true;
  }
  return false;
}

/** A database outage becomes the domain's UnavailableError (the driver's error kept for the log); anything else is rethrown unchanged. */
export function rethrowUnavailable(error: unknown): never {
  if (error instanceof UnavailableError || !isDatabaseUnavailable(error)) throw error;
  throw new UnavailableError({ debug: error });
}
