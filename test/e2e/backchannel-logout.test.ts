import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { createDb } from '../../src/store/prisma/database.js';
import { adminApi, app, appsDown, expectNotified, MINUTE, newUser, QUIET, signInEverywhere, type App } from '../support/backchannel.js';
import { Browser, expectPage, findForm } from '../support/browser.js';
import { spawnGatehouse, type ChildGatehouse } from '../support/child-gatehouse.js';
import { runCli } from '../support/cli.js';
import { TestClock } from '../support/clock.js';
import { breakInserts } from '../support/database-faults.js';
import { createTestDatabase, databaseKinds, type DatabaseKind } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { LogoutReceiver, verifyLogoutToken } from '../support/logout-receiver.js';
import { connectRelyingParty, registerRelyingParty } from '../support/relying-party.js';
import { selfSignedCertificate } from '../support/tls.js';

const METRICS_TOKEN = randomBytes(32).toString('base64url');

async function metrics(gatehouse: TestGatehouse, token: string | null = METRICS_TOKEN) {
  const response = await fetch(`${gatehouse.issuer}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, text: await response.text() };
}

function outbox(gatehouse: TestGatehouse, sessionId: string) {
  return gatehouse.container.logoutDeliveries.list({ sessionId, limit: 100 });
}

/** The JSON a `logout-deliveries list` prints, as [client, session, state] rows. */
function listed(stdout: string): [string, string, string][] {
  return (JSON.parse(stdout) as { client_id: string; session_id: string; state: string }[]).map((d) => [d.client_id, d.session_id, d.state]);
}

describe('back-channel logout delivery (sqlite)', () => {
  let gatehouse: TestGatehouse;
  let clock: TestClock;
  let apps: App[];
  const drain = () => gatehouse.container.logoutDelivery.drain();

  beforeAll(async () => {
    clock = new TestClock();
    gatehouse = await startTestGatehouse('sqlite', { clock, env: { ...QUIET, SESSION_LIMIT: '1', METRICS_TOKEN } });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  // Fresh applications for every test: whatever earlier tests left behind can never reach these receivers, so each
  // test can count everything its receivers got.
  beforeEach(async () => {
    apps = [
      await app(gatehouse, 'Notebook'),
      await app(gatehouse, 'Calendar', { alg: 'ES256' }),
      await app(gatehouse, 'Mail', { sessionRequired: false }),
    ];
  });

  afterEach(async () => {
    await appsDown(apps);
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

  it.each(endings)('%s notifies every client of the session once, and nobody else', async (_name, reason, end) => {
    const user = await newUser(gatehouse);
    const browser = new Browser(gatehouse.issuer);
    const session = await signInEverywhere(gatehouse, browser, apps, user);
    await end({ browser, user, session });
    await drain();

    const ended = await gatehouse.container.sessions.get(session.id);
    expect(ended.endReason).toBe(reason);
    const told = await expectNotified(gatehouse, apps, apps.map((a) => [session, a] as const));
    const rows = await outbox(gatehouse, session.id);
    expect(rows.map((n) => [n.clientId, n.state, n.reason, n.attempts]).sort()).toEqual(apps.map((a) => [a.rp.clientId, 'delivered', reason, 1]).sort());
    // One jti per notification: the token's jti is the outbox row's id.
    expect([...told.values()].flat().map((c) => c.jti).sort()).toEqual(rows.map((n) => n.id).sort());
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
    await drain();
    await expectNotified(gatehouse, apps, [[session, apps[1]!]]);
    expect((await gatehouse.container.sessions.get(session.id)).endedAt).toBeNull();
    expect((await outbox(gatehouse, session.id)).map((n) => [n.clientId, n.reason, n.state])).toEqual([[apps[1]!.rp.clientId, 'logged_out', 'delivered']]);
  });

  it('an RP-initiated logout whose end cannot be recorded fails visibly and leaves the session to log out of again', async () => {
    const user = await newUser(gatehouse);
    const browser = new Browser(gatehouse.issuer);
    const session = await signInEverywhere(gatehouse, browser, apps, user);
    const logOut = async (idToken: string) => {
      const confirm = expectPage(await browser.navigate(oidc.buildEndSessionUrl(apps[0]!.rp.config, { id_token_hint: idToken }).href));
      return browser.submit(confirm, /\/session\/end\/confirm$/, { logout: 'yes' });
    };
    const db = createDb(gatehouse.database);
    const repair = await breakInserts(db, 'sqlite', 'LogoutNotification');
    let failed;
    try {
      failed = expectPage(await logOut(session.tokens.get(apps[0]!)!.id_token!));
    } finally {
      await repair();
      await db.$disconnect();
    }
    expect(failed.status).toBe(500);
    // Neither Gatehouse's session nor oidc-provider's ended: single sign-on still answers, and nobody was told.
    expect((await gatehouse.container.sessions.get(session.id)).endedAt).toBeNull();
    const again = await apps[0]!.rp.authorize(browser, { prompt: 'none', scope: 'openid' });
    if (!('tokens' in again)) throw new Error(`the session did not survive the failed logout: ${JSON.stringify(again)}`);
    await drain();
    await expectNotified(gatehouse, apps, []);
    expect(await outbox(gatehouse, session.id)).toEqual([]);

    // Once the database works again, the same logout ends it and every application is told.
    await logOut(again.tokens.id_token!);
    await drain();
    expect((await gatehouse.container.sessions.get(session.id)).endReason).toBe('logged_out');
    await expectNotified(gatehouse, apps, apps.map((a) => [session, a] as const));
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

  it('retries a receiver answering 500 twice, and it gets the same token id on the third attempt', async () => {
    const user = await newUser(gatehouse);
    const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), [apps[0]!], user);
    apps[0]!.receiver.answers = [500, 500];
    await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
    await drain();
    let [row] = await outbox(gatehouse, session.id);
    expect(row).toMatchObject({ state: 'pending', attempts: 1, lastError: 'HTTP 500' });
    // Not due before its backoff (at least a second) has passed.
    expect((await drain()).attempts).toBe(0);
    clock.advance(5_000);
    await drain();
    [row] = await outbox(gatehouse, session.id);
    expect(row).toMatchObject({ state: 'pending', attempts: 2, lastError: 'HTTP 500' });
    clock.advance(10_000);
    await drain();
    [row] = await outbox(gatehouse, session.id);
    expect(row).toMatchObject({ state: 'delivered', attempts: 3, lastError: null });
    expect(apps[0]!.receiver.received.map((r) => r.answered)).toEqual([500, 500, 200]);
    const claims = await Promise.all(apps[0]!.receiver.received.map((r) => verifyLogoutToken(r.token, { issuer: gatehouse.issuer, clientId: apps[0]!.rp.clientId, alg: 'RS256' })));
    expect(claims.map((c) => [c.jti, c.sid])).toEqual(Array(3).fill([row!.id, session.idTokens.get(apps[0]!)!.sid]));
    // The apps that took no part in the session heard nothing.
    expect(apps.slice(1).map((a) => a.receiver.received.length)).toEqual([0, 0]);
  });

  it('delivers to a receiver that was down when the session ended once it is back; the others at once', async () => {
    const user = await newUser(gatehouse);
    const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), apps, user);
    await apps[1]!.receiver.down();
    try {
      await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
      await drain();
      const rows = await outbox(gatehouse, session.id);
      expect(rows.find((n) => n.clientId === apps[1]!.rp.clientId)).toMatchObject({ state: 'pending', attempts: 1, lastError: 'ECONNREFUSED' });
      expect(rows.filter((n) => n.state === 'delivered')).toHaveLength(2);
    } finally {
      await apps[1]!.receiver.up();
    }
    clock.advance(5_000);
    await drain();
    await expectNotified(gatehouse, apps, apps.map((a) => [session, a] as const));
    expect((await outbox(gatehouse, session.id)).every((n) => n.state === 'delivered')).toBe(true);
  });

  it('gives up after the retry window: failed, audited; an administrator can retry it (CLI and admin API)', async () => {
    const user = await newUser(gatehouse);
    const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), [apps[0]!], user);
    apps[0]!.receiver.answers = [503, 503, 503];
    await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
    await drain();
    clock.advance(25 * 3600_000);
    await drain();
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
    const list = await runCli(gatehouse, secret, ['logout-deliveries', 'list', '--session', session.id, '--state', 'failed', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: row!.id, state: 'failed', client_id: apps[0]!.rp.clientId, attempts: 2, last_error: 'HTTP 503' })]);
    expect(list.stdout).not.toMatch(/eyJ/);
    expect((await runCli(gatehouse, secret, ['logout-deliveries', 'list', '--state', 'lost'])).code).toBe(2);
    expect((await runCli(gatehouse, secret, ['logout-deliveries', 'retry', 'no-such-id'])).code).toBe(3);

    const retried = await runCli(gatehouse, secret, ['logout-deliveries', 'retry', row!.id]);
    expect(retried).toMatchObject({ code: 0 });
    // The CLI only queues; the server sends (here on the next pass).
    await drain();
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
    await drain();
    expect((await outbox(gatehouse, session.id))[0]).toMatchObject({ state: 'delivered', attempts: 4 });
    expect((await api('POST', `/admin/api/logout-deliveries/${row!.id}/retry`)).status).toBe(409);
    expect((await api('POST', '/admin/api/logout-deliveries/no-such-id/retry')).status).toBe(404);
    // Four attempts in all, each with the one jti; nobody else heard anything.
    expect(apps[0]!.receiver.received.map((r) => [r.answered, decodeJwt(r.token).jti])).toEqual([[503, row!.id], [503, row!.id], [503, row!.id], [200, row!.id]]);
    expect(apps.slice(1).map((a) => a.receiver.received.length)).toEqual([0, 0]);
  });

  it('lists deliveries by session, client, state and limit (CLI text and JSON, admin API); a delivered one cannot be retried', async () => {
    const [notebook, calendar, mail] = apps as [App, App, App];
    const user = await newUser(gatehouse);
    // First session: Notebook is told, Calendar never answers and is given up after the retry window.
    const first = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), [notebook, calendar], user);
    calendar.receiver.answers = [503, 503];
    await gatehouse.container.sessions.revokeByAdmin(first.id, { type: 'admin', id: 'cli' });
    await drain();
    clock.advance(25 * 3600_000);
    await drain();
    // Second session, later: Notebook is told again, Mail has not answered yet (pending).
    const second = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), [notebook, mail], user);
    mail.receiver.answers = [503];
    await gatehouse.container.sessions.revokeByAdmin(second.id, { type: 'admin', id: 'cli' });
    await drain();

    const secret = gatehouse.container.config.secret!;
    const cli = async (...args: string[]) => {
      const result = await runCli(gatehouse, secret, ['logout-deliveries', 'list', ...args, '--json']);
      expect(result.code).toBe(0);
      return listed(result.stdout);
    };
    const [N, C, M] = [notebook.rp.clientId, calendar.rp.clientId, mail.rp.clientId];
    // Every flag once through the real command (each is a child process, so the combinations are below, on the API,
    // which lists through the same service).
    expect(await cli('--session', first.id)).toEqual([[C, first.id, 'failed'], [N, first.id, 'delivered']].sort());
    // Newest first, cut at the limit.
    expect(await cli('--client', N, '--limit', '1')).toEqual([[N, second.id, 'delivered']]);
    expect(await cli('--session', second.id, '--state', 'pending')).toEqual([[M, second.id, 'pending']]);
    const badLimit = await runCli(gatehouse, secret, ['logout-deliveries', 'list', '--limit', '0']);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toMatch(/limit must be a whole number from 1 to 1000/);

    // The text listing: a header and one line per delivery, with state, client, session, reason, attempts, last error.
    const text = await runCli(gatehouse, secret, ['logout-deliveries', 'list', '--session', first.id]);
    expect(text.code).toBe(0);
    const [head, ...lines] = text.stdout.trimEnd().split('\n');
    expect(head!.split(/\s{2,}/)).toEqual(['ID', 'STATE', 'CLIENT', 'SESSION', 'REASON', 'ATTEMPTS', 'DUE/DONE AT', 'LAST ERROR']);
    const rows = await outbox(gatehouse, first.id);
    const failedRow = rows.find((n) => n.clientId === C)!;
    const deliveredRow = rows.find((n) => n.clientId === N)!;
    expect(lines.map((line) => line.split(/\s{2,}/)).sort()).toEqual([
      [failedRow.id, 'failed', C, first.id, 'revoked_by_admin', '2', failedRow.failedAt!.toISOString(), 'HTTP 503'],
      [deliveredRow.id, 'delivered', N, first.id, 'revoked_by_admin', '1', deliveredRow.deliveredAt!.toISOString(), '-'],
    ].sort());
    expect((await runCli(gatehouse, secret, ['logout-deliveries', 'list', '--client', C, '--state', 'delivered'])).stdout).toBe('No logout deliveries match.\n');

    const delivered = await runCli(gatehouse, secret, ['logout-deliveries', 'retry', deliveredRow.id]);
    expect(delivered.code).toBe(4);
    expect(delivered.stderr).toMatch(/already delivered/);

    const api = await adminApi(gatehouse);
    const query = async (search: string) => {
      const response = await api('GET', `/admin/api/logout-deliveries?${search}`);
      expect(response.status).toBe(200);
      return (response.body.deliveries as { client_id: string; session_id: string; state: string }[]).map((d) => [d.client_id, d.session_id, d.state]);
    };
    expect(await query(`client=${M}`)).toEqual([[M, second.id, 'pending']]);
    expect(await query(`client=${N}`)).toEqual([[N, second.id, 'delivered'], [N, first.id, 'delivered']]);
    expect(await query(`client=${N}&limit=1`)).toEqual([[N, second.id, 'delivered']]);
    expect(await query(`client=${C}&state=failed`)).toEqual([[C, first.id, 'failed']]);
    expect(await query(`client=${C}&state=delivered`)).toEqual([]);
    expect(await query(`client=${C}&state=pending`)).toEqual([]);
    expect(await query(`client=${M}&state=pending`)).toEqual([[M, second.id, 'pending']]);
    expect(await query(`session=${second.id}&state=delivered`)).toEqual([[N, second.id, 'delivered']]);
    expect(await query(`session=${first.id}&state=failed`)).toEqual([[C, first.id, 'failed']]);
    expect(await query(`session=${first.id}&state=pending`)).toEqual([]);
    expect(await query(`client=${C}&session=${first.id}&state=failed`)).toEqual([[C, first.id, 'failed']]);
    for (const limit of ['0', '1001', 'ten']) expect((await api('GET', `/admin/api/logout-deliveries?limit=${limit}`)).status).toBe(400);
    expect((await api('GET', '/admin/api/logout-deliveries?client=not%20an%20id')).status).toBe(400);
  });
});

describe('back-channel logout fan-out', () => {
  const CONCURRENCY = 3;
  let gatehouse: TestGatehouse;
  let clock: TestClock;
  let apps: App[] = [];

  beforeAll(async () => {
    clock = new TestClock();
    gatehouse = await startTestGatehouse('sqlite', { clock, env: { ...QUIET, BACKCHANNEL_CONCURRENCY: String(CONCURRENCY), BACKCHANNEL_TIMEOUT: '5' } });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  afterEach(async () => {
    await appsDown(apps);
    apps = [];
  });

  it('sends to the clients of a session concurrently, never more at once than BACKCHANNEL_CONCURRENCY', async () => {
    for (let i = 0; i < 8; i += 1) apps.push(await app(gatehouse, `Fan ${i}`));
    // Every receiver holds its answer until as many requests are open as the bound allows (fewer for the last wave),
    // then a moment longer, in which any request beyond the bound would arrive and be counted.
    const held: (() => void)[] = [];
    let answered = 0;
    let peak = 0;
    const gate = () => new Promise<void>((release) => {
      held.push(release);
      peak = Math.max(peak, held.length);
      if (held.length === Math.min(CONCURRENCY, apps.length - answered)) {
        setTimeout(() => {
          answered += held.length;
          for (const r of held.splice(0)) r();
        }, 50);
      }
    });
    for (const a of apps) a.receiver.gate = gate;
    const user = await newUser(gatehouse);
    const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), apps, user);
    await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
    await gatehouse.container.logoutDelivery.drain();
    await expectNotified(gatehouse, apps, apps.map((a) => [session, a] as const));
    // Three at once: concurrent, not one by one, and never more.
    expect(peak).toBe(CONCURRENCY);
  });

  it('a receiver that never answers holds one slot only: the others are all told while it hangs, then it is retried', async () => {
    // The stuck receiver is claimed first (the rows of one session are claimed in client-id order), and there are
    // more other apps than the free slots, so they can only all be told if slots keep turning over around it.
    for (let i = 0; i < 2 * CONCURRENCY; i += 1) apps.push(await app(gatehouse, `Slot ${i}`));
    apps.sort((a, b) => (a.rp.clientId < b.rp.clientId ? -1 : 1));
    const [stuck, ...others] = apps as [App, ...App[]];
    expect(others.length).toBeGreaterThan(CONCURRENCY - 1);
    stuck.receiver.answers = ['hang'];
    const user = await newUser(gatehouse);
    const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), apps, user);
    await gatehouse.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });

    // The wake after the end delivers; the test only waits for the receivers.
    const [hanging] = await stuck.receiver.waitFor(1);
    const told = (await Promise.all(others.map((o) => o.receiver.waitFor(1, { closed: true })))).flat();
    // Every other app was answered and done while the stuck request was still open...
    expect(hanging!.closed).toBeUndefined();
    // ...and the stuck one was in the first wave, so at least the rest went through the slots it left.
    const arrivals = [hanging!, ...told].map((r) => r.arrived).sort((a, b) => a - b);
    expect(arrivals.indexOf(hanging!.arrived)).toBeLessThan(CONCURRENCY);
    expect(told.filter((r) => r.arrived > hanging!.arrived).length).toBeGreaterThanOrEqual(others.length - (CONCURRENCY - 1));

    // The stuck attempt is abandoned at BACKCHANNEL_TIMEOUT and recorded as a timeout, to be retried.
    await gatehouse.container.logoutDelivery.drain();
    await stuck.receiver.waitFor(1, { closed: true });
    expect(hanging!.closed).toBeGreaterThan(Math.max(...told.map((r) => r.closed!)));
    const slow = (await gatehouse.container.logoutDeliveries.list({ sessionId: session.id, clientId: stuck.rp.clientId }))[0];
    expect(slow).toMatchObject({ state: 'pending', attempts: 1, lastError: 'no answer within 5000 ms' });
    clock.advance(5_000);
    await gatehouse.container.logoutDelivery.drain();
    expect((await gatehouse.container.logoutDeliveries.get(slow!.id))).toMatchObject({ state: 'delivered', attempts: 2 });
    // Told twice (the abandoned attempt and the retry), with one jti; every other app once.
    const claims = await Promise.all(stuck.receiver.received.map((r) => verifyLogoutToken(r.token, { issuer: gatehouse.issuer, clientId: stuck.rp.clientId, alg: 'RS256' })));
    expect(claims.map((c) => c.jti)).toEqual([slow!.id, slow!.id]);
    await expectNotified(gatehouse, others, others.map((a) => [session, a] as const));
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
      await inFlight.receiver.waitFor(1);
      await first.stop();
      first = undefined;
      expect(queued.receiver.received).toHaveLength(0);

      await queued.receiver.up();
      clock.advance(5_000);
      second = await startTestGatehouse(kind, { database, secret, clock, env: QUIET });
      await second.container.logoutDelivery.drain();
      await expectNotified(second, [queued], [[session, queued]]);
      // The in-flight attempt was abandoned at shutdown and sent again (by the new process, under its issuer URL):
      // at least once, with the same jti.
      const [abandoned, delivered] = inFlight.receiver.received;
      expect(inFlight.receiver.received.map((r) => r.answered)).toEqual([0, 200]);
      const claims = await verifyLogoutToken(delivered!.token, { issuer: second.issuer, clientId: inFlight.rp.clientId, alg: 'RS256' });
      expect(decodeJwt(abandoned!.token).jti).toBe(claims.jti);
      expect(claims.sid).toBe(session.idTokens.get(inFlight)!.sid);
      expect((await second.container.logoutDeliveries.list({ sessionId: session.id, limit: 10 })).map((n) => n.state)).toEqual(['delivered', 'delivered']);
    } finally {
      await first?.stop();
      await second?.stop();
      await appsDown([queued, inFlight]);
      await database.drop();
    }
  });

  it('delivers, at the next start, what the CLI queued while no server ran', async () => {
    const database = await createTestDatabase(kind);
    const secret = 'offline-secret-' + randomBytes(24).toString('base64url');
    const first = await startTestGatehouse(kind, { database, secret, env: QUIET });
    const notebook = await app(first, 'Notebook');
    const mail = await app(first, 'Mail', { sessionRequired: false });
    let next: TestGatehouse | undefined;
    try {
      const user = await newUser(first);
      const session = await signInEverywhere(first, new Browser(first.issuer), [notebook, mail], user);
      await first.stop();

      const revoked = await runCli(first, secret, ['sessions', 'revoke', session.id]);
      expect(revoked).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Ended session/) });
      const queued = await runCli(first, secret, ['logout-deliveries', 'list', '--session', session.id, '--json']);
      expect(JSON.parse(queued.stdout)).toEqual([expect.objectContaining({ state: 'pending', attempts: 0 }), expect.objectContaining({ state: 'pending', attempts: 0 })]);
      expect(notebook.receiver.received.length + mail.receiver.received.length).toBe(0);

      // Starting is enough: no drain(), no poll (BACKCHANNEL_POLL_INTERVAL is an hour).
      next = await startTestGatehouse(kind, { database, secret, env: QUIET });
      await Promise.all([notebook.receiver.waitFor(1, { closed: true }), mail.receiver.waitFor(1, { closed: true })]);
      await next.container.logoutDelivery.drain();
      await expectNotified(next, [notebook, mail], [[session, notebook], [session, mail]]);
      expect((await next.container.logoutDeliveries.list({ sessionId: session.id, limit: 10 })).map((n) => [n.state, n.attempts])).toEqual([['delivered', 1], ['delivered', 1]]);
    } finally {
      await next?.stop();
      await appsDown([notebook, mail]);
      await database.drop();
    }
  });
});

const postgres = databaseKinds().includes('postgresql') ? describe : describe.skip;

postgres('back-channel logout with several Gatehouse processes on one PostgreSQL database', () => {
  it('delivers each notification once, shared between both workers', async () => {
    const database = await createTestDatabase('postgresql');
    const secret = 'shared-secret-' + randomBytes(24).toString('base64url');
    const env = { ...QUIET, BACKCHANNEL_CONCURRENCY: '2' };
    const one = await startTestGatehouse('postgresql', { database, secret, env });
    // Two instances of one deployment: one ISSUER (behind a load balancer), one database, one secret.
    const two = await startTestGatehouse('postgresql', { database, secret, env: { ...env, ISSUER: one.issuer } });
    const apps: App[] = [];
    try {
      for (let i = 0; i < 10; i += 1) apps.push(await app(one, `App ${i}`, { alg: i % 2 ? 'ES256' : 'RS256' }));
      // The first answers wait until four requests are open: each worker holds at most two, so both have claimed.
      let open = 0;
      let opened: () => void = () => {};
      const fourOpen = new Promise<void>((resolve) => (opened = resolve));
      for (const a of apps) a.receiver.gate = () => ((open += 1) >= 4 && opened(), fourOpen);
      const user = await newUser(one);
      const session = await signInEverywhere(one, new Browser(one.issuer), apps, user);
      await one.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
      const [a, b] = await Promise.all([one.container.logoutDelivery.drain(), two.container.logoutDelivery.drain()]);
      await one.container.logoutDelivery.drain();
      const deliveredByOne = one.container.logoutDelivery.counters.delivered;
      const deliveredByTwo = two.container.logoutDelivery.counters.delivered;
      expect(deliveredByOne + deliveredByTwo).toBe(10);
      expect(deliveredByOne).toBeGreaterThan(0);
      expect(deliveredByTwo).toBeGreaterThan(0);
      expect(a.failed + b.failed).toBe(0);
      await expectNotified(one, apps, apps.map((x) => [session, x] as const));
      expect((await two.container.logoutDeliveries.list({ sessionId: session.id, limit: 100 })).every((n) => n.state === 'delivered' && n.attempts === 1)).toBe(true);
    } finally {
      await one.stop();
      await two.stop();
      await appsDown(apps);
      await database.drop();
    }
  });

  it('a worker killed mid-delivery loses its row only when its lease runs out; another instance then delivers it once more, same jti', async () => {
    const database = await createTestDatabase('postgresql');
    const secret = 'lease-secret-' + randomBytes(24).toString('base64url');
    const clock = new TestClock();
    const survivor = await startTestGatehouse('postgresql', { database, secret, clock, env: QUIET });
    const target = await app(survivor, 'Ledger');
    let doomed: ChildGatehouse | undefined;
    try {
      const user = await newUser(survivor);
      const session = await signInEverywhere(survivor, new Browser(survivor.issuer), [target], user);
      // Another instance of the deployment in its own process: the built server, polling every second, with a timeout
      // long enough that it is still waiting for the receiver when it is killed.
      doomed = await spawnGatehouse({ database, secret, issuer: survivor.issuer, env: { BACKCHANNEL_POLL_INTERVAL: '1', BACKCHANNEL_TIMEOUT: '30' } });
      target.receiver.answers = ['hang'];
      // Ended from the CLI, which only queues: the child's poll claims the row (the survivor's worker only wakes for
      // sessions it ends itself, and its poll is an hour away).
      expect((await runCli(survivor, secret, ['sessions', 'revoke', session.id])).code).toBe(0);
      const [held] = await target.receiver.waitFor(1);
      const claims = await verifyLogoutToken(held!.token, { issuer: survivor.issuer, clientId: target.rp.clientId, alg: 'RS256' });
      const claimed = await survivor.container.logoutDeliveries.get(claims.jti);
      expect(claimed).toMatchObject({ state: 'pending', attempts: 0, claimedBy: expect.stringMatching(new RegExp(`^${doomed.pid}-`)) });

      expect(await doomed.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
      await target.receiver.waitFor(1, { closed: true });
      // Its claim outlives it: nobody takes the row while the lease holds.
      expect((await survivor.container.logoutDelivery.drain()).attempts).toBe(0);
      expect(await survivor.container.logoutDeliveries.get(claims.jti)).toMatchObject({ claimedBy: claimed.claimedBy, attempts: 0 });

      clock.advance(claimed.claimedUntil!.getTime() - clock.now().getTime() + 1000);
      expect(await survivor.container.logoutDelivery.drain()).toEqual({ attempts: 1, delivered: 1, retried: 0, failed: 0 });
      expect(await survivor.container.logoutDelivery.drain()).toMatchObject({ attempts: 0 });
      // Exactly once more, with the same jti: the dead worker's attempt was never recorded.
      expect(await survivor.container.logoutDeliveries.get(claims.jti)).toMatchObject({ state: 'delivered', attempts: 1, claimedBy: null });
      const [, again] = target.receiver.received;
      expect(target.receiver.received.map((r) => r.answered)).toEqual([0, 200]);
      const redelivered = await verifyLogoutToken(again!.token, { issuer: survivor.issuer, clientId: target.rp.clientId, alg: 'RS256' });
      expect([redelivered.jti, redelivered.sid, redelivered.sub]).toEqual([claims.jti, session.idTokens.get(target)!.sid, user.id]);
    } finally {
      await doomed?.kill('SIGKILL');
      await survivor.stop();
      await target.receiver.down();
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
      // Registered while the rules did not apply: one over http, one over https to a name that resolves to loopback.
      const legacy = await registerRelyingParty(development, 'Registered in development', { backchannelLogoutUri: receiver.uri });
      const loopback = await registerRelyingParty(development, 'Loopback by name', { backchannelLogoutUri: receiver.uri.replace('http://127.0.0.1', 'https://localhost') });
      await development.stop();
      production = await startTestGatehouse('sqlite', { database, secret, env: { ...QUIET, NODE_ENV: 'production' } });
      const clients = production.container.clients;
      const base = { name: 'Internal', redirectUris: ['https://app.example.com/cb'] };
      for (const uri of ['https://10.1.2.3/logout', 'https://127.0.0.1/logout', 'https://[::1]/logout', 'https://169.254.169.254/latest', 'https://localhost/logout', 'https://[2002:a00:1::1]/logout', 'http://93.184.216.34/logout']) {
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
      const browser = new Browser(production.issuer);
      const connect = (rp: typeof legacy) => connectRelyingParty(production!, { clientId: rp.clientId, secret: rp.config.clientMetadata().client_secret as string, redirectUri: rp.redirectUri });
      await (await connect(legacy)).login(browser, user);
      const viaName = await (await connect(loopback)).authorize(browser, { scope: 'openid' });
      expect(viaName).toHaveProperty('tokens');
      const [session] = await production.container.sessions.listLive(user.id);
      await production.container.sessions.revokeByAdmin(session!.id, { type: 'admin', id: 'cli' });
      await production.container.logoutDelivery.drain();
      expect(receiver.received).toHaveLength(0);
      const rows = await outbox(production, session!.id);
      expect(rows.find((n) => n.clientId === legacy.clientId)).toMatchObject({ state: 'failed', attempts: 1, lastError: expect.stringMatching(/https/) });
      // https alone is not enough: the address the name resolves to is checked when connecting, and refused.
      expect(rows.find((n) => n.clientId === loopback.clientId)).toMatchObject({ state: 'failed', attempts: 1, lastError: expect.stringMatching(/loopback, link-local or private address/) });
    } finally {
      await production?.stop();
      await receiver.down();
      await database.drop();
    }
  });

  it('delivers to an allow-listed loopback host over https, and refuses one that is not listed (BACKCHANNEL_ALLOWED_HOSTS)', async () => {
    const database = await createTestDatabase('sqlite');
    const secret = 'allow-list-secret-' + randomBytes(24).toString('base64url');
    const certificate = selfSignedCertificate();
    const front = await startTestGatehouse('sqlite', { database, secret, env: QUIET });
    const listed = await app(front, 'Internal by address', { receiver: { tls: certificate, host: '127.0.0.1' } });
    const unlisted = await app(front, 'Internal by name', { receiver: { tls: certificate, host: 'localhost' } });
    let server: ChildGatehouse | undefined;
    try {
      const user = await newUser(front);
      const session = await signInEverywhere(front, new Browser(front.issuer), [listed, unlisted], user);
      // The production server in its own process, configured as an operator would: the allow-list, and the internal
      // CA (here the self-signed certificate) through NODE_EXTRA_CA_CERTS. It delivers; `front` only answers HTTP.
      server = await spawnGatehouse({
        database, secret, issuer: front.issuer,
        env: { NODE_ENV: 'production', BACKCHANNEL_ALLOWED_HOSTS: '127.0.0.1', BACKCHANNEL_POLL_INTERVAL: '1', NODE_EXTRA_CA_CERTS: certificate.certPath },
      });
      expect((await runCli(front, secret, ['sessions', 'revoke', session.id])).code).toBe(0);
      await listed.receiver.waitFor(1, { closed: true });
      await server.waitForLog((line) => line.msg === 'back-channel logout given up' && line.clientId === unlisted.rp.clientId);
      await server.waitForLog((line) => line.msg === 'back-channel logout delivered' && line.clientId === listed.rp.clientId);
      await expectNotified(front, [listed, unlisted], [[session, listed]]);
      const rows = await outbox(front, session.id);
      expect(rows.find((n) => n.clientId === listed.rp.clientId)).toMatchObject({ state: 'delivered', attempts: 1 });
      expect(rows.find((n) => n.clientId === unlisted.rp.clientId)).toMatchObject({ state: 'failed', attempts: 1, lastError: expect.stringMatching(/loopback, link-local or private address/) });
      expect(await front.container.audit.list({ userId: user.id, types: ['logout.delivery_failed'] })).toEqual([expect.objectContaining({ clientId: unlisted.rp.clientId })]);
    } finally {
      await server?.kill('SIGTERM');
      await front.stop();
      await appsDown([listed, unlisted]);
      certificate.remove();
      await database.drop();
    }
  });
});
