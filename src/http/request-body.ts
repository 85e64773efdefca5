import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware } from 'koa';
import { PayloadTooLargeError, ValidationError } from '../domain/errors.js';

export type BodyKind = 'json' | 'form';

const MEDIA_TYPES: Record<BodyKind, string> = { json: 'application/json', form: 'application/x-www-form-urlencoded' };

/** True when the request carries a body at all (a declared length above zero, or a chunked one). */
function hasBody(ctx: Context): boolean {
  const length = ctx.get('content-length');
  return (length !== '' && length !== '0') || ctx.get('transfer-encoding') !== '';
}

/**
 * The one way a route reads its body: only the media type it takes (anything else sent is a 400), strict JSON (an
 * object or an array; `null`, `1` and `"str"` are a 400 like broken JSON), at most `maxKilobytes` (a 413).
 * The parser's own errors carry the raw body and, for JSON, a message quoting it: they are replaced here by the
 * domain's errors, which carry neither, so no answer and no log line can repeat what was sent.
 */
export function readBody(kind: BodyKind, maxKilobytes: number): Middleware {
  const unreadable = () =>
    new ValidationError(kind === 'json' ? 'Send a JSON object (Content-Type: application/json).' : 'The form could not be read.', {
      reason: { code: 'body_unreadable', expected: kind },
    });
  const parse = bodyParser({
    enableTypes: [kind],
    jsonLimit: `${maxKilobytes}kb`,
    formLimit: `${maxKilobytes}kb`,
    jsonStrict: true,
    onError(error) {
      const status = (error as { status?: unknown }).status;
      if (status === 413) throw new PayloadTooLargeError(`The request body is too large (at most ${maxKilobytes} KB).`, { reason: { code: 'body_too_large', maxKilobytes } });
      throw unreadable();
    },
  });
  return async (ctx, next) => {
    if (hasBody(ctx) && !ctx.is(MEDIA_TYPES[kind])) throw unreadable();
    await parse(ctx, next);
  };
}
