import { errors } from 'oidc-provider';
import { UnavailableError } from '../domain/errors.js';

/**
 * oidc-provider answers every error that is not one of its own with a 500 server_error (and in the authorization
 * endpoint redirects it to the client so). A database outage is its `temporarily_unavailable` instead, which the
 * protocol defines for it (RFC 6749 4.1.2.1): status 503, kept visible, carried in the error redirect too. The
 * domain's error stays its cause (src/http/errors.ts words a page by it and sets Retry-After).
 */
export function toProviderError(error: unknown): unknown {
  if (!(error instanceof UnavailableError)) return error;
  const converted = new errors.TemporarilyUnavailable(error.message, { cause: error });
  converted.status = error.status;
  converted.statusCode = error.status;
  return converted;
}

type AnyFunction = (...args: unknown[]) => unknown;

/** The function with its errors translated, synchronous ones (a cookie's lifetime) staying synchronous. */
function translating(fn: AnyFunction, self: unknown): AnyFunction {
  return (...args) => {
    let result: unknown;
    try {
      result = fn.apply(self, args);
    } catch (error) {
      throw toProviderError(error);
    }
    return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(toProviderError(error))) : result;
  };
}

/**
 * What oidc-provider calls into Gatehouse's stores through (the adapter's payload store, client and account
 * lookups, the session index), with every method's outage turned into oidc-provider's error: one wrapper for the
 * provider's whole side of the store, so no hook is left to answer a 500.
 */
export function translatingOutages<T extends object>(target: T): T {
  if (typeof target === 'function') return translating(target as AnyFunction, undefined) as T;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      return typeof value === 'function' ? translating(value as AnyFunction, object) : value;
    },
  });
}
