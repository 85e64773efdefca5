// The one family of errors Gatehouse raises on purpose. src/http/errors.ts and src/cli/errors.ts map them to
// OAuth JSON, HTML pages and exit codes; anything else is an unexpected failure and is reported generically.

export interface AppErrorOptions {
  /** Detail for logs only; never shown to a user or serialised into a response. */
  readonly debug?: unknown;
  /** The form field or CLI flag the error is about, when there is one. */
  readonly field?: string;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  /** OAuth 2.0 error code used when this error reaches an OAuth-style JSON response. */
  abstract readonly oauthError: string;
  readonly field: string | undefined;
  readonly debug: unknown;

  constructor(message: string, options: AppErrorOptions = {}) {
    super(message);
    this.name = new.target.name;
    this.field = options.field;
    this.debug = options.debug;
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
    super('Invalid email or password.', options);
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

/** Too many failed password attempts: refused without checking the password, until retryAfterSeconds have passed. */
export class TooManyAttemptsError extends AppError {
  readonly status = 429;
  readonly oauthError = 'access_denied';
  constructor(readonly retryAfterSeconds: number) {
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    super(`Too many attempts. Try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`);
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
    super(secondFactor
      ? 'Confirm it is you first: this change needs a recent two-step verification.'
      : 'Confirm it is you first: this change needs your password again.');
  }
}

/** A configured secret cannot open data sealed with another one. */
export class SecretMismatchError extends AppError {
  readonly status = 500;
  readonly oauthError = 'server_error';
}
