import type { Middleware } from 'koa';
import { normalizeHost } from '../../config/env.js';

/**
 * Paths that answer whatever the host: load balancers and orchestrators probe them by IP address, and their answers
 * name no URL (/metrics also needs its bearer token).
 */
export const HOST_INDEPENDENT_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

export interface HostCheckOptions {
  readonly issuer: string;
  /** Normalized extra names (config.allowedHosts); one without a port matches every port. */
  readonly allowedHosts: readonly string[];
  /** Off outside production, where Gatehouse answers for any name (localhost and 127.0.0.1 alike). */
  readonly enforce: boolean;
}

/** The name part of a normalized host, without its port. */
function nameOf(host: string): string {
  return host.replace(/:\d+$/, '');
}

const hasPort = (host: string) => /:\d+$/.test(host);

/** Whether a request's host (Host, or X-Forwarded-Host with TRUST_PROXY) is the issuer's or an allowed one. */
export function isServedHost(raw: string, options: Pick<HostCheckOptions, 'issuer' | 'allowedHosts'>): boolean {
  const issuer = new URL(options.issuer);
  const host = normalizeHost(raw, issuer.protocol);
  if (!host) return false;
  if (host === issuer.host) return true;
  return options.allowedHosts.some((allowed) => (hasPort(allowed) ? allowed === host : allowed === nameOf(host)));
}

/**
 * In production, answers only for the issuer's host and the allowed names: any other gets 421 Misdirected Request,
 * so no page, token or redirect is ever produced for a host an attacker chose. The host checked is the one Koa
 * reports (the first X-Forwarded-Host only when TRUST_PROXY is on, else Host), which is the one the rest of the
 * request would see.
 */
export function hostCheck(options: HostCheckOptions): Middleware {
  return async (ctx, next) => {
    if (!options.enforce || HOST_INDEPENDENT_PATHS.has(ctx.path) || isServedHost(ctx.host, options)) return next();
    ctx.status = 421;
    ctx.body = { error: 'misdirected_request', error_description: 'This server does not answer for that host name.' };
  };
}
