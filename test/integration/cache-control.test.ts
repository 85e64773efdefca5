import { Browser, expectPage, type Page } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

const PASSWORD = 'a very secret password 42';
const METRICS_TOKEN = 'cache-control-metrics-token-0123456789abc';

/** One request's Cache-Control and status. */
async function answer(url: string, init: RequestInit = {}): Promise<{ status: number; cacheControl: string | null; headers: Headers }> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  await response.arrayBuffer();
  return { status: response.status, cacheControl: response.headers.get('cache-control'), headers: response.headers };
}

const form = (body: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(body).toString(),
});

describe('Cache-Control of every route family', () => {
  let gatehouse: TestGatehouse;
  let url: (path: string) => string;
  let machine: { id: string; secret: string };

  beforeAll(async () => {
    gatehouse = await startTestGatehouse('sqlite', { env: { METRICS_TOKEN } });
    url = (path) => `${gatehouse.issuer}${path}`;
    await gatehouse.container.accounts.createUser({ email: 'admin@example.com', password: PASSWORD });
    await gatehouse.container.accounts.setAdmin('admin@example.com', true);
    const created = await gatehouse.container.clients.create({ name: 'Reporting job', grantTypes: ['client_credentials'], scope: 'profile' });
    machine = { id: created.client.clientId, secret: created.secret! };
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('lets discovery and the JWKS be cached publicly for a short while, the JWKS no longer than discovery', async () => {
    const discovery = await answer(url('/.well-known/openid-configuration'));
    expect(discovery).toMatchObject({ status: 200, cacheControl: 'public, max-age=300' });
    const jwks = await answer(url('/jwks'));
    expect(jwks).toMatchObject({ status: 200, cacheControl: 'public, max-age=60' });
  });

  it('lets the stylesheets be cached for an hour, revalidated by ETag', async () => {
    const first = await answer(url('/assets/style.css'));
    expect(first).toMatchObject({ status: 200, cacheControl: 'public, max-age=3600' });
    const again = await answer(url('/assets/brand.css'), { headers: { 'if-none-match': (await answer(url('/assets/brand.css'))).headers.get('etag')! } });
    expect(again).toMatchObject({ status: 304, cacheControl: 'public, max-age=3600' });
  });

  it('never lets an error be stored, even on a cacheable path', async () => {
    expect(await answer(url('/jwks'), { method: 'POST' })).toMatchObject({ status: 404, cacheControl: 'no-store' });
    expect(await answer(url('/assets/nothing-here.css'))).toMatchObject({ status: 404, cacheControl: 'no-store' });
    expect(await answer(url('/no/such/page'))).toMatchObject({ status: 404, cacheControl: 'no-store' });
  });

  it('never stores token, userinfo, introspection and revocation answers, success or failure', async () => {
    const basic = { authorization: `Basic ${Buffer.from(`${machine.id}:${machine.secret}`).toString('base64')}` };
    const token = await fetch(url('/token'), form({ grant_type: 'client_credentials', scope: 'profile' }, basic));
    expect(token.status).toBe(200);
    expect(token.headers.get('cache-control')).toBe('no-store');
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    expect(await answer(url('/token'), form({ grant_type: 'client_credentials' }))).toMatchObject({ status: 400, cacheControl: 'no-store' });
    expect(await answer(url('/token/introspection'), form({ token: accessToken }, basic))).toMatchObject({ status: 200, cacheControl: 'no-store' });
    expect(await answer(url('/token/revocation'), form({ token: accessToken }, basic))).toMatchObject({ status: 200, cacheControl: 'no-store' });
    expect(await answer(url('/token/revocation'), form({}))).toMatchObject({ status: 400, cacheControl: 'no-store' });
    expect(await answer(url('/me'))).toMatchObject({ status: 401, cacheControl: 'no-store' });
  });

  it('never stores logout pages, health checks or metrics', async () => {
    expect(await answer(url('/session/end'))).toMatchObject({ cacheControl: 'no-store' });
    expect(await answer(url('/session/end/success'))).toMatchObject({ status: 200, cacheControl: 'no-store' });
    expect(await answer(url('/healthz'))).toMatchObject({ status: 200, cacheControl: 'no-store' });
    expect(await answer(url('/readyz'))).toMatchObject({ status: 200, cacheControl: 'no-store' });
    expect(await answer(url('/metrics'), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).toMatchObject({ status: 200, cacheControl: 'no-store' });
    expect(await answer(url('/auth?client_id=nobody'))).toMatchObject({ status: 400, cacheControl: 'no-store' });
  });

  it('never stores the sign-in page, the account pages, the console or the admin API of a signed-in administrator', async () => {
    const browser = new Browser(gatehouse.issuer);
    const login = expectPage(await browser.navigate('/admin/clients'));
    expect(login.url.pathname).toMatch(/^\/interaction\//);
    expect(login.headers.get('cache-control')).toBe('no-store');
    const consolePage: Page = expectPage(await browser.submit(login, /\/login$/, { login: 'admin@example.com', password: PASSWORD }));
    expect(consolePage).toMatchObject({ status: 200, url: new URL('/admin/clients', gatehouse.issuer) });
    expect(consolePage.headers.get('cache-control')).toBe('no-store');
    for (const path of ['/admin/users', '/admin/audit', '/account', '/account/sessions']) {
      const page = expectPage(await browser.navigate(path));
      expect({ path, status: page.status, cacheControl: page.headers.get('cache-control') }).toEqual({ path, status: 200, cacheControl: 'no-store' });
    }
    const me = await browser.request('/admin/api/me', { headers: { accept: 'application/json' } });
    expect(me.status).toBe(200);
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect(await answer(url('/admin/api/users'))).toMatchObject({ status: 401, cacheControl: 'no-store' });
  });
});
