import type { Middleware } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import { AppError } from '../domain/errors.js';
import type { Logger } from '../infra/logger.js';
import type { RenderView } from './views.js';

interface MappedError {
  readonly status: number;
  readonly error: string;
  readonly description: string;
}

const GENERIC: MappedError = { status: 500, error: 'server_error', description: 'Something went wrong on our side. Please try again.' };

/** The one mapping from a thrown error to what a browser or API client is shown. */
export function mapHttpError(error: unknown): MappedError {
  if (error instanceof AppError) {
    return { status: error.status, error: error.oauthError, description: error.message };
  }
  if (error instanceof oidcErrors.SessionNotFound) {
    return { status: 400, error: 'invalid_request', description: 'This sign-in attempt has expired. Go back to the application and sign in again.' };
  }
  if (error instanceof oidcErrors.OIDCProviderError) {
    return { status: error.statusCode, error: error.error, description: error.error_description ?? error.message };
  }
  const status = (error as { status?: number; expose?: boolean }).status;
  if (typeof status === 'number' && status >= 400 && status < 500 && (error as { expose?: boolean }).expose) {
    return { status, error: 'invalid_request', description: (error as Error).message };
  }
  return GENERIC;
}

/** Errors from Gatehouse's own routes become an HTML page, or OAuth-style JSON for API clients. */
export function errorHandler(options: { renderView: RenderView; logger: Logger }): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const mapped = mapHttpError(error);
      const log = (ctx.state.log as Logger | undefined) ?? options.logger;
      if (mapped.status >= 500) log.error({ err: error }, 'request failed');
      else log.info({ error: mapped.error, status: mapped.status, reason: (error as AppError).debug === undefined ? undefined : 'see debug' }, 'request refused');
      ctx.status = mapped.status;
      if (ctx.accepts('html', 'json') === 'json' || ctx.path.startsWith('/admin/api/')) {
        ctx.body = { error: mapped.error, error_description: mapped.description };
      } else {
        ctx.type = 'html';
        ctx.body = await options.renderView('error', { title: 'Something went wrong', error: mapped.error, description: mapped.description, status: mapped.status });
      }
    }
  };
}
