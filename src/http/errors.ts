import type { Middleware } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import type { Context } from 'koa';
import { AppError, ReauthenticationRequiredError, UNAVAILABLE_RETRY_AFTER_SECONDS, UnavailableError, type ErrorReason } from '../domain/errors.js';
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

/** The database outage behind an error: the domain's own, or the one oidc-provider's temporarily_unavailable carries. */
function unavailableCause(error: unknown): UnavailableError | undefined {
  if (error instanceof UnavailableError) return error;
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause instanceof UnavailableError ? cause : undefined;
}

/** The pages' words for an error oidc-provider renders itself, when Gatehouse words it (a database outage). */
export function providerErrorText(error: unknown, t: Text): string | undefined {
  const unavailable = unavailableCause(error);
  return unavailable ? reasonText(unavailable.reason!, t) : undefined;
}

/**
 * Every 503 — Gatehouse's own, oidc-provider's temporarily_unavailable (rendered or as JSON by oidc-provider itself,
 * so seen only here, after the fact) — tells the client when to try again, and leaves one warning in the log.
 */
function answeredUnavailable(ctx: Context, log: Logger, error?: unknown): void {
  if (ctx.status !== 503) return;
  if (!ctx.response.get('Retry-After')) ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  // The error's cause (the driver's code, P1001 or ECONNREFUSED) when Gatehouse's own route threw it.
  log.warn({ status: 503, reason: 'database_unavailable', ...(error === undefined ? {} : { err: error }) }, 'database unavailable');
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
  const outage = providerErrorText(error, t);
  if (outage) return outage;
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
    const log = () => (ctx.state.log as Logger | undefined) ?? options.logger;
    try {
      await next();
      answeredUnavailable(ctx, log());
    } catch (error) {
      const mapped = mapHttpError(error);
      if (mapped.status === 503) {
        ctx.status = 503;
        answeredUnavailable(ctx, log(), error);
      } else if (mapped.status >= 500) log().error({ err: error }, 'request failed');
      else log().info({ error: mapped.error, status: mapped.status, reason: (error as AppError).debug === undefined ? undefined : 'see debug' }, 'request refused');
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
