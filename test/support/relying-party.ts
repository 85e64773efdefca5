import * as oidc from 'openid-client';
import type { ClientInput } from '../../src/domain/clients/client-service.js';
import { Browser, expectPage, expectRedirect, isPage, signIn, type Page } from './browser.js';
import type { TestGatehouse } from './gatehouse.js';

export interface RelyingParty {
  readonly clientId: string;
  readonly config: oidc.Configuration;
  readonly redirectUri: string;
  /** A full sign-in through the login form, returning the tokens (with a refresh token). */
  login(
    browser: Browser,
    credentials: { login: string; password: string; remember?: 'yes' },
    extra?: Record<string, string>,
    otp?: () => string,
  ): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers>;
  /** An authorization request as the browser is now: the login page, or tokens when SSO answers silently. */
  authorize(browser: Browser, extra?: Record<string, string>): Promise<{ page: Page } | { tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers } | { error: string }>;
}

/** A confidential first-party client registered in Gatehouse, driven with openid-client over real HTTP. */
export async function registerRelyingParty(
  gatehouse: TestGatehouse,
  name: string,
  options: Pick<ClientInput, 'backchannelLogoutUri' | 'backchannelLogoutSessionRequired' | 'idTokenSignedResponseAlg' | 'minAcr'> = {},
): Promise<RelyingParty> {
  const redirectUri = `http://127.0.0.1:9/${encodeURIComponent(name)}/callback`;
  const created = await gatehouse.container.clients.create({ name, redirectUris: [redirectUri], firstParty: true, ...options });
  return connectRelyingParty(gatehouse, { clientId: created.client.clientId, secret: created.secret!, redirectUri });
}

/** A registered client driven against this Gatehouse (another process on the same database, say). */
export async function connectRelyingParty(gatehouse: Pick<TestGatehouse, 'issuer'>, client: { clientId: string; secret: string; redirectUri: string }): Promise<RelyingParty> {
  const { redirectUri } = client;
  const config = await oidc.discovery(new URL(gatehouse.issuer), client.clientId, client.secret, undefined, { execute: [oidc.allowInsecureRequests] });

  async function request(extra: Record<string, string>) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email offline_access',
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...extra,
    });
    return { url, verifier, state };
  }

  async function exchange(callback: URL, verifier: string, state: string) {
    return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  }

  return {
    clientId: client.clientId,
    config,
    redirectUri,
    async login(browser, credentials, extra = {}, otp) {
      const { url, verifier, state } = await request(extra);
      return exchange(await signIn(browser, url, credentials, otp), verifier, state);
    },
    async authorize(browser, extra = {}) {
      const { url, verifier, state } = await request(extra);
      let result = await browser.navigate(url);
      if (isPage(result) && /\/confirm"/.test(result.html)) result = await browser.submit(result, /\/confirm$/);
      if (isPage(result)) return { page: expectPage(result) };
      const redirect = expectRedirect(result);
      const error = redirect.searchParams.get('error');
      if (error) return { error };
      return { tokens: await exchange(redirect, verifier, state) };
    },
  };
}
