import { ConflictError, NotFoundError, type ErrorReason } from '../../domain/errors.js';

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
