import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

// One counter for every receiver of the test process, so tests can say in which order things happened (arrivals,
// answers, connections closing) across receivers without comparing clock readings.
let events = 0;
const nextEvent = () => (events += 1);

/** One POST a receiver got, as it arrived. */
export interface ReceivedLogout {
  readonly method: string;
  readonly contentType: string | undefined;
  readonly cookie: string | undefined;
  readonly token: string;
  /** The status the receiver answered (or 0 when it held the response open, or the sender left before the answer). */
  answered: number;
  /** When it arrived, in the order of events across all receivers. */
  readonly arrived: number;
  /** When it arrived, by the clock (a token is checked as of its arrival: it expires two minutes after). */
  readonly at: Date;
  /** When its connection closed (answered and done, or abandoned by the sender); undefined while it is open. */
  closed: number | undefined;
}

/** What a receiver answers: a status, or 'hang' to hold the response open (a slow or stuck application). */
export type Answer = number | 'hang';

export interface ReceiverOptions {
  /** Serve https with this key and certificate (a production-mode receiver). */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** The host name in the URI (the server listens on 127.0.0.1 either way). */
  readonly host?: string;
}

/**
 * A relying party's back-channel logout endpoint: a real HTTP(S) server on 127.0.0.1 that records every POST. It can
 * be taken down and brought back on the same port, scripted to answer a sequence of statuses, held until the test
 * lets it answer (`gate`), and waited for (`waitFor`).
 */
export class LogoutReceiver {
  readonly received: ReceivedLogout[] = [];
  private server: Server | undefined;
  private port = 0;
  private readonly open = new Set<ServerResponse>();
  private readonly waiters = new Set<() => void>();
  /** Answers for the next requests, in order; when empty, `defaultAnswer`. */
  answers: Answer[] = [];
  /** What it answers when `answers` is empty (a receiver that is broken for a while answers 503, say). */
  defaultAnswer: Answer = 200;
  /** Awaited before each answer (not before a 'hang'): lets a test decide when the receiver answers. */
  gate: (() => Promise<void>) | undefined;

  constructor(private readonly options: ReceiverOptions = {}) {}

  get uri(): string {
    return `${this.options.tls ? 'https' : 'http'}://${this.options.host ?? '127.0.0.1'}:${this.port}/backchannel-logout`;
  }

  async up(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const server = this.options.tls ? createTlsServer({ key: this.options.tls.key, cert: this.options.tls.cert }, handler) : createServer(handler);
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

  /** Resolves once `count` requests have arrived (and, with `closed`, their connections have closed). */
  waitFor(count: number, options: { closed?: boolean; timeoutMs?: number } = {}): Promise<ReceivedLogout[]> {
    const done = () => this.received.length >= count && (!options.closed || this.received.slice(0, count).every((r) => r.closed !== undefined));
    if (done()) return Promise.resolve(this.received.slice(0, count));
    const timeoutMs = options.timeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        cleanup();
        resolve(this.received.slice(0, count));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.uri}: ${this.received.length} of ${count} requests arrived${options.closed ? ' and closed' : ''} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  private changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token') ?? '';
    const answer = this.answers.shift() ?? this.defaultAnswer;
    const record: ReceivedLogout = {
      method: req.method ?? '', contentType: req.headers['content-type'], cookie: req.headers.cookie, token, answered: answer === 'hang' ? 0 : answer,
      arrived: nextEvent(), at: new Date(), closed: undefined,
    };
    res.on('close', () => {
      record.closed = nextEvent();
      this.open.delete(res);
      this.changed();
    });
    this.received.push(record);
    this.changed();
    if (answer === 'hang') {
      this.open.add(res);
      return;
    }
    if (this.gate) await this.gate();
    // A sender that gave up while the gate held the answer (its timeout) never got it.
    if (record.closed !== undefined) {
      record.answered = 0;
      return;
    }
    res.statusCode = answer;
    res.end();
  }
}

/**
 * Verifies a logout token as a relying party must (OpenID Connect Back-Channel Logout 1.0, 2.6): signature against the
 * issuer's JWKS with the client's algorithm, typ logout+jwt, iss, aud, iat, exp, jti, the event, sid/sub, no nonce.
 */
export async function verifyLogoutToken(
  token: string,
  /** `at`: when it arrived, as of which it is checked (default now). */
  expected: { issuer: string; clientId: string; alg: string; at?: Date },
  /** The issuer's keys, when the caller fetched them once for many tokens; otherwise fetched from its /jwks. */
  jwks: jose.JWTVerifyGetKey = jose.createRemoteJWKSet(new URL(`${expected.issuer}/jwks`)),
) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
    issuer: expected.issuer,
    audience: expected.clientId,
    typ: 'logout+jwt',
    algorithms: [expected.alg],
    requiredClaims: ['iat', 'exp', 'jti', 'events'],
    ...(expected.at ? { currentDate: expected.at } : {}),
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
