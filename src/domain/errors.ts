// The one family of errors Gatehouse raises on purpose. src/http/errors.ts and src/cli/errors.ts map them to
// OAuth JSON, HTML pages and exit codes; anything else is an unexpected failure and is reported generically.
// The message is the English of the APIs' error_description and of the CLI; a page words the error by its reason
// instead, in the pages' language (src/http/errors.ts, src/http/text), so the domain holds no page text.

/** Why the domain refused something, as data: what a page needs to word it (a parameter, never a sentence). */
export type ErrorReason =
  // Accounts and sign-in
  | { readonly code: 'email_invalid' }
  | { readonly code: 'password_too_short'; readonly min: number }
  | { readonly code: 'password_too_long'; readonly max: number }
  | { readonly code: 'name_too_long'; readonly max: number }
  | { readonly code: 'invalid_credentials' }
  | { readonly code: 'current_password_wrong' }
  | { readonly code: 'password_unchanged' }
  | { readonly code: 'too_many_attempts'; readonly minutes: number }
  | { readonly code: 'reauthentication_required'; readonly secondFactor: boolean }
  | { readonly code: 'user_not_found'; readonly email?: string; readonly id?: string }
  | { readonly code: 'user_exists'; readonly email: string }
  | { readonly code: 'cannot_disable_self' }
  | { readonly code: 'cannot_revoke_own_admin' }
  // Two-step verification
  | { readonly code: 'mfa_already_enabled'; readonly anotherApp?: boolean }
  | { readonly code: 'mfa_setup_missing' }
  | { readonly code: 'mfa_code_wrong' }
  | { readonly code: 'mfa_setup_changed' }
  | { readonly code: 'mfa_not_enabled' }
  // Sessions
  | { readonly code: 'session_not_found'; readonly id?: string; readonly ofUser?: boolean }
  // Clients (and the URLs of their settings)
  | { readonly code: 'url_not_absolute'; readonly value: string }
  | { readonly code: 'url_scheme_refused'; readonly value: string }
  | { readonly code: 'url_fragment'; readonly value: string }
  | { readonly code: 'url_credentials'; readonly value: string }
  | { readonly code: 'url_not_http'; readonly value: string }
  | { readonly code: 'url_not_https'; readonly value: string; readonly production?: boolean }
  | { readonly code: 'not_one_of'; readonly value: string; readonly allowed: readonly string[] }
  | { readonly code: 'client_name_missing' }
  | { readonly code: 'grant_types_missing' }
  | { readonly code: 'refresh_token_needs_code' }
  | { readonly code: 'public_client_auth' }
  | { readonly code: 'confidential_client_auth' }
  | { readonly code: 'public_client_credentials' }
  | { readonly code: 'admin_client_grant' }
  | { readonly code: 'redirect_uri_missing' }
  | { readonly code: 'jwks_uri_missing' }
  | { readonly code: 'admin_scope_refused' }
  | { readonly code: 'scope_missing' }
  | { readonly code: 'openid_scope_missing' }
  | { readonly code: 'min_acr_needs_code' }
  | { readonly code: 'client_not_found'; readonly clientId: string }
  | { readonly code: 'client_exists'; readonly clientId: string }
  | { readonly code: 'client_internal'; readonly clientId: string }
  | { readonly code: 'client_without_secret'; readonly clientId: string; readonly method: string }
  /** oidc-provider refused the client's metadata; `detail` is its description. */
  | { readonly code: 'client_metadata_invalid'; readonly detail: string }
  // Back-channel logout
  | { readonly code: 'host_unresolvable'; readonly uri: string; readonly host: string }
  | { readonly code: 'destination_private'; readonly uri: string }
  | { readonly code: 'delivery_not_found'; readonly id: string }
  | { readonly code: 'delivery_done'; readonly id: string }
  | { readonly code: 'delivery_id_invalid' }
  | { readonly code: 'filter_not_id'; readonly field: string }
  | { readonly code: 'filter_state'; readonly allowed: readonly string[] }
  | { readonly code: 'filter_limit'; readonly max: number }
  // Audit
  | { readonly code: 'audit_type_unknown'; readonly value: string }
  // Requests whose body cannot be read as what the route takes (HTTP)
  | { readonly code: 'body_unreadable'; readonly expected: 'json' | 'form' }
  | { readonly code: 'body_too_large'; readonly maxKilobytes: number }
  // Outages
  | { readonly code: 'database_unavailable' };

