import { Buffer } from 'node:buffer';
import type { Context, Middleware } from 'koa';
import type { TokenRateLimit } from '../domain/clients/token-rate-limit.js';

// oidc-provider reads at most this much of a request body (lib/shared/selective_body.js); so does this peek.
const BODY_LIMIT = 56 * 1024;

/** The client id of HTTP Basic client authentication (RFC 6749 2.3.1: form-encoded, then base64). */
function basicClientId(authorization: string): string | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]{1,4096})$/i.exec(authorization);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The subject of a client assertion (private_key_jwt), read without verifying it: it only names the client. */
function assertionSubject(assertion: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

async function readBody(ctx: Context): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The client a token request names: its Basic credentials, else the client_id (or the client assertion's subject)
 * of its form body. Reading the body consumes the request stream, so the text is handed on as the parsed-upstream
 * body oidc-provider then reads (`ctx.request.body`, a string it parses as it would have; it warns once that an
 * upstream body parser is in use).
 */
async function namedClient(ctx: Context): Promise<{ clientId: string | undefined } | 'too_large'> {
  const basic = basicClientId(ctx.get('authorization'));
  if (basic) return { clientId: basic };
  if (!ctx.is('application/x-www-form-urlencoded')) return { clientId: undefined };
  const body = await readBody(ctx);
  if (body === undefined) return 'too_large';
  (ctx.request as { body?: unknown }).body = body;
  const form = new URLSearchParams(body);
  const clientId = form.get('client_id') ?? undefined;
  const assertion = form.get('client_assertion');
  return { clientId: clientId ?? (assertion ? assertionSubject(assertion) : undefined) };
}

function oauthError(ctx: Context, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
}

/**
 * The per-client rate limit of the token endpoint, around oidc-provider's own handling: a request naming a client
 * whose budget is used up is answered 429 with Retry-After before oidc-provider sees it, and each token response
 * oidc-provider gives (200) counts one for the client it authenticated (ctx.oidc.client, known after its own
 * middleware). The error is `temporarily_unavailable`: RFC 6749 defines no rate-limit error for the token endpoint;
 * this one (from its authorization endpoint) says "try again later" to client libraries, which `invalid_request`
 * would not (`slow_down` belongs to the device flow).
 */
export function tokenRateLimit(deps: { readonly limit: TokenRateLimit; readonly tokenPath: string }): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== deps.tokenPath) return next();
    const named = await namedClient(ctx);
    if (named === 'too_large') return oauthError(ctx, 400, 'invalid_request', 'failed to parse the request body');
    if (named.clientId) {
      const budget = await deps.limit.admit(named.clientId);
      if (!budget.allowed) {
        ctx.set('Retry-After', String(budget.retryAfterSeconds));
        return oauthError(ctx, 429, 'temporarily_unavailable', `This client was issued too many tokens in the last minute; try again in ${budget.retryAfterSeconds} seconds.`);
      }
    }
    await next();
    const authenticated = (ctx as Context & { oidc?: { client?: { clientId: string } } }).oidc?.client;
    if (ctx.status === 200 && authenticated) await deps.limit.issued(authenticated.clientId);
  };
}
