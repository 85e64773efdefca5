import * as oidc from 'openid-client';
import { createDb, type Db } from '../../src/store/prisma/database.js';
import { Browser, expectPage } from '../support/browser.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { connectRelyingParty, type RelyingParty } from '../support/relying-party.js';

const PASSWORD = 'a very secret password 42';
const SESSION_COOKIE = /^gatehouse_session(\.sig)?=/;
const AFTER_LOGOUT = 'http://127.0.0.1:9/notes/signed-out';
const REQUESTS = 20;

describe.each(databaseKinds())('a visitor without a session stores nothing (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let db: Db;
  let app: RelyingParty;
  let idToken: string;

  const storedSessions = async () => ({
    providerSessions: await db.oidcPayload.count({ where: { model: 'Session' } }),
    ssoSessions: await db.ssoSession.count(),
  });

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind);
    db = createDb(gatehouse.database);
    await gatehouse.container.accounts.createUser({ email: 'ada@example.com', password: PASSWORD });
    const redirectUri = 'http://127.0.0.1:9/notes/callback';
    const created = await gatehouse.container.clients.create({ name: 'Notes', redirectUris: [redirectUri], postLogoutRedirectUris: [AFTER_LOGOUT], firstParty: true });
    app = await connectRelyingParty(gatehouse, { clientId: created.client.clientId, secret: created.secret!, redirectUri });
    // A real ID token, signed in on another browser: what an application sends as id_token_hint.
    idToken = (await app.login(new Browser(gatehouse.issuer), { login: 'ada@example.com', password: PASSWORD })).id_token!;
  });

  afterAll(async () => {
    await db?.$disconnect();
    await gatehouse?.stop();
  });

  const logoutVariants: [string, string, Record<string, string> | undefined][] = [
    ['GET without parameters', 'GET', undefined],
    ['GET with client_id, post_logout_redirect_uri and state', 'GET', { client_id: '', post_logout_redirect_uri: AFTER_LOGOUT, state: 'st-1' }],
    ['GET with id_token_hint, post_logout_redirect_uri and state', 'GET', { id_token_hint: '', post_logout_redirect_uri: AFTER_LOGOUT, state: 'st-2' }],
    ['GET with id_token_hint only', 'GET', { id_token_hint: '' }],
    ['GET with an unregistered post_logout_redirect_uri', 'GET', { client_id: '', post_logout_redirect_uri: 'http://127.0.0.1:9/elsewhere' }],
    ['GET with a broken id_token_hint', 'GET', { id_token_hint: 'not.a.token' }],
    ['POST without parameters', 'POST', {}],
    ['POST with id_token_hint and post_logout_redirect_uri', 'POST', { id_token_hint: '', post_logout_redirect_uri: AFTER_LOGOUT }],
    ['POST /session/end/confirm with a forged xsrf', 'POST-confirm', { xsrf: 'forged', logout: 'yes' }],
  ];

  /** The parameters with the client's id and the ID token filled in where they are left empty. */
  const filled = (params: Record<string, string>) =>
    Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v || (k === 'client_id' ? app.clientId : k === 'id_token_hint' ? idToken : v)]));

  it.each(logoutVariants)(`%s, sent ${REQUESTS} times, keeps no Session and sets no session cookie`, async (_name, method, params) => {
    const before = await storedSessions();
    const cookies: string[] = [];
    for (let i = 0; i < REQUESTS; i += 1) {
      const query = params && method === 'GET' ? `?${new URLSearchParams(filled(params))}` : '';
      const path = method === 'POST-confirm' ? '/session/end/confirm' : `/session/end${query}`;
      const response = await fetch(`${gatehouse.issuer}${path}`, {
        method: method === 'GET' ? 'GET' : 'POST',
        redirect: 'manual',
        // A browser that has a cookie of a session that is gone (ended, expired, purged) is a visitor too.
        headers: { accept: 'text/html', ...(i % 2 ? { cookie: 'gatehouse_session=gone-long-ago' } : {}), ...(method === 'GET' ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
        ...(method === 'GET' ? {} : { body: new URLSearchParams(filled(params ?? {})).toString() }),
      });
      await response.arrayBuffer();
      expect(response.status).toBeLessThan(500);
      cookies.push(...response.headers.getSetCookie());
    }
    expect(cookies.filter((line) => SESSION_COOKIE.test(line))).toEqual([]);
    expect(await storedSessions()).toEqual(before);
  });

  it('sends a visitor straight to the registered post_logout_redirect_uri, with state', async () => {
    const query = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: AFTER_LOGOUT, state: 'back-to-notes' });
    const response = await new Browser(gatehouse.issuer).request(`/session/end?${query}`);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${AFTER_LOGOUT}?state=back-to-notes`);
  });

  it('shows a visitor without a redirect the "signed out" page, and refuses an unregistered redirect', async () => {
    const browser = new Browser(gatehouse.issuer);
    const page = expectPage(await browser.navigate('/session/end'));
    expect(page).toMatchObject({ status: 200, url: new URL('/session/end/success', gatehouse.issuer) });
    expect(page.html).toMatch(/signed out/i);
    const refused = await browser.request(`/session/end?${new URLSearchParams({ client_id: app.clientId, post_logout_redirect_uri: 'https://evil.example/' })}`);
    expect(refused.status).toBe(400);
    expect(refused.headers.get('location')).toBeNull();
    expect(await refused.text()).toContain('post_logout_redirect_uri not registered');
    expect(browser.cookieNames()).toEqual([]);
  });

  it('keeps no Session for an authorization request that stops at the sign-in page, nor for the account pages signed out', async () => {
    const before = await storedSessions();
    const browser = new Browser(gatehouse.issuer);
    for (let i = 0; i < 5; i += 1) {
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(app.config, {
        redirect_uri: app.redirectUri, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      });
      expect(expectPage(await browser.navigate(url)).html).toContain('name="password"');
      expect(expectPage(await browser.navigate('/account')).html).toContain('name="password"');
    }
    expect(browser.setCookieLines.filter((line) => SESSION_COOKIE.test(line))).toEqual([]);
    expect(await storedSessions()).toEqual(before);
  });
});
