import { request } from 'node:http';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request with a Host header of our choosing (fetch does not let one set it), to the server's real address. */
function send(gatehouse: TestGatehouse, path: string, headers: Record<string, string>, method = 'GET'): Promise<RawAnswer> {
  const { port } = new URL(gatehouse.issuer);
  return new Promise((resolve, reject) => {
    // An empty host means none at all (Node would otherwise fill in the address it connects to).
    const noHost = headers.host === '';
    const sent = Object.fromEntries(Object.entries({ accept: 'application/json', ...headers }).filter(([name]) => !(noHost && name === 'host')));
    const req = request({ host: '127.0.0.1', port, path, method, headers: sent, setHost: !noHost }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const PROTOCOL_PATHS = ['/.well-known/openid-configuration', '/jwks', '/auth?client_id=x', '/session/end', '/account', '/admin', '/interaction/some-uid', '/assets/style.css', '/me'];

/** Every URL a discovery document names. */
function urlsIn(metadata: Record<string, unknown>): string[] {
  return Object.values(metadata).filter((value): value is string => typeof value === 'string' && /^https?:\/\//.test(value));
}

describe('the Host header in production', () => {
  let gatehouse: TestGatehouse;
  let issuerHost: string;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse('sqlite', { env: { NODE_ENV: 'production', ALLOWED_HOSTS: 'Gatehouse.Internal, login.example.net:8443, [0:0::1]' } });
    issuerHost = new URL(gatehouse.issuer).host;
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it.each(PROTOCOL_PATHS)('answers %s for another host with 421 Misdirected Request, no redirect, nothing cacheable', async (path) => {
    for (const host of ['evil.example', `evil.example:${new URL(gatehouse.issuer).port}`, 'login.example.net', 'login.example.net:443', '[::2]', `127.0.0.1.evil.example`]) {
      const answer = await send(gatehouse, path, { host });
      expect({ host, status: answer.status }).toEqual({ host, status: 421 });
      expect(answer.headers.location).toBeUndefined();
      expect(answer.headers['set-cookie']).toBeUndefined();
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(answer.body)).toEqual({ error: 'misdirected_request', error_description: expect.any(String) });
    }
  });

  it('answers for the issuer host, and for the allowed names (any case, a port only where the entry names one, IPv6 normalized)', async () => {
    for (const host of [issuerHost, 'gatehouse.internal', 'GATEHOUSE.internal:3000', 'gatehouse.internal.', 'login.example.net:8443', '[::1]', '[0::1]:9000']) {
      const answer = await send(gatehouse, '/.well-known/openid-configuration', { host });
      expect({ host, status: answer.status }).toEqual({ host, status: 200 });
      // Whatever name was used, every URL in discovery is the issuer's.
      const metadata = JSON.parse(answer.body) as Record<string, unknown>;
      expect(metadata.issuer).toBe(gatehouse.issuer);
      expect(metadata.jwks_uri).toBe(`${gatehouse.issuer}/jwks`);
      for (const url of urlsIn(metadata)) expect(new URL(url).origin).toBe(gatehouse.issuer);
    }
  });

  it('refuses a request without a Host header or with a malformed one', async () => {
    // Node's HTTP server itself refuses an HTTP/1.1 request without Host.
    expect((await send(gatehouse, '/jwks', { host: '' })).status).toBe(400);
    for (const host of ['user@', 'a b', 'gatehouse.internal/path', '[::1', 'gatehouse.internal:99999', '-gatehouse.internal']) {
      expect({ host, status: (await send(gatehouse, '/jwks', { host })).status }).toEqual({ host, status: 421 });
    }
  });

  it('ignores X-Forwarded-Host without TRUST_PROXY', async () => {
    expect((await send(gatehouse, '/jwks', { host: issuerHost, 'x-forwarded-host': 'evil.example' })).status).toBe(200);
    expect((await send(gatehouse, '/jwks', { host: 'evil.example', 'x-forwarded-host': issuerHost })).status).toBe(421);
  });

  it('lets the health checks answer whatever the host, since probes use an IP address', async () => {
    expect(await send(gatehouse, '/healthz', { host: '10.1.2.3:3000' })).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    expect((await send(gatehouse, '/readyz', { host: '10.1.2.3' })).status).toBe(200);
  });
});

describe('the Host header behind a trusted proxy in production', () => {
  let gatehouse: TestGatehouse;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse('sqlite', { env: { NODE_ENV: 'production', TRUST_PROXY: 'true' } });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('checks the forwarded host (the one the request is handled under), not the proxy\'s Host', async () => {
    const issuerHost = new URL(gatehouse.issuer).host;
    expect((await send(gatehouse, '/jwks', { host: 'gatehouse-upstream:3000', 'x-forwarded-host': issuerHost })).status).toBe(200);
    expect((await send(gatehouse, '/jwks', { host: issuerHost, 'x-forwarded-host': 'evil.example' })).status).toBe(421);
    // A proxy that appends instead of overwriting: the first value is what the request would be handled under.
    expect((await send(gatehouse, '/jwks', { host: issuerHost, 'x-forwarded-host': `evil.example, ${issuerHost}` })).status).toBe(421);
    expect((await send(gatehouse, '/jwks', { host: issuerHost })).status).toBe(200);
  });
});

describe('the Host header outside production', () => {
  let gatehouse: TestGatehouse;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse('sqlite');
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('answers for any name (localhost and 127.0.0.1 alike), but discovery still names the issuer only', async () => {
    const answer = await send(gatehouse, '/.well-known/openid-configuration', { host: 'evil.example' });
    expect(answer.status).toBe(200);
    const metadata = JSON.parse(answer.body) as Record<string, unknown>;
    expect(urlsIn(metadata).length).toBeGreaterThan(5);
    for (const url of urlsIn(metadata)) expect(new URL(url).origin).toBe(gatehouse.issuer);
    expect((await send(gatehouse, '/jwks', { host: `localhost:${new URL(gatehouse.issuer).port}` })).status).toBe(200);
  });
});
