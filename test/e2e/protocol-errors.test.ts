import * as oidc from 'openid-client';
import { Browser, expectPage, expectRedirect, findForm, signIn } from '../support/browser.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const PASSWORD = 'correct horse battery staple';
const insecure = { execute: [oidc.allowInsecureRequests] };

describe.each(databaseKinds())('protocol errors (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let clientId: string;
  let clientSecret: string;
  let config: oidc.Configuration;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind);
    await gatehouse.container.accounts.createUser({ email: 'ada@example.com', password: PASSWORD });
    await gatehouse.container.accounts.createUser({ email: 'eve@example.com', password: PASSWORD });
    const created = await gatehouse.container.clients.create({ name: 'Notebook', redirectUris: [REDIRECT_URI], firstParty: true });
    clientId = created.client.clientId;
    clientSecret = created.secret!;
    config = await oidc.discovery(new URL(gatehouse.issuer), clientId, clientSecret, undefined, insecure);
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  // offline_access needs prompt=consent (OpenID Connect Core 11); an override of undefined drops a parameter.
  async function authorizationUrl(overrides: Record<string, string | undefined> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const parameters: Record<string, string | undefined> = {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email offline_access',
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: oidc.randomState(),
      ...overrides,
    };
    const url = oidc.buildAuthorizationUrl(config, Object.fromEntries(Object.entries(parameters).filter(([, v]) => v !== undefined)) as Record<string, string>);
    return { url, verifier };
  }

  async function tokensFor(email: string) {
    const { url, verifier } = await authorizationUrl();
    const callback = await signIn(new Browser(gatehouse.issuer), url, { login: email, password: PASSWORD });
    return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: url.searchParams.get('state')! });
  }

  it('never redirects to an unregistered redirect_uri', async () => {
    const { url } = await authorizationUrl({ redirect_uri: 'https://attacker.example/steal' });
    const response = await new Browser(gatehouse.issuer).request(url);
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain('invalid_redirect_uri');
    expect(html).not.toMatch(/<script/i);
  });

  it('answers an unknown client with invalid_client and no redirect', async () => {
    const url = new URL(`${gatehouse.issuer}/auth`);
    url.search = new URLSearchParams({ client_id: 'no-such-client', redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid' }).toString();
    const response = await new Browser(gatehouse.issuer).request(url);
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('invalid_client');
  });

  it('refuses a wrong client secret with invalid_client', async () => {
    const wrong = await oidc.discovery(new URL(gatehouse.issuer), clientId, 'not-the-secret', undefined, insecure);
    await expect(oidc.clientCredentialsGrant(wrong)).rejects.toMatchObject({ error: 'invalid_client' });
    const { url, verifier } = await authorizationUrl();
    const callback = await signIn(new Browser(gatehouse.issuer), url, { login: 'ada@example.com', password: PASSWORD });
    await expect(oidc.authorizationCodeGrant(wrong, callback, { pkceCodeVerifier: verifier, expectedState: url.searchParams.get('state')! }))
      .rejects.toMatchObject({ error: 'invalid_client' });
  });

  it('refuses a reused authorization code and revokes the tokens issued from it', async () => {
    const { url, verifier } = await authorizationUrl();
    const callback = await signIn(new Browser(gatehouse.issuer), url, { login: 'ada@example.com', password: PASSWORD });
    const checks = { pkceCodeVerifier: verifier, expectedState: url.searchParams.get('state')! };
    const tokens = await oidc.authorizationCodeGrant(config, callback, checks);
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true });

    await expect(oidc.authorizationCodeGrant(config, callback, checks)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a PKCE verifier that does not match with invalid_grant', async () => {
    const { url } = await authorizationUrl();
    const callback = await signIn(new Browser(gatehouse.issuer), url, { login: 'ada@example.com', password: PASSWORD });
    await expect(oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: url.searchParams.get('state')! }))
      .rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('requires PKCE from public clients', async () => {
    const spa = await gatehouse.container.clients.create({ name: 'SPA', redirectUris: [REDIRECT_URI], public: true });
    const url = new URL(`${gatehouse.issuer}/auth`);
    url.search = new URLSearchParams({ client_id: spa.client.clientId, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', state: 's1' }).toString();
    const redirect = expectRedirect(await new Browser(gatehouse.issuer).navigate(url));
    expect(redirect.searchParams.get('error')).toBe('invalid_request');
    expect(redirect.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('answers prompt=none without a session with login_required', async () => {
    const { url } = await authorizationUrl({ prompt: 'none' });
    const redirect = expectRedirect(await new Browser(gatehouse.issuer).navigate(url));
    expect(redirect.searchParams.get('error')).toBe('login_required');
  });

  it('shows one generic message for a wrong password and an unknown user, and issues nothing', async () => {
    const messages: string[] = [];
    for (const credentials of [{ login: 'ada@example.com', password: 'wrong password!' }, { login: 'nobody@example.com', password: PASSWORD }]) {
      const browser = new Browser(gatehouse.issuer);
      const { url } = await authorizationUrl();
      const page = expectPage(await browser.navigate(url));
      const result = expectPage(await browser.submit(page, /\/login$/, credentials));
      expect(result.status).toBe(401);
      messages.push(/role="alert"[^>]*>([^<]*)</.exec(result.html)![1]!);
      // The form is shown again, with the email kept and the password not.
      expect(result.html).toContain(`value="${credentials.login}"`);
      expect(result.html).not.toContain(credentials.password);
    }
    expect(messages[0]).toBe('Invalid email or password.');
    expect(messages[1]).toBe(messages[0]);
  });

  it('refuses a disabled user at the login form and stops the tokens they already hold', async () => {
    const tokens = await tokensFor('eve@example.com');
    await gatehouse.container.accounts.disable('eve@example.com');
    try {
      await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck).catch((error: unknown) => error);
      expect(userinfo).toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
      expect((userinfo as oidc.WWWAuthenticateChallengeError).cause[0]).toMatchObject({ scheme: 'bearer', parameters: { error: 'invalid_token' } });

      const browser = new Browser(gatehouse.issuer);
      const { url } = await authorizationUrl();
      const page = expectPage(await browser.navigate(url));
      const result = expectPage(await browser.submit(page, /\/login$/, { login: 'eve@example.com', password: PASSWORD }));
      expect(result.status).toBe(401);
      expect(result.html).toContain('Invalid email or password.');
    } finally {
      await gatehouse.container.accounts.enable('eve@example.com');
    }
  });

  it('skips the consent page for first-party clients but shows it to others', async () => {
    const firstParty = await authorizationUrl({ prompt: undefined, scope: 'openid email' });
    const browser = new Browser(gatehouse.issuer);
    const loginPage = expectPage(await browser.navigate(firstParty.url));
    const redirect = expectRedirect(await browser.submit(loginPage, /\/login$/, { login: 'ada@example.com', password: PASSWORD }));
    expect(redirect.searchParams.get('code')).toEqual(expect.any(String));

    const other = await gatehouse.container.clients.create({ name: 'Third party', redirectUris: [REDIRECT_URI] });
    const otherConfig = await oidc.discovery(new URL(gatehouse.issuer), other.client.clientId, other.secret!, undefined, insecure);
    const url = oidc.buildAuthorizationUrl(otherConfig, { redirect_uri: REDIRECT_URI, scope: 'openid email', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const consent = expectPage(await browser.navigate(url));
    expect(consent.html).toContain('Third party');
    expect(findForm(consent.html, /\/confirm$/).hidden.csrf).toEqual(expect.any(String));
    const denied = expectRedirect(await browser.submit(consent, /\/abort$/));
    expect(denied.searchParams.get('error')).toBe('access_denied');
  });
});
