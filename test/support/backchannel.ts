// Shared by the back-channel logout tests: relying apps with real receivers, users, SSO sessions signed in to several
// apps (with what each app saw in its ID token), and the one assertion of who was told what.
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Browser } from './browser.js';
import type { TestGatehouse } from './gatehouse.js';
import { LogoutReceiver, verifyLogoutToken, type ReceiverOptions } from './logout-receiver.js';
import { registerRelyingParty, type RelyingParty } from './relying-party.js';

export const PASSWORD = 'correct horse battery staple';
export const MINUTE = 60_000;
/**
 * Nothing runs on a timer during a test: deliveries happen on the wake after a session ends (or on drain()), and
 * sessions end when the test ends them (or calls sweepExpired()), not when a background job happens to run.
 */
export const QUIET = { BACKCHANNEL_POLL_INTERVAL: '3600', BACKCHANNEL_TIMEOUT: '2', SESSION_SWEEP_INTERVAL: '3600' };

export interface App {
  readonly name: string;
  readonly rp: RelyingParty;
  readonly receiver: LogoutReceiver;
  readonly alg: 'RS256' | 'ES256';
  /** backchannel_logout_session_required: whether the app gets sid in its ID tokens and logout tokens. */
  readonly sessionRequired: boolean;
}

/** A relying app registered with a back-channel logout URI on its own receiver. */
export async function app(
  gatehouse: TestGatehouse,
  name: string,
  options: { alg?: App['alg']; sessionRequired?: boolean; receiver?: ReceiverOptions } = {},
): Promise<App> {
  const alg = options.alg ?? 'RS256';
  const sessionRequired = options.sessionRequired ?? true;
  const receiver = await new LogoutReceiver(options.receiver).up();
  const rp = await registerRelyingParty(gatehouse, name, { backchannelLogoutUri: receiver.uri, idTokenSignedResponseAlg: alg, backchannelLogoutSessionRequired: sessionRequired });
  return { name, rp, receiver, alg, sessionRequired };
}

export async function appsDown(apps: readonly App[]): Promise<void> {
  await Promise.all(apps.map((a) => a.receiver.down()));
}

export interface TestUser {
  readonly id: string;
  readonly email: string;
  readonly login: string;
  readonly password: string;
}

let users = 0;
export async function newUser(gatehouse: TestGatehouse): Promise<TestUser> {
  users += 1;
  const email = `user${users}-${randomBytes(3).toString('hex')}@example.com`;
  const user = await gatehouse.container.accounts.createUser({ email, password: PASSWORD });
  return { id: user.id, email, login: email, password: PASSWORD };
}

type Tokens = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

/** One SSO session (one browser) signed in to some apps, with what each app got from the token endpoint. */
export interface SignedIn {
  readonly id: string;
  readonly userId: string;
  readonly browser: Browser;
  readonly apps: readonly App[];
  /** The ID token claims each app received in this session (its sid, when it got one, is what it logs out by). */
  readonly idTokens: ReadonlyMap<App, oidc.IDToken>;
  readonly tokens: ReadonlyMap<App, Tokens>;
}

/** Signs the browser in to every app (the first through the form, the others silently) in one new SSO session. */
export async function signInEverywhere(gatehouse: TestGatehouse, browser: Browser, apps: readonly App[], user: TestUser): Promise<SignedIn> {
  const before = new Set((await gatehouse.container.sessions.listLive(user.id)).map((s) => s.id));
  const tokens = new Map<App, Tokens>();
  tokens.set(apps[0]!, await apps[0]!.rp.login(browser, user));
  for (const other of apps.slice(1)) {
    const result = await other.rp.authorize(browser, { scope: 'openid offline_access' });
    if (!('tokens' in result)) throw new Error(`silent sign-in to ${other.rp.clientId} failed`);
    tokens.set(other, result.tokens);
  }
  const created = (await gatehouse.container.sessions.listLive(user.id)).filter((s) => !before.has(s.id));
  if (created.length !== 1) throw new Error(`expected one new session, found ${created.length}`);
  const idTokens = new Map([...tokens].map(([a, t]) => [a, t.claims()!] as const));
  return { id: created[0]!.id, userId: user.id, browser, apps, idTokens, tokens };
}

/** Calls the admin API with the token of a new admin client (or with `bearer`, null for none). */
export async function adminApi(gatehouse: Pick<TestGatehouse, 'container' | 'issuer'>) {
  const admin = await gatehouse.container.clients.create({ name: 'Ops', admin: true });
  const adminConfig = await oidc.discovery(new URL(gatehouse.issuer), admin.client.clientId, admin.secret!, undefined, { execute: [oidc.allowInsecureRequests] });
  const token = (await oidc.clientCredentialsGrant(adminConfig, { scope: 'admin' })).access_token;
  return async (method: string, path: string, bearer: string | null = token, body?: unknown) => {
    const response = await fetch(new URL(path, gatehouse.issuer), {
      method,
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
}

export type LogoutClaims = Awaited<ReturnType<typeof verifyLogoutToken>>;

/**
 * Asserts exactly who was told: every token each observed app's receiver got in total (not only those about one
 * session) is verified against the JWKS with every claim checked, is the logout of one expected (session, app) pair
 * (its jti is that pair's outbox row), and each expected pair was told exactly once. sid: an app that registered
 * backchannel_logout_session_required gets the sid it saw in its ID token for that session; any other app gets none
 * (it never saw one) and is told by sub. `gatehouse` signs the tokens (its issuer) and reads the outbox.
 */
export async function expectNotified(gatehouse: TestGatehouse, observed: readonly App[], expected: readonly (readonly [SignedIn, App])[]): Promise<Map<App, LogoutClaims[]>> {
  const told = new Map<App, LogoutClaims[]>();
  const pairs: string[] = [];
  for (const target of observed) {
    const mine = expected.filter(([, a]) => a === target);
    const received = target.receiver.received;
    for (const r of received) expect(r).toMatchObject({ method: 'POST', contentType: 'application/x-www-form-urlencoded', cookie: undefined });
    const claims = await Promise.all(received.map((r) => verifyLogoutToken(r.token, { issuer: gatehouse.issuer, clientId: target.rp.clientId, alg: target.alg })));
    for (const c of claims) {
      const row = await gatehouse.container.logoutDeliveries.get(c.jti);
      expect(row.clientId).toBe(target.rp.clientId);
      const session = mine.find(([s]) => s.id === row.sessionId)?.[0];
      if (!session) throw new Error(`${target.name} was told about session ${row.sessionId}, which it should not have been`);
      const idToken = session.idTokens.get(target)!;
      expect(c.sub).toBe(session.userId);
      expect(idToken.sub).toBe(session.userId);
      if (target.sessionRequired) {
        expect(idToken.sid).toEqual(expect.any(String));
        expect(c.sid).toBe(idToken.sid);
      } else {
        expect(idToken.sid).toBeUndefined();
        expect(c).not.toHaveProperty('sid');
      }
      pairs.push(`${row.sessionId} ${target.name}`);
    }
    expect(`${target.name}: ${received.length}`).toBe(`${target.name}: ${mine.length}`);
    told.set(target, claims);
  }
  expect(pairs.sort()).toEqual(expected.map(([s, a]) => `${s.id} ${a.name}`).sort());
  return told;
}
