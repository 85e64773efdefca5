import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** One POST a receiver got, as it arrived. */
export interface ReceivedLogout {
  readonly at: number;
  readonly method: string;
  readonly contentType: string | undefined;
  readonly cookie: string | undefined;
  readonly token: string;
  /** The status the receiver answered (or 0 when it held the response open). */
  readonly answered: number;
}

/** What a receiver answers: a status, or 'hang' to hold the response open (a slow or stuck application). */
export type Answer = number | 'hang';

/**
 * A relying party's back-channel logout endpoint: a real HTTP server on 127.0.0.1 that records every POST. It can be
 * taken down and brought back on the same port, and scripted to answer a sequence of statuses.
 */
export class LogoutReceiver {
  readonly received: ReceivedLogout[] = [];
  private server: Server | undefined;
  private port = 0;
  private readonly open = new Set<ServerResponse>();
  /** Answers for the next requests, in order; when empty, 200. */
  answers: Answer[] = [];
  /** Real milliseconds to wait before answering. */
  delayMs = 0;
  /** [arrived, answered] real times of every answered request. */
  readonly spans: [number, number][] = [];

  get uri(): string {
    return `http://127.0.0.1:${this.port}/backchannel-logout`;
  }

  async up(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async down(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.open.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token') ?? '';
    const answer = this.answers.shift() ?? 200;
    this.received.push({ at: Date.now(), method: req.method ?? '', contentType: req.headers['content-type'], cookie: req.headers.cookie, token, answered: answer === 'hang' ? 0 : answer });
    if (answer === 'hang') {
      this.open.add(res);
      return;
    }
    const arrived = Date.now();
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    res.statusCode = answer;
    res.end();
    this.spans.push([arrived, Date.now()]);
  }
}

/**
 * Verifies a logout token as a relying party must (OpenID Connect Back-Channel Logout 1.0, 2.6): signature against the
 * issuer's JWKS with the client's algorithm, typ logout+jwt, iss, aud, iat, exp, jti, the event, sid/sub, no nonce.
 */
export async function verifyLogoutToken(token: string, expected: { issuer: string; clientId: string; alg: string }) {
  const jwks = jose.createRemoteJWKSet(new URL(`${expected.issuer}/jwks`));
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
    issuer: expected.issuer,
    audience: expected.clientId,
    typ: 'logout+jwt',
    algorithms: [expected.alg],
    requiredClaims: ['iat', 'exp', 'jti', 'events'],
  });
  if (protectedHeader.alg !== expected.alg) throw new Error(`alg ${protectedHeader.alg}`);
  if (payload.nonce !== undefined) throw new Error('a logout token must not carry a nonce');
  const events = payload.events as Record<string, unknown> | undefined;
  if (!events || typeof events !== 'object' || JSON.stringify(events[BACKCHANNEL_LOGOUT_EVENT]) !== '{}') throw new Error('missing the back-channel logout event');
  if (payload.exp! - payload.iat! > 120 || payload.exp! <= payload.iat!) throw new Error('exp is not short');
  if (typeof payload.jti !== 'string' || payload.jti.length < 16) throw new Error('jti');
  if (!payload.sid && !payload.sub) throw new Error('neither sid nor sub');
  return payload as jose.JWTPayload & { sid?: string; sub?: string; jti: string };
}
