import { pino, type Logger } from 'pino';

export type { Logger };

// Second line of defence, by path: code never logs these, and if it ever does they are masked. Only the top-level
// and request-shaped `code` (an authorization code) is masked, never an error's code (EADDRINUSE, P1001).
const REDACTED_PATHS = [
  'password', '*.password', 'secret', '*.secret', 'client_secret', '*.client_secret',
  'token', '*.token', 'access_token', '*.access_token', 'refresh_token', '*.refresh_token', 'id_token', '*.id_token',
  'code', 'query.code', 'body.code', 'params.code', 'cookie', '*.cookie', 'headers', '*.headers', 'authorization', '*.authorization',
  'body', '*.body', 'rawBody', '*.rawBody', 'form', '*.form',
];

/** What a logged error may carry: nothing that can hold a request's input. */
export interface SerializedError {
  readonly type: string;
  /** A machine code: Node's (EADDRINUSE, ECONNREFUSED), Prisma's (P1001), SQLite's (SQLITE_BUSY), a SQLSTATE. */
  readonly code?: string;
  /** The HTTP status an error stands for, or oidc-provider's OAuth error code. */
  readonly status?: number;
  readonly error?: string;
  /** A domain error's reason code (its parameters may be input, so not those). */
  readonly reason?: string;
  /** Only Node's system errors' messages (made of the syscall, the code and a configured address or path). */
  readonly message?: string;
  /** The stack's frames (file:line), without its first line, which repeats the message. */
  readonly stack?: string;
  readonly cause?: SerializedError;
}

// errno names (EADDRINUSE), Node's and SQLite's codes, Prisma's, SQLSTATEs: never long free text (a base32 TOTP secret).
const MACHINE_CODE = /^(E[A-Z]{2,15}|(ERR|SQLITE)_[A-Z0-9_]{1,60}|P\d{4}|[0-9A-Z]{5})$/;
// OAuth error codes all have an underscore (invalid_request, server_error): a lone word may be anything.
const OAUTH_ERROR = /^[a-z]+(_[a-z]+){1,5}$/;
const ERROR_NAME = /^[A-Z][A-Za-z]{0,58}Error$/;
const MAX_DEPTH = 3;
const MAX_FRAMES = 12;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A Node system error (from a syscall: listen, connect, open): its message is built from the call, not from input. */
function isSystemError(error: Record<string, unknown>): boolean {
  return typeof error.syscall === 'string' && typeof error.errno === 'number' && typeof error.code === 'string';
}

/** The frames after the message (which may span lines, and look like frames), never the message itself. */
function stackFrames(stack: unknown, message: unknown): string | undefined {
  if (typeof stack !== 'string') return undefined;
  const afterMessage = typeof message === 'string' && message !== '' && stack.includes(message) ? stack.slice(stack.indexOf(message) + message.length) : stack;
  const frames = afterMessage.split('\n').filter((line) => /^\s+at /.test(line)).slice(0, MAX_FRAMES);
  return frames.length ? frames.join('\n') : undefined;
}

/**
 * The allow-list of what an error may put in the log (the `err` and `error` keys): its type, a machine code, a
 * status, a reason code, the stack's frames and, the same way, its cause (a domain error's `debug`, an error's
 * `cause`, a Prisma error's driver error). Messages are left out — JSON.parse quotes its input, V8's TypeErrors
 * quote values, libraries put arguments and SQL rows (PostgreSQL's "Failing row contains ...") in theirs — except
 * those of Node's system errors. Whatever else an error carries (a parser's raw body, Prisma's meta, headers) is
 * dropped, so even a careless `log.error({ err })` cannot leak a request's content.
 */
export function serializeError(value: unknown, depth = 0): SerializedError | undefined {
  if (!isRecord(value)) return undefined;
  const record = value;
  const code = typeof record.code === 'string' && MACHINE_CODE.test(record.code) ? record.code : undefined;
  const status = [record.statusCode, record.status].find((s): s is number => typeof s === 'number');
  const error = typeof record.error === 'string' && OAUTH_ERROR.test(record.error) ? record.error : undefined;
  const reason = isRecord(record.reason) && typeof record.reason.code === 'string' ? record.reason.code : undefined;
  const message = isSystemError(record) && typeof record.message === 'string' ? record.message : undefined;
  const stack = stackFrames(record.stack, record.message);
  const meta = isRecord(record.meta) ? record.meta.driverAdapterError : undefined;
  const underlying = record.debug ?? record.cause ?? meta;
  const cause = depth < MAX_DEPTH && underlying !== undefined ? serializeError(underlying, depth + 1) : undefined;
  const type = value instanceof Error ? value.constructor.name || 'Error' : typeof record.name === 'string' && ERROR_NAME.test(record.name) ? record.name : 'Object';
  return {
    type,
    ...(code ? { code } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(error ? { error } : {}),
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    ...(stack ? { stack } : {}),
    ...(cause ? { cause } : {}),
  };
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // `error` is also the key of codes and sentences Gatehouse writes itself (invalid_request, "HTTP 500"): those
      // strings stay; an error object under it goes through the allow-list like one under `err`.
      serializers: { err: serializeError, error: (value: unknown) => (typeof value === 'string' ? value : serializeError(value)) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        // pino makes a lone error's message the line's msg: the error goes under `err` (the allow-list) instead.
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          if (!(first instanceof Error)) return method.apply(this, args);
          const message = typeof rest[0] === 'string' ? (rest.shift() as string) : 'error';
          return method.apply(this, [{ err: first }, message, ...rest] as Parameters<typeof method>);
        },
      },
    },
    destination ?? process.stdout,
  );
}
