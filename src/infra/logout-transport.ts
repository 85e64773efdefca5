import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { LogoutTransport } from '../domain/logout/delivery-worker.js';
import { hostOf, isIpLiteral, refusedAddresses, uriProblem, type DestinationPolicy } from '../domain/logout/destination.js';

const REFUSED = 'destination refused: the host resolves to a loopback, link-local or private address';

function shortError(error: unknown): string {
  const code = (error as { code?: string })?.code;
  return (typeof code === 'string' ? code : (error as Error)?.message ?? String(error)).slice(0, 200);
}

/**
 * Sends logout tokens with node:http(s): one request per attempt on a fresh connection (no agent, so no cookies or
 * pooled state), redirects never followed (a 3xx is just a status), and the SSRF guard applied to the very addresses
 * the connection uses — the host is resolved once, inside the connection's own lookup, so a DNS answer cannot change
 * between the check and the connect (rebinding).
 */
export class HttpLogoutTransport implements LogoutTransport {
  constructor(private readonly policy: DestinationPolicy, private readonly lookup: typeof dnsLookup = dnsLookup) {}

  post(uri: string, logoutToken: string, signal: AbortSignal): Promise<{ status: number } | { error: string; retryable: boolean }> {
    const problem = uriProblem(uri, this.policy);
    if (problem) return Promise.resolve({ error: problem, retryable: false });
    const url = new URL(uri);
    const host = hostOf(url);
    if (isIpLiteral(host) && refusedAddresses(host, [host], this.policy).length > 0) return Promise.resolve({ error: REFUSED, retryable: false });

    let refused = false;
    const guarded: LookupFunction = (hostname, options, callback) => {
      this.lookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error) return callback(error, '', 0);
        const list = addresses as unknown as LookupAddress[];
        if (refusedAddresses(hostname, list.map((a) => a.address), this.policy).length > 0) {
          refused = true;
          return callback(Object.assign(new Error(REFUSED), { code: 'EREFUSED_DESTINATION' }), '', 0);
        }
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
        return callback(null, list[0]!.address, list[0]!.family);
      });
    };

    const body = new URLSearchParams({ logout_token: logoutToken }).toString();
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(
        url,
        {
          method: 'POST',
          agent: false,
          lookup: guarded,
          signal,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), accept: '*/*' },
        },
        (response) => {
          resolve({ status: response.statusCode ?? 0 });
          // Only the status matters; the body is not read.
          response.destroy();
        },
      );
      request.on('error', (error) => {
        if (signal.aborted) reject(error);
        else if (refused) resolve({ error: REFUSED, retryable: false });
        else resolve({ error: shortError(error), retryable: true });
      });
      request.end(body);
    });
  }
}
