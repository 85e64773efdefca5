import type { Middleware } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import { AppError, ReauthenticationRequiredError, type ErrorReason } from '../domain/errors.js';
import type { Logger } from '../infra/logger.js';
import type { Text } from './text/en.js';
import type { RenderView } from './views.js';

interface MappedError {
  readonly status: number;
  readonly error: string;
  readonly description: string;
}

const GENERIC: MappedError = { status: 500, error: 'server_error', description: 'Something went wrong on our side. Please try again.' };

/** The one mapping from a thrown error to what a browser or API client is shown (the JSON's error_description). */
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

/** A text for every reason: assigning `t.errors.reasons` to it makes the compiler check that none is missing. */
type ReasonTexts = { readonly [C in ErrorReason['code']]: string | ((reason: Extract<ErrorReason, { code: C }>) => string) };

/** The page text of an error's reason. */
export function reasonText(reason: ErrorReason, t: Text): string {
  const texts: ReasonTexts = t.errors.reasons;
  const text = texts[reason.code] as string | ((reason: ErrorReason) => string);
  return typeof text === 'string' ? text : text(reason);
}

/**
 * What a page says of an error, in the pages' language: the text of its reason (every error of the domain has one);
 * an error the HTTP layer raised itself carries its page text already. An unexpected failure gets the generic text,
 * and oidc-provider's own errors their error_description (the protocol's words, as in its JSON answers).
 */
export function errorText(error: unknown, t: Text): string {
  if (error instanceof AppError) {
    if (error.reason) return reasonText(error.reason, t);
    return error.status >= 500 ? t.errors.generic : error.message;
  }
  if (error instanceof oidcErrors.SessionNotFound) return t.errors.interactionExpired;
  const mapped = mapHttpError(error);
  return mapped === GENERIC ? t.errors.generic : mapped.description;
}

/** The account pages' "Confirm it is you" (it sends the browser back to `return_to`, an account or console page). */
export const CONFIRM_PATH = '/account/confirm';

/**
 * Errors from Gatehouse's own routes become an HTML page, or OAuth-style JSON for API clients; a browser refused a
 * sensitive action for want of a recent check goes to "Confirm it is you" (`ctx.state.returnTo`, else the path, is
 * where it comes back to).
 */
export function errorHandler(options: { renderView: RenderView; logger: Logger; text: Text }): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const mapped = mapHttpError(error);
      const log = (ctx.state.log as Logger | undefined) ?? options.logger;
      if (mapped.status >= 500) log.error({ err: error }, 'request failed');
      else log.info({ error: mapped.error, status: mapped.status, reason: (error as AppError).debug === undefined ? undefined : 'see debug' }, 'request refused');
      const json = ctx.accepts('html', 'json') === 'json' || ctx.path.startsWith('/admin/api/');
      if (error instanceof ReauthenticationRequiredError && !json) {
        // A sensitive action refused by the service itself: the browser confirms it is the user, then comes back.
        const returnTo = typeof ctx.state.returnTo === 'string' ? ctx.state.returnTo : ctx.path;
        ctx.status = 303;
        ctx.redirect(`${CONFIRM_PATH}?return_to=${encodeURIComponent(returnTo)}`);
        return;
      }
      ctx.status = mapped.status;
      if (json) {
        ctx.body = { error: mapped.error, error_description: mapped.description };
      } else {
        ctx.type = 'html';
        ctx.body = await options.renderView('error', { error: mapped.error, description: errorText(error, options.text), status: mapped.status });
      }
    }
  };
}
