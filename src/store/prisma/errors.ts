import { ConflictError, NotFoundError } from '../../domain/errors.js';

function prismaCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof (error as { code: unknown }).code === 'string') {
    return (error as { code: string }).code;
  }
  return undefined;
}

/** Maps Prisma's unique-violation and missing-row errors to domain errors; rethrows anything else unchanged. */
export function mapPrismaError(error: unknown, messages: { conflict?: string; notFound?: string }): never {
  const code = prismaCode(error);
  if (code === 'P2002' && messages.conflict) throw new ConflictError(messages.conflict, { debug: error });
  if (code === 'P2025' && messages.notFound) throw new NotFoundError(messages.notFound, { debug: error });
  throw error;
}