export interface AppErrorOptions {
  /** Detail for logs only; never shown to a user or serialised into a response. */
  readonly debug?: unknown;
  /** The form field or CLI flag the error is about, when there is one. */
  readonly field?: string;
  /**
   * Why, for a page to word it. Every error of the domain, the store and src/oidc has one (the architecture test
   * checks); the HTTP layer raises its own page errors with their page text as the message.
   */
  readonly reason?: ErrorReason;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  /** OAuth 2.0 error code used when this error reaches an OAuth-style JSON response. */
  abstract readonly oauthError: string;
  readonly field: string | undefined;
  readonly debug: unknown;
  readonly reason: ErrorReason | undefined;

  constructor(message: string, options: AppErrorOptions = {}) {
    super(message);
    this.name = new.target.name;
    this.field = options.field;
    this.debug = options.debug;
    this.reason = options.reason;
  }
}

export class ValidationError extends AppError {
  readonly status = 400;
  readonly oauthError = 'invalid_request';
}

export class InvalidCredentialsError extends AppError {
  readonly status = 401;
  readonly oauthError = 'access_denied';
  constructor(options: AppErrorOptions = {}) {
    // One message for every reason (unknown user, wrong password, disabled account).
    super('Invalid email or password.', { ...options, reason: { code: 'invalid_credentials' } });
  }
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly oauthError = 'access_denied';
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly oauthError = 'invalid_request';
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly oauthError = 'invalid_request';
}

/** A request body larger than the route takes; it is not read further. */
export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly oauthError = 'invalid_request';
}

/** Too many failed password attempts: refused without checking the password, until retryAfterSeconds have passed. */
export class TooManyAttemptsError extends AppError {
  readonly status = 429;
  readonly oauthError = 'access_denied';
  constructor(readonly retryAfterSeconds: number) {
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    super(`Too many attempts. Try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`, { reason: { code: 'too_many_attempts', minutes } });
  }
}

/**
 * A sensitive action (password change, recovery codes, turning two-step verification off, logging out everywhere)
 * needs the session to have proven its user recently: a second-factor check when `secondFactor`, else a password check.
 */
export class ReauthenticationRequiredError extends AppError {
  readonly status = 403;
  readonly oauthError = 'access_denied';
  constructor(readonly secondFactor: boolean) {
    super(
      secondFactor
        ? 'Confirm it is you first: this change needs a recent two-step verification.'
        : 'Confirm it is you first: this change needs your password again.',
      { reason: { code: 'reauthentication_required', secondFactor } },
    );
  }
}

/** A configured secret cannot open data sealed with another one. */
export class SecretMismatchError extends AppError {
  readonly status = 500;
  readonly oauthError = 'server_error';
}

/** How long a client is told to wait (Retry-After) before trying again when the database is out of reach. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * The database cannot be reached or is busy (connection refused or cut, locked file, I/O failure): nothing was
 * decided, so the request may be sent again later. The store raises it for every such driver error; HTTP answers
 * 503 with Retry-After (OAuth `temporarily_unavailable`), the CLI exits with a message.
 */
export class UnavailableError extends AppError {
  readonly status = 503;
  readonly oauthError = 'temporarily_unavailable';
  readonly retryAfterSeconds = UNAVAILABLE_RETRY_AFTER_SECONDS;
  constructor(options: Omit<AppErrorOptions, 'reason' | 'field'> = {}) {
    super('The database is unavailable. Try again in a few seconds.', { ...options, reason: { code: 'database_unavailable' } });
  }
}
