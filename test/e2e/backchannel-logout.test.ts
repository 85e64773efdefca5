import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { Browser, expectPage, findForm } from '../support/browser.js';
import { runCli } from '../support/cli.js';
import { TestClock } from '../support/clock.js';
import { createTestDatabase, databaseKinds, type DatabaseKind } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { LogoutReceiver, verifyLogoutToken } from '../support/logout-receiver.js';
import { connectRelyingParty, registerRelyingParty, type RelyingParty } from '../support/relying-party.js';

const PASSWORD = 'correct horse battery staple';
const MINUTE = 60_000;
// The background poll never fires during a test: deliveries happen on the wake after a session ends, or on drain().
const QUIET = { BACKCHANNEL_POLL_INTERVAL: '3600', BACKCHANNEL_TIMEOUT: '2' };
const METRICS_TOKEN = randomBytes(32).toString('base64url');

async function metrics(gatehouse: TestGatehouse, token: string | null = METRICS_TOKEN) {
  const response = await fetch(`${gatehouse.issuer}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, text: await response.text() };
}

interface App {
  readonly rp: RelyingParty;
  readonly receiver: LogoutReceiver;
  readonly alg: 'RS256' | 'ES256';
}

async function app(gatehouse: TestGatehouse, name: string, alg: App['alg'] = 'RS256', sessionRequired = true): Promise<App> {
  const receiver = await new LogoutReceiver().up();
  const rp = await registerRelyingParty(gatehouse, name, { backchannelLogoutUri: receiver.uri, idTokenSignedResponseAlg: alg, backchannelLogoutSessionRequired: sessionRequired });
  return { rp, receiver, alg };
}

let users = 0;
async function newUser(gatehouse: TestGatehouse) {
  users += 1;
  const email = `user${users}-${randomBytes(3).toString('hex')}@example.com`;
  const user = await gatehouse.container.accounts.createUser({ email, password: PASSWORD });
  return { id: user.id, email, login: email, password: PASSWORD };
}

/** Signs the browser in to every app (the first through the form, the others silently); returns the session id. */
async function signInEverywhere(gatehouse: TestGatehouse, browser: Browser, apps: readonly App[], user: { id: string; login: string; password: string }) {
  await apps[0]!.rp.login(browser, user);
  for (const other of apps.slice(1)) {
    const result = await other.rp.authorize(browser, { scope: 'openid offline_access' });
    if (!('tokens' in result)) throw new Error(`silent sign-in to ${other.rp.clientId} failed`);
  }
  const live = await gatehouse.container.sessions.listLive(user.id);
  const session = live.find((s) => s.clients.some((c) => c.clientId === apps[0]!.rp.clientId))!;
  return session;
}

/** Calls the admin API with the token of a new admin client (or with `bearer`, null for none). */
async function adminApi(gatehouse: TestGatehouse) {
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

function outbox(gatehouse: TestGatehouse, sessionId: string) {
  return gatehouse.container.logoutDeliveries.list({ sessionId, limit: 100 });
}

/** Every token the app received for this session: each verified against the JWKS, with every claim checked. */
async function tokensFor(gatehouse: TestGatehouse, target: App, session: { id: string; userId: string; clients: readonly { clientId: string; sid: string }[] }) {
  const sid = session.clients.find((c) => c.clientId === target.rp.clientId)!.sid;
  const verified = await Promise.all(target.receiver.received.map((r) => verifyLogoutToken(r.token, { issuer: gatehouse.issuer, clientId: target.rp.clientId, alg: target.alg })));
  for (const r of target.receiver.received) {
    expect(r).toMatchObject({ method: 'POST', contentType: 'application/x-www-form-urlencoded', cookie: undefined });
  }
  const mine = verified.filter((claims) => claims.sid === sid);
  for (const claims of mine) expect(claims.sub).toBe(session.userId);
  return mine;
}

describe('back-channel logout delivery (sqlite)', () => {
  let gatehouse: TestGatehouse;
  let clock: TestClock;
  let apps: App[];

  beforeAll(async () => {
    clock = new TestClock();
    gatehouse = await startTestGatehouse('sqlite', { clock, env: { ...QUIET, SESSION_LIMIT: '1', METRICS_TOKEN } });
    apps = [await app(gatehouse, 'Notebook'), await app(gatehouse, 'Calendar', 'ES256'), await app(gatehouse, 'Mail', 'RS256', false)];
  });

  afterAll(async () => {
    await gatehouse?.stop();
    await Promise.all(apps.map((a) => a.receiver.down()));
  });

  beforeEach(() => {
    for (const a of apps) {
      a.receiver.received.length = 0;
      a.receiver.answers = [];
    }
  });

  it('advertises back-channel logout in discovery and keeps the client settings', async () => {
    const metadata = await (await fetch(`${gatehouse.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    expect(metadata).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
    expect(await gatehouse.container.clients.get(apps[2]!.rp.clientId)).toMatchObject({ backchannelLogoutUri: apps[2]!.receiver.uri, backchannelLogoutSessionRequired: false });
  });

  type Ending = (ctx: { browser: Browser; user: { id: string; email: string; login: string; password: string }; session: { id: string } }) => Promise<void>;
  const endings: [string, string, Ending][] = [
    ['RP-initiated logout (the initiating client too)', 'logged_out', async ({ browser }) => {
      const tokens = await apps[0]!.rp.authorize(browser, { scope: 'openid' });
      if (!('tokens' in tokens)) throw new Error('no tokens');
      const confirm = expectPage(await browser.navigate(oidc.buildEndSessionUrl(apps[0]!.rp.config, { id_token_hint: tokens.tokens.id_token! }).href));
      await browser.submit(confirm, /\/session\/end\/confirm$/, { logout: 'yes' });
    }],
    ['logout at Gatehouse (/account/logout)', 'logged_out', async ({ browser }) => {
      const account = expectPage(await browser.navigate('/account'));
      const form = findForm(account.html, /\/account\/logout$/);
      await browser.request(new URL(form.action, account.url), { form: form.hidden });
    }],
    ['the user ending the session (/account/sessions)', 'revoked_by_user', async ({ browser, session }) => {
      const page = expectPage(await browser.navigate('/account/sessions'));
      const form = findForm(page.html, new RegExp(`/account/sessions/${session.id}/end$`));
      await browser.request(new URL(form.action, page.url), { form: form.hidden });
    }],
    ['log out everywhere', 'revoked_by_user', async ({ browser }) => {
      const page = expectPage(await browser.navigate('/account/sessions'));
      const form = findForm(page.html, /\/account\/sessions\/end-all$/);
      await browser.request(new URL(form.action, page.url), { form: form.hidden });
    }],
    ['an administrator revoking it', 'revoked_by_admin', async ({ session }) => {
      await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
    }],
    ['an administrator setting the password', 'password_changed', async ({ user }) => {
      await gatehouse.container.accounts.setPassword(user.email, 'another horse battery staple');
    }],
    ['the user being disabled', 'user_disabled', async ({ user }) => {
      await gatehouse.container.accounts.disable(user.email);
    }],
    ['a second-factor reset', 'mfa_reset', async ({ user }) => {
      await gatehouse.container.mfa.reset(user.id, { type: 'admin', id: 'cli' });
    }],
    ['eviction by the session limit', 'evicted', async ({ user }) => {
      await apps[0]!.rp.login(new Browser(gatehouse.issuer), user);
    }],
    ['idle expiry, found by the sweeper', 'expired_idle', async () => {
      clock.advance(31 * MINUTE);
      expect(await gatehouse.container.sessions.sweepExpired()).toBeGreaterThanOrEqual(1);
    }],
    ['absolute expiry, found by the sweeper', 'expired_absolute', async ({ browser }) => {
      // Activity every 29 minutes keeps the idle deadline away until the 12-hour lifetime ends.
      for (let i = 0; i < 25; i += 1) {
        clock.advance(29 * MINUTE);
        const result = await apps[1]!.rp.authorize(browser, { prompt: 'none', scope: 'openid' });
        if (!('tokens' in result)) break;
      }
      clock.advance(29 * MINUTE);
      expect(await gatehouse.container.sessions.sweepExpired()).toBeGreaterThanOrEqual(1);
    }],
  ];

  it.each(endings)('%s notifies every client of the session once, with its sid', async (_name, reason, end) => {
    const user = await newUser(gatehouse);
    const browser = new Browser(gatehouse.issuer);
    const session = await signInEverywhere(gatehouse, browser, apps, user);
    await end({ browser, user, session });
    await gatehouse.container.logoutDelivery.drain();

    const ended = await gatehouse.container.sessions.get(session.id);
    expect(ended.endReason).toBe(reason);
    for (const target of apps) {
      const tokens = await tokensFor(gatehouse, target, session);
      expect(tokens).toHaveLength(1);
    }
    const rows = await outbox(gatehouse, session.id);
    expect(rows.map((n) => [n.clientId, n.state, n.reason, n.attempts]).sort()).toEqual(apps.map((a) => [a.rp.clientId, 'delivered', reason, 1]).sort());
    // One jti per notification: the token's jti is the outbox row's id.
    const jtis = (await Promise.all(apps.map((a) => tokensFor(gatehouse, a, session)))).flat().map((c) => c.jti).sort();
    expect(jtis).toEqual(rows.map((n) => n.id).sort());
    // No logout token (nor its signature) is ever logged.
    const log = gatehouse.rawLog();
    for (const r of apps.flatMap((a) => a.receiver.received)) expect(log).not.toContain(r.token.split('.')[2]);
  });

  it('RP-initiated logout of one application only (the user keeps the session) tells that application alone', async () => {
    const user = await newUser(gatehouse);
    const browser = new Browser(gatehouse.issuer);
    const session = await signInEverywhere(gatehouse, browser, apps, user);
    const tokens = await apps[1]!.rp.authorize(browser, { scope: 'openid' });
    if (!('tokens' in tokens)) throw new Error('no tokens');
    const confirm = expectPage(await browser.navigate(oidc.buildEndSessionUrl(apps[1]!.rp.config, { id_token_hint: tokens.tokens.id_token! }).href));
    await browser.submit(confirm, /\/session\/end\/confirm$/, {});
    await gatehouse.container.logoutDelivery.drain();
    expect(await tokensFor(gatehouse, apps[1]!, session)).toHaveLength(1);
    expect(apps[0]!.receiver.received).toHaveLength(0);
    expect(apps[2]!.receiver.received).toHaveLength(0);
    expect((await gatehouse.container.sessions.get(session.id)).endedAt).toBeNull();
    expect((await outbox(gatehouse, session.id)).map((n) => [n.clientId, n.reason, n.state])).toEqual([[apps[1]!.rp.clientId, 'logged_out', 'delivered']]);
  });

  it('registers clients with their back-channel settings through the admin API and the CLI', async () => {
    const api = await adminApi(gatehouse);
    const created = await api('POST', '/admin/api/clients', undefined, {
      client_name: 'Wiki', redirect_uris: ['http://127.0.0.1:9/wiki/cb'], backchannel_logout_uri: apps[0]!.receiver.uri, backchannel_logout_session_required: false,
    });
    expect(created).toMatchObject({ status: 201, body: { client_name: 'Wiki', backchannel_logout_uri: apps[0]!.receiver.uri, backchannel_logout_session_required: false, client_secret: expect.any(String) } });
    const id = created.body.client_id as string;
    expect(await gatehouse.container.clients.get(id)).toMatchObject({ backchannelLogoutSessionRequired: false });
    const changed = await api('PATCH', `/admin/api/clients/${id}`, undefined, { backchannel_logout_session_required: true });
    expect(changed).toMatchObject({ status: 200, body: { backchannel_logout_session_required: true } });
    expect(changed.body).not.toHaveProperty('client_secret');
    expect((await api('GET', `/admin/api/clients/${id}`)).body).toMatchObject({ client_id: id, backchannel_logout_uri: apps[0]!.receiver.uri });
    expect((await api('PATCH', `/admin/api/clients/${id}`, undefined, { backchannel_logout_uri: 'ftp://x.example/logout' })).status).toBe(400);
    expect((await api('PATCH', `/admin/api/clients/${id}`, undefined, { backchannel_logout_session_required: 'yes' })).status).toBe(400);
    expect((await api('PATCH', `/admin/api/clients/${id}`, undefined, { color: 'blue' })).status).toBe(400);
    expect((await api('POST', '/admin/api/clients', null, { client_name: 'Nope' })).status).toBe(401);
    expect((await api('PATCH', '/admin/api/clients/no-such-client', undefined, { client_name: 'X' })).status).toBe(404);

    const secret = gatehouse.container.config.secret!;
    const cli = await runCli(gatehouse, secret, ['clients', 'update', id, '--no-backchannel-logout-session-required', '--json']);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ backchannel_logout_session_required: false });
    const both = await runCli(gatehouse, secret, ['clients', 'update', id, '--backchannel-logout-session-required', '--no-backchannel-logout-session-required']);
    expect(both.code).toBe(2);
  });

  it('notifies a client that holds only a refresh token (its access token long expired)', async () => {
    const user = await newUser(gatehouse);
    const browser = new Browser(gatehouse.issuer);
    const tokens = await apps[0]!.rp.login(browser, user);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const [session] = await gatehouse.container.sessions.listLive(user.id);
    await gatehouse.container.sessions.revokeByAdmin(session!.id, { type: 'admin', id: 'cli' });
    await gatehouse.container.logoutDelivery.drain();
    expect(await tokensFor(gatehouse, apps[0]!, session!)).toHaveLength(1);
    // The other apps took no part in this session and hear nothing.
    expect(apps[1]!.receiver.received).toHaveLength(0);
    await expect(oidc.refreshTokenGrant(apps[0]!.rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('retries a receiver answering 500 twice, and it gets the same token id on the third attempt', async () => {
    const user = await newUser(gatehouse);
    const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), [apps[0]!], user);
    apps[0]!.receiver.answers = [500, 500];
    await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
    await gatehouse.container.logoutDelivery.drain();
    let [row] = await outbox(gatehouse, session.id);
    expect(row).toMatchObject({ state: 'pending', attempts: 1, lastError: 'HTTP 500' });
    // Not due before its backoff (at least a second) has passed.
    expect((await gatehouse.container.logoutDelivery.drain()).attempts).toBe(0);
    clock.advance(5_000);
    await gatehouse.container.logoutDelivery.drain();
    [row] = await outbox(gatehouse, session.id);
    expect(row).toMatchObject({ state: 'pending', attempts: 2, lastError: 'HTTP 500' });
    clock.advance(10_000);
    await gatehouse.container.logoutDelivery.drain();
    [row] = await outbox(gatehouse, session.id);
    expect(row).toMatchObject({ state: 'delivered', attempts: 3, lastError: null });
    const received = apps[0]!.receiver.received.map((r) => r.answered);
    expect(received).toEqual([500, 500, 200]);
    const tokens = await tokensFor(gatehouse, apps[0]!, session);
    expect(new Set(tokens.map((t) => t.jti))).toEqual(new Set([row!.id]));
  });

  it('delivers to a receiver that was down when the session ended once it is back; the others at once', async () => {
    const user = await newUser(gatehouse);
    const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), apps, user);
    await apps[1]!.receiver.down();
    try {
      await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
      await gatehouse.container.logoutDelivery.drain();
      const rows = await outbox(gatehouse, session.id);
      expect(rows.find((n) => n.clientId === apps[1]!.rp.clientId)).toMatchObject({ state: 'pending', attempts: 1, lastError: 'ECONNREFUSED' });
      expect(rows.filter((n) => n.state === 'delivered')).toHaveLength(2);
    } finally {
      await apps[1]!.receiver.up();
    }
    clock.advance(5_000);
    await gatehouse.container.logoutDelivery.drain();
    expect(await tokensFor(gatehouse, apps[1]!, session)).toHaveLength(1);
    expect((await outbox(gatehouse, session.id)).every((n) => n.state === 'delivered')).toBe(true);
  });

  it('a receiver that never answers holds one slot only: the others are told at once, it is retried later', async () => {
    const user = await newUser(gatehouse);
    const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), apps, user);
    apps[2]!.receiver.answers = ['hang'];
    const started = Date.now();
    await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
    await gatehouse.container.logoutDelivery.drain();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1900);
    // The others were told while the stuck one was still holding its request open (it is abandoned after 2 s).
    const stuckSince = apps[2]!.receiver.received[0]!.at;
    for (const fast of apps.slice(0, 2)) {
      expect(fast.receiver.received).toHaveLength(1);
      expect(fast.receiver.received[0]!.at).toBeLessThan(stuckSince + 1500);
    }
    const slow = (await outbox(gatehouse, session.id)).find((n) => n.clientId === apps[2]!.rp.clientId);
    expect(slow).toMatchObject({ state: 'pending', attempts: 1, lastError: 'no answer within 2000 ms' });
    clock.advance(5_000);
    await gatehouse.container.logoutDelivery.drain();
    expect(await tokensFor(gatehouse, apps[2]!, session)).toHaveLength(2);
    expect((await outbox(gatehouse, session.id)).find((n) => n.clientId === apps[2]!.rp.clientId)).toMatchObject({ state: 'delivered', attempts: 2 });
  });

  it('gives up after the retry window: failed, audited; an administrator can retry it (CLI and admin API)', async () => {
    const user = await newUser(gatehouse);
    const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), [apps[0]!], user);
    apps[0]!.receiver.answers = [503, 503, 503];
    await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
    await gatehouse.container.logoutDelivery.drain();
    clock.advance(25 * 3600_000);
    await gatehouse.container.logoutDelivery.drain();
    const [row] = await outbox(gatehouse, session.id);
    expect(row).toMatchObject({ state: 'failed', attempts: 2, lastError: 'HTTP 503' });
    const audit = await gatehouse.container.audit.list({ userId: user.id, types: ['logout.delivery_failed'] });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ clientId: apps[0]!.rp.clientId, sessionId: session.id, details: { notification_id: row!.id, attempts: 2, last_error: 'HTTP 503' } });
    expect(gatehouse.container.logoutDelivery.counters.failed).toBeGreaterThanOrEqual(1);
    const scraped = await metrics(gatehouse);
    expect(scraped.status).toBe(200);
    expect(scraped.text).toMatch(/^gatehouse_logout_delivery_outcomes_total\{outcome="failed"\} [1-9]\d*$/m);
    expect(scraped.text).toMatch(/^gatehouse_logout_notifications\{state="failed"\} [1-9]\d*$/m);
    expect(scraped.text).toMatch(/^gatehouse_logout_delivery_attempts_total [1-9]\d*$/m);
    expect((await metrics(gatehouse, null)).status).toBe(401);
    expect((await metrics(gatehouse, 'x'.repeat(43))).status).toBe(401);

    const secret = (gatehouse.container.config.secret)!;
    const listed = await runCli(gatehouse, secret, ['logout-deliveries', 'list', '--session', session.id, '--state', 'failed', '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: row!.id, state: 'failed', client_id: apps[0]!.rp.clientId, attempts: 2, last_error: 'HTTP 503' })]);
    expect(listed.stdout).not.toMatch(/eyJ/);
    expect((await runCli(gatehouse, secret, ['logout-deliveries', 'list', '--state', 'lost'])).code).toBe(2);
    expect((await runCli(gatehouse, secret, ['logout-deliveries', 'retry', 'no-such-id'])).code).toBe(3);

    const retried = await runCli(gatehouse, secret, ['logout-deliveries', 'retry', row!.id]);
    expect(retried).toMatchObject({ code: 0 });
    // The CLI only queues; the server sends (here on the next pass).
    await gatehouse.container.logoutDelivery.drain();
    const [after] = await outbox(gatehouse, session.id);
    expect(after).toMatchObject({ state: 'failed', attempts: 3 });
    expect(await gatehouse.container.audit.list({ userId: user.id, types: ['logout.delivery_retried'] })).toHaveLength(1);

    // The admin API: list and retry; this time the receiver answers.
    const api = await adminApi(gatehouse);
    const listing = await api('GET', `/admin/api/logout-deliveries?session=${encodeURIComponent(session.id)}&state=failed`);
    expect(listing.status).toBe(200);
    expect(listing.body.deliveries).toEqual([expect.objectContaining({ id: row!.id, state: 'failed' })]);
    expect((await api('GET', '/admin/api/logout-deliveries?state=lost')).status).toBe(400);
    const summary = await api('GET', '/admin/api/logout-deliveries/summary');
    expect(summary.body.clients).toContainEqual(expect.objectContaining({ client_id: apps[0]!.rp.clientId, failed: 1 }));
    expect((await api('GET', '/admin/api/logout-deliveries', null)).status).toBe(401);
    expect((await api('POST', `/admin/api/logout-deliveries/${row!.id}/retry`, null)).status).toBe(401);
    const retry = await api('POST', `/admin/api/logout-deliveries/${row!.id}/retry`);
    expect(retry).toMatchObject({ status: 200, body: { id: row!.id, state: 'pending' } });
    await gatehouse.container.logoutDelivery.drain();
    expect((await outbox(gatehouse, session.id))[0]).toMatchObject({ state: 'delivered', attempts: 4 });
    expect((await api('POST', `/admin/api/logout-deliveries/${row!.id}/retry`)).status).toBe(409);
    expect((await api('POST', '/admin/api/logout-deliveries/no-such-id/retry')).status).toBe(404);
  });
});

