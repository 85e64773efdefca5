import * as oidc from 'openid-client';
import * as jose from 'jose';
import { Browser, expectPage, expectRedirect, signIn } from '../support/browser.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const POST_LOGOUT_URI = 'http://127.0.0.1:9/signed-out';
const PASSWORD = 'correct horse battery staple';

describe.each(databaseKinds())('authorization code flow with openid-client (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let config: oidc.Configuration;
  let clientId: string;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind);
    await gatehouse.container.accounts.createUser({ email: 'ada@example.com', password: PASSWORD, name: 'Ada Lovelace' });
    const created = await gatehouse.container.clients.create({
      name: 'Notebook',
      redirectUris: [REDIRECT_URI],
      postLogoutRedirectUris: [POST_LOGOUT_URI],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    clientId = created.client.clientId;
    config = await oidc.discovery(new URL(gatehouse.issuer), clientId, created.secret!, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  async function login(browser: Browser, scope = 'openid profile email offline_access') {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      nonce,
      state,
      prompt: 'consent',
    });
    const callback = await signIn(browser, url, { login: 'ada@example.com', password: PASSWORD });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true });
    return { tokens, callback };
  }

  it('discovers the provider metadata', () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(gatehouse.issuer);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'offline_access']));
    expect(metadata.backchannel_logout_supported).toBe(true);
    expect(metadata.end_session_endpoint).toBe(`${gatehouse.issuer}/session/end`);
    expect(metadata.introspection_endpoint).toBeDefined();
    expect(metadata.revocation_endpoint).toBeDefined();
  });

  it('signs in through the login form and issues a verified ID token, userinfo and refresh token', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { tokens } = await login(new Browser(gatehouse.issuer));
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(gatehouse.issuer);
    expect(claims.aud).toBe(clientId);
    expect(claims.auth_time).toBeGreaterThanOrEqual(before - 1);
    expect(typeof claims.sub).toBe('string');
    // The signature, checked independently of openid-client against the published JWKS.
    const jwks = jose.createRemoteJWKSet(new URL(`${gatehouse.issuer}/jwks`));
    const verified = await jose.jwtVerify(tokens.id_token!, jwks, { issuer: gatehouse.issuer, audience: clientId });
    expect(verified.protectedHeader.alg).toBe('RS256');
    expect(tokens.refresh_token).toBeDefined();

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(userinfo).toMatchObject({ sub: claims.sub, email: 'ada@example.com', name: 'Ada Lovelace' });
  });

  it('rotates refresh tokens and revokes the whole grant when a used one comes back', async () => {
    const { tokens } = await login(new Browser(gatehouse.issuer));
    const first = tokens.refresh_token!;
    const rotated = await oidc.refreshTokenGrant(config, first);
    expect(rotated.refresh_token).toBeDefined();
    expect(rotated.refresh_token).not.toBe(first);

    await expect(oidc.refreshTokenGrant(config, first)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Reuse detection: the token rotated from the stolen one stops working too.
    await expect(oidc.refreshTokenGrant(config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.fetchUserInfo(config, rotated.access_token, oidc.skipSubjectCheck)).rejects.toBeDefined();
  });

  it('revokes and introspects tokens', async () => {
    const { tokens } = await login(new Browser(gatehouse.issuer));
    const active = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(active).toMatchObject({ active: true, client_id: clientId, sub: tokens.claims()!.sub });

    await oidc.tokenRevocation(config, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await oidc.tokenRevocation(config, tokens.access_token);
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
  });

  it('logs out with RP-initiated logout and returns to the post-logout redirect URI', async () => {
    const browser = new Browser(gatehouse.issuer);
    const { tokens } = await login(browser);
    const logoutUrl = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'bye' });
    const confirm = expectPage(await browser.navigate(logoutUrl));
    expect(confirm.html).toContain('Sign out');
    const back = expectRedirect(await browser.submit(confirm, /\/session\/end\/confirm$/, { logout: 'yes' }));
    expect(back.origin + back.pathname).toBe(POST_LOGOUT_URI);
    expect(back.searchParams.get('state')).toBe('bye');

    // The SSO session is gone: prompt=none now answers login_required.
    const silent = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', prompt: 'none', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const answer = expectRedirect(await browser.navigate(silent));
    expect(answer.searchParams.get('error')).toBe('login_required');
  });
});
