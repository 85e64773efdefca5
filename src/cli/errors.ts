import { AppError, ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { ConfigError } from '../config/env.js';
import { clientSettingFlags } from './client-flags.js';

/** Wrong command-line usage: unknown command or flag, missing argument. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, conflict: 4 } as const;

// Domain errors name the field they are about and say in their message what is wrong, in English fit for the API and
// the CLI (the pages word them by their reason, in the pages' language). On the command line the client fields are
// the flags of `clients create/update`, of the same names (and --name of `users create`): the message names the flag.
const FIELD_FLAGS: ReadonlySet<string> = new Set(Object.keys(clientSettingFlags));

/** The one mapping from an error to the CLI's one-line message and exit code. */
export function mapCliError(error: unknown): { code: number; message: string } {
  if (error instanceof ValidationError && error.field && FIELD_FLAGS.has(error.field)) return { code: EXIT.usage, message: `--${error.field}: ${error.message}` };
  if (error instanceof UsageError || error instanceof ValidationError) return { code: EXIT.usage, message: error.message };
  if (error instanceof ConfigError) return { code: EXIT.usage, message: `configuration error: ${error.message}` };
  if (error instanceof NotFoundError) return { code: EXIT.notFound, message: error.message };
  if (error instanceof ConflictError) return { code: EXIT.conflict, message: error.message };
  if (error instanceof AppError || (error as Error)?.name === 'MigrationError') return { code: EXIT.failure, message: (error as Error).message };
  const code = (error as { code?: string })?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    // Node's parser appends advice about positionals; the first sentence is the part that helps.
    return { code: EXIT.usage, message: `${(error as Error).message.split(/\. (?=To specify)/)[0]!.replace(/\.$/, '')}; run gatehouse --help` };
  }
  return { code: EXIT.failure, message: 'unexpected error; run with LOG_LEVEL=debug for details' };
}