describe('back-channel logout fan-out', () => {
  it('sends to the clients of a session concurrently, never more at once than BACKCHANNEL_CONCURRENCY', async () => {
    const gatehouse = await startTestGatehouse('sqlite', { env: { ...QUIET, BACKCHANNEL_CONCURRENCY: '3' } });
    const apps: App[] = [];
    try {
      for (let i = 0; i < 8; i += 1) apps.push(await app(gatehouse, `Fan ${i}`));
      for (const a of apps) a.receiver.delayMs = 200;
      const user = await newUser(gatehouse);
      const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), apps, user);
      const started = Date.now();
      await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
      await gatehouse.container.logoutDelivery.drain();
      const took = Date.now() - started;
      for (const target of apps) expect(await tokensFor(gatehouse, target, session)).toHaveLength(1);
      const spans = apps.flatMap((a) => a.receiver.spans);
      const peak = Math.max(...spans.map(([at]) => spans.filter(([from, to]) => from <= at && at < to).length));
      expect(peak).toBe(3);
      // Three waves of 200 ms, not eight in a row.
      expect(took).toBeLessThan(8 * 200);
    } finally {
      await gatehouse.stop();
      await Promise.all(apps.map((a) => a.receiver.down()));
    }
  });
});

describe.each(databaseKinds())('back-channel logout across restarts (%s)', (kind: DatabaseKind) => {
  it('delivers what was queued or in flight when Gatehouse stopped, after it starts again', async () => {
    const database = await createTestDatabase(kind);
    const secret = 'restart-secret-' + randomBytes(24).toString('base64url');
    const clock = new TestClock();
    let first: TestGatehouse | undefined = await startTestGatehouse(kind, { database, secret, clock, env: QUIET });
    let second: TestGatehouse | undefined;
    const queued = await app(first, 'Queued');
    const inFlight = await app(first, 'In flight');
    try {
      const user = await newUser(first);
      const session = await signInEverywhere(first, new Browser(first.issuer), [queued, inFlight], user);
      await queued.receiver.down();
      inFlight.receiver.answers = ['hang'];
      await first.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
      // The wake after the end claims both: one fails at once (connection refused), one hangs in flight.
      while (inFlight.receiver.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      await first.stop();
      first = undefined;
      expect(await queued.receiver.received).toHaveLength(0);

      await queued.receiver.up();
      clock.advance(5_000);
      second = await startTestGatehouse(kind, { database, secret, clock, env: QUIET });
      await second.container.logoutDelivery.drain();
      expect(await tokensFor(second, queued, session)).toHaveLength(1);
      // The in-flight attempt was abandoned at shutdown and sent again (by the new process, under its issuer URL):
      // at least once, with the same jti.
      const [abandoned, delivered] = inFlight.receiver.received;
      expect(inFlight.receiver.received).toHaveLength(2);
      const claims = await verifyLogoutToken(delivered!.token, { issuer: second.issuer, clientId: inFlight.rp.clientId, alg: 'RS256' });
      expect(decodeJwt(abandoned!.token).jti).toBe(claims.jti);
      expect(claims.sid).toBe(session.clients.find((c) => c.clientId === inFlight.rp.clientId)!.sid);
      expect((await outbox(second, session.id)).map((n) => n.state)).toEqual(['delivered', 'delivered']);
    } finally {
      await first?.stop();
      await second?.stop();
      await queued.receiver.down();
      await inFlight.receiver.down();
      await database.drop();
    }
  });
});

const postgres = databaseKinds().includes('postgresql') ? describe : describe.skip;

postgres('back-channel logout with two Gatehouse processes on one PostgreSQL database', () => {
  it('delivers each notification once, shared between both workers', async () => {
    const database = await createTestDatabase('postgresql');
    const secret = 'shared-secret-' + randomBytes(24).toString('base64url');
    const env = { ...QUIET, BACKCHANNEL_CONCURRENCY: '2' };
    const one = await startTestGatehouse('postgresql', { database, secret, env });
    // Two instances of one deployment: one ISSUER (behind a load balancer), one database, one secret.
    const two = await startTestGatehouse('postgresql', { database, secret, env: { ...env, ISSUER: one.issuer } });
    const apps: App[] = [];
    try {
      for (let i = 0; i < 10; i += 1) apps.push(await app(one, `App ${i}`, i % 2 ? 'ES256' : 'RS256'));
      for (const a of apps) a.receiver.delayMs = 100;
      const user = await newUser(one);
      const session = await signInEverywhere(one, new Browser(one.issuer), apps, user);
      await one.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
      const [a, b] = await Promise.all([one.container.logoutDelivery.drain(), two.container.logoutDelivery.drain()]);
      await one.container.logoutDelivery.drain();
      const deliveredByOne = one.container.logoutDelivery.counters.delivered;
      const deliveredByTwo = two.container.logoutDelivery.counters.delivered;
      expect(deliveredByOne + deliveredByTwo).toBe(10);
      expect(deliveredByTwo).toBeGreaterThan(0);
      expect(a.failed + b.failed).toBe(0);
      for (const target of apps) expect(await tokensFor(one, target, session)).toHaveLength(1);
      expect((await outbox(two, session.id)).every((n) => n.state === 'delivered' && n.attempts === 1)).toBe(true);
    } finally {
      await one.stop();
      await two.stop();
      await Promise.all(apps.map((a) => a.receiver.down()));
      await database.drop();
    }
  });
});

describe('back-channel logout in production mode', () => {
  it('refuses private-range URIs at registration, and at delivery for a client registered before', async () => {
    const database = await createTestDatabase('sqlite');
    const secret = 'production-secret-' + randomBytes(24).toString('base64url');
    const development = await startTestGatehouse('sqlite', { database, secret, env: QUIET });
    const receiver = await new LogoutReceiver().up();
    let production: TestGatehouse | undefined;
    try {
      const legacy = await registerRelyingParty(development, 'Registered in development', { backchannelLogoutUri: receiver.uri });
      await development.stop();
      production = await startTestGatehouse('sqlite', { database, secret, env: { ...QUIET, NODE_ENV: 'production' } });
      const clients = production.container.clients;
      const base = { name: 'Internal', redirectUris: ['https://app.example.com/cb'] };
      for (const uri of ['https://10.1.2.3/logout', 'https://127.0.0.1/logout', 'https://[::1]/logout', 'https://169.254.169.254/latest', 'https://localhost/logout', 'http://93.184.216.34/logout']) {
        await expect(clients.create({ ...base, backchannelLogoutUri: uri })).rejects.toMatchObject({ name: 'ValidationError', field: 'backchannel-logout-uri' });
      }
      const cli = await runCli(production, secret, ['clients', 'create', '--name', 'Internal', '--redirect-uri', 'https://app.example.com/cb', '--backchannel-logout-uri', 'https://192.168.1.20/logout'], '', { NODE_ENV: 'production' });
      expect(cli.code).toBe(2);
      expect(cli.stderr).toMatch(/private address/);
      const api = await adminApi(production);
      // Without METRICS_TOKEN there is no /metrics.
      expect((await metrics(production)).status).toBe(404);
      const refused = await api('POST', '/admin/api/clients', undefined, { client_name: 'Internal', redirect_uris: ['https://app.example.com/cb'], backchannel_logout_uri: 'https://172.20.0.4/logout' });
      expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: expect.stringMatching(/private address/) } });
      // A public address is accepted.
      await expect(clients.create({ ...base, backchannelLogoutUri: 'https://93.184.216.34/logout' })).resolves.toBeDefined();

      const user = await newUser(production);
      const rp = await connectRelyingParty(production, { clientId: legacy.clientId, secret: legacy.config.clientMetadata().client_secret as string, redirectUri: legacy.redirectUri });
      await rp.login(new Browser(production.issuer), user);
      const [session] = await production.container.sessions.listLive(user.id);
      await production.container.sessions.revokeByAdmin(session!.id, { type: 'admin', id: 'cli' });
      await production.container.logoutDelivery.drain();
      expect(receiver.received).toHaveLength(0);
      const [row] = await outbox(production, session!.id);
      expect(row).toMatchObject({ state: 'failed', attempts: 1 });
      expect(row!.lastError).toMatch(/https/);
    } finally {
      await production?.stop();
      await receiver.down();
      await database.drop();
    }
  });
});
