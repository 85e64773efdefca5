import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpRecord } from './checker.js';

/** One HTTP request that went through the front proxy, as the soak's invariants read it. */
export type ProxiedRequest = HttpRecord;

interface Backend {
  readonly name: string;
  port: number | undefined;
  readonly agent: Agent;
}

const REQUEST_TIMEOUT_MS = 20_000;
// Hop-by-hop headers (RFC 9110, 7.6.1) are the proxy's own business on each side.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

/**
 * The one address (the issuer) in front of several Gatehouse processes of one deployment, as a load balancer would
 * be: each request goes to the next backend that is up, round robin, with the Host header unchanged. A backend that
 * refuses the connection (it is down) is skipped and the request sent to the next one, which is safe because nothing
 * reached it; a connection that fails after that (the process died mid-request) answers 502, as a load balancer does.
 */
export class FrontProxy {
  readonly requests: ProxiedRequest[] = [];
  private readonly backends: Backend[] = [];
  private next = 0;
  private server: Server | undefined;
  port = 0;

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Points a backend's name at a port (a restarted process listens on a new one), or at none while it is down. */
  route(name: string, port: number | undefined): void {
    const existing = this.backends.find((b) => b.name === name);
    if (existing) {
      existing.port = port;
      return;
    }
    this.backends.push({ name, port, agent: new Agent({ keepAlive: true, maxSockets: 64 }) });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = Date.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = (req.url ?? '/').replace(/\?.*$/, '');
    const record = (backend: string | undefined, status: number, proxyError?: string) =>
      this.requests.push({ method: req.method ?? '', path, startedAt, endedAt: Date.now(), backend, status, proxyError });

    let lastBackend: string | undefined;
    for (let tried = 0; tried < this.backends.length; tried += 1) {
      const backend = this.backends[this.next++ % this.backends.length]!;
      if (backend.port === undefined) continue;
      lastBackend = backend.name;
      const outcome = await this.forward(backend, req, body, res);
      if (outcome === 'refused') continue;
      if (typeof outcome === 'number') record(backend.name, outcome);
      else record(backend.name, outcome.status, outcome.error);
      return;
    }
    res.writeHead(502, { 'content-type': 'text/plain' }).end('no backend is up');
    record(lastBackend, 502, 'no backend up');
  }

  /** The backend's status once its answer has been relayed; 'refused' when it was not listening (nothing sent). */
  private forward(backend: Backend, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<number | 'refused' | { status: number; error: string }> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (value: number | 'refused' | { status: number; error: string }) => {
        if (settled) return;
        settled = true;
        resolve(value);
      };
      const outgoing = request(
        { host: '127.0.0.1', port: backend.port, method: req.method, path: req.url, headers: { ...forwardable(req.headers), 'content-length': String(body.length) }, agent: backend.agent, timeout: REQUEST_TIMEOUT_MS },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
          answer.pipe(res);
          answer.on('end', () => settle(answer.statusCode ?? 502));
          answer.on('error', () => {
            res.destroy();
            settle({ status: answer.statusCode ?? 502, error: 'backend connection lost mid-answer' });
          });
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error('timeout')));
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        if (settled) return;
        if (error.code === 'ECONNREFUSED') return settle('refused');
        const status = error.message === 'timeout' ? 504 : 502;
        if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain' }).end('backend failed');
        else res.destroy();
        settle({ status, error: `backend ${error.code ?? error.message}` });
      });
      outgoing.end(body);
    });
  }

  async close(): Promise<void> {
    for (const backend of this.backends) backend.agent.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
  }
}
