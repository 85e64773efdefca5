import * as oidc from 'openid-client';
import { Browser, expectPage, expectRedirect, findForm, signIn } from '../support/browser.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const PASSWORD = 'a very secret password 42';

describe.each(databaseKinds())('HTTP surface (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let config: oidc.Configuration;
  let clientSecret: string;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind);
    await gatehouse.container.accounts.createUser({ email: 'ada@example.com', password: PASSWORD });
    const created = await gatehouse.container.clients.create({ name: 'Notebook', redirectUris: [REDIRECT_URI], firstParty: true });
    clientSecret = created.secret!;
    config = await oidc.discovery(new URL(gatehouse.issuer), created.client.clientId, clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  async function loginPage(browser: Browser) {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    return expectPage(await browser.navigate(url));
  }

  it('answers /healthz and /readyz', async () => {
    const health = await fetch(`${gatehouse.issuer}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${gatehouse.issuer}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', database: 'ok' });
  });

  it('serves the login page under a strict CSP, with no inline script or style, and a labelled form', async () => {
    const page = await loginPage(new Browser(gatehouse.issuer));
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.html).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
    expect(page.html).toMatch(/<input[^>]+name="login"/);
    expect(page.html).toMatch(/<input[^>]+name="password"[^>]+type="password"|<input[^>]+type="password"[^>]+name="password"/);
    expect(page.html).toContain('<label for="login">');
    expect(page.html).toContain('<label for="password">');
    const stylesheet = await fetch(`${gatehouse.issuer}/assets/style.css`);
    expect(stylesheet.status).toBe(200);
    expect(stylesheet.headers.get('content-type')).toMatch(/text\/css/);
  });

  it('sets only HttpOnly, SameSite=Lax cookies, the SSO session cookie among them', async () => {
    const browser = new Browser(gatehouse.issuer);
    const page = await loginPage(browser);
    expectRedirect(await browser.submit(page, /\/login$/, { login: 'ada@example.com', password: PASSWORD }));
    const cookies = browser.setCookieLines;
    expect(cookies.some((c) => c.startsWith('gatehouse_session='))).toBe(true);
    expect(cookies.some((c) => c.startsWith('gatehouse_csrf='))).toBe(true);
    for (const cookie of cookies) {
      expect(cookie.toLowerCase()).toContain('httponly');
      expect(cookie.toLowerCase()).toContain('samesite=lax');
    }
  });

  it('refuses a login POST without its CSRF token, or with the token of another sign-in', async () => {
    const browser = new Browser(gatehouse.issuer);
    const page = await loginPage(browser);
    const form = findForm(page.html, /\/login$/);
    const action = new URL(form.action, page.url);

    const missing = await browser.request(action, { form: { login: 'ada@example.com', password: PASSWORD } });
    expect(missing.status).toBe(403);
    expect(await missing.text()).toContain('This form has expired or was not sent by Gatehouse');

    const other = await loginPage(new Browser(gatehouse.issuer));
    const foreign = await browser.request(action, { form: { csrf: findForm(other.html, /\/login$/).hidden.csrf!, login: 'ada@example.com', password: PASSWORD } });
    expect(foreign.status).toBe(403);

    // The genuine form still works afterwards.
    const ok = expectRedirect(await browser.submit(page, /\/login$/, { login: 'ada@example.com', password: PASSWORD }));
    expect(ok.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('shows a clear page for an unknown or expired interaction', async () => {
    const response = await new Browser(gatehouse.issuer).request('/interaction/does-not-exist');
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain('This sign-in attempt has expired');
    expect(html).not.toMatch(/\n\s+at /);
  });

  it('gives every response a request id and logs no password, code, token, secret or cookie', async () => {
    const browser = new Browser(gatehouse.issuer);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI, scope: 'openid email offline_access', prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = await signIn(browser, url, { login: 'ada@example.com', password: PASSWORD });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    await oidc.fetchUserInfo(config, refreshed.access_token, tokens.claims()!.sub);

    const response = await fetch(`${gatehouse.issuer}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(response.headers.get('x-request-id')).toBe('trace-123');
    const log = gatehouse.rawLog();
    expect(log).toContain('"requestId":"trace-123"');
    const secrets = [
      PASSWORD, clientSecret, callback.searchParams.get('code')!, tokens.access_token, tokens.refresh_token!, tokens.id_token!,
      refreshed.access_token, refreshed.refresh_token!, ...browser.cookieNames().map((name) => browser.cookie(name)!),
    ];
    for (const secret of secrets) expect(log).not.toContain(secret);
  });
});

describe('behind a TLS-terminating proxy with an https issuer', () => {
  let gatehouse: TestGatehouse;

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('uses a __Host- prefixed, Secure session cookie', async () => {
    gatehouse = await startTestGatehouse('sqlite', { env: { ISSUER: 'https://id.example.test', TRUST_PROXY: 'true' } });
    await gatehouse.container.accounts.createUser({ email: 'ada@example.com', password: PASSWORD });
    const created = await gatehouse.container.clients.create({ name: 'App', redirectUris: ['https://app.example.test/cb'], firstParty: true });
    const address = gatehouse.server.address() as { port: number };
    const direct = `http://127.0.0.1:${address.port}`;
    const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'id.example.test' };

    const cookies: string[] = [];
    const jar = () => cookies.map((c) => c.split(';')[0]).join('; ');
    const go = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(new URL(path, direct), { ...init, redirect: 'manual', headers: { ...proxied, cookie: jar(), ...(init.headers as Record<string, string>) } });
      cookies.push(...response.headers.getSetCookie());
      return response;
    };
    const auth = new URL('/auth', 'https://id.example.test');
    auth.search = new URLSearchParams({ client_id: created.client.clientId, redirect_uri: 'https://app.example.test/cb', response_type: 'code', scope: 'openid' }).toString();
    let response = await go(auth.pathname + auth.search);
    expect(response.status).toBe(303);
    const interaction = new URL(response.headers.get('location')!, 'https://id.example.test');
    response = await go(interaction.pathname);
    const form = findForm(await response.text(), /\/login$/);
    response = await go(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form.hidden, login: 'ada@example.com', password: PASSWORD }).toString(),
    });
    response = await go(new URL(response.headers.get('location')!, 'https://id.example.test').pathname + new URL(response.headers.get('location')!, 'https://id.example.test').search);
    const session = cookies.find((c) => c.startsWith('__Host-gatehouse_session='));
    expect(session).toBeDefined();
    expect(session!.toLowerCase()).toContain('secure');
    expect(session!.toLowerCase()).toContain('path=/');
    expect(session!.toLowerCase()).not.toContain('domain=');
    expect(response.headers.get('strict-transport-security')).toContain('max-age=');
  });
});
