import * as oidc from 'openid-client';
import { adminApi, app, appsDown, expectNotified, MINUTE, newUser, PASSWORD, QUIET, signInEverywhere, type App, type SignedIn, type TestUser } from '../support/backchannel.js';
import { Browser, expectPage, findForm } from '../support/browser.js';
import { runCli } from '../support/cli.js';
import { TestClock } from '../support/clock.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

// Endings that concern several SSO sessions of one user at once. No session limit here, so one user can have three
// sessions (three browsers), each signed in to two of three applications.
describe('back-channel logout for a user with several sessions (sqlite)', () => {
  let gatehouse: TestGatehouse;
  let clock: TestClock;
  let apps: App[];
  let user: TestUser;
  let sessions: [SignedIn, SignedIn, SignedIn];
  const drain = () => gatehouse.container.logoutDelivery.drain();
  const pairs = (...of: SignedIn[]) => of.flatMap((s) => s.apps.map((a) => [s, a] as const));

  beforeAll(async () => {
    clock = new TestClock();
    gatehouse = await startTestGatehouse('sqlite', { clock, env: { ...QUIET, ACCESS_TOKEN_TTL: '300' } });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  beforeEach(async () => {
    const [notebook, calendar, mail] = apps = [
      await app(gatehouse, 'Notebook'),
      await app(gatehouse, 'Calendar', { alg: 'ES256' }),
      await app(gatehouse, 'Mail', { sessionRequired: false }),
    ];
    user = await newUser(gatehouse);
    const signIn = (signedInTo: App[]) => signInEverywhere(gatehouse, new Browser(gatehouse.issuer), signedInTo, user);
    // Every application is in two of the three sessions, so only the right sid (or, for Mail, the right jti) tells
    // which session an application was told about.
    sessions = [await signIn([notebook!, calendar!]), await signIn([calendar!, mail!]), await signIn([mail!, notebook!])];
    expect(await gatehouse.container.sessions.listLive(user.id)).toHaveLength(3);
  });

  afterEach(async () => {
    await appsDown(apps);
  });

  async function liveIds(): Promise<string[]> {
    return (await gatehouse.container.sessions.listLive(user.id)).map((s) => s.id).sort();
  }

  async function endReasons(): Promise<(string | null)[]> {
    return Promise.all(sessions.map(async (s) => (await gatehouse.container.sessions.get(s.id)).endReason));
  }

  /** Posts one of the forms of /account/sessions from the browser of `from`. */
  async function sessionsForm(from: SignedIn, action: RegExp) {
    const page = expectPage(await from.browser.navigate('/account/sessions'));
    const form = findForm(page.html, action);
    return from.browser.request(new URL(form.action, page.url), { form: form.hidden });
  }

  it('log out everywhere (/account/sessions) tells every application of every session', async () => {
    const response = await sessionsForm(sessions[0], /\/account\/sessions\/end-all$/);
    expect(response.status).toBe(200);
    await drain();
    expect(await liveIds()).toEqual([]);
    expect(await endReasons()).toEqual(['revoked_by_user', 'revoked_by_user', 'revoked_by_user']);
    await expectNotified(gatehouse, apps, pairs(...sessions));
  });

  it('ending the other sessions (/account/sessions) tells their applications, and not those of this session', async () => {
    const response = await sessionsForm(sessions[0], /\/account\/sessions\/end-others$/);
    expect(response.status).toBe(303);
    await drain();
    expect(await liveIds()).toEqual([sessions[0].id]);
    expect(await endReasons()).toEqual([null, 'revoked_by_user', 'revoked_by_user']);
    // Notebook and Calendar are each told once, about the session they shared with Mail, never about this one.
    await expectNotified(gatehouse, apps, pairs(sessions[1], sessions[2]));
  });

  it('an administrator ending all of them (admin API) tells every application of every session', async () => {
    const api = await adminApi(gatehouse);
    expect(await api('DELETE', `/admin/api/users/${user.id}/sessions`)).toEqual({ status: 200, body: { user_id: user.id, ended: 3 } });
    await drain();
    expect(await endReasons()).toEqual(['revoked_by_admin', 'revoked_by_admin', 'revoked_by_admin']);
    await expectNotified(gatehouse, apps, pairs(...sessions));
  });

  it('an administrator ending all of them (gatehouse sessions revoke-all) tells every application of every session', async () => {
    const cli = await runCli(gatehouse, gatehouse.container.config.secret!, ['sessions', 'revoke-all', '--user', user.email]);
    expect(cli).toMatchObject({ code: 0, stdout: `Ended 3 sessions of ${user.email}.\n` });
    // The CLI only queues, on the real clock; the server sends on its poll (here on drain(), once its injected clock
    // has caught up with the time the CLI queued them at).
    clock.advance(Math.max(0, Date.now() - clock.now().getTime()) + 1000);
    await drain();
    expect(await endReasons()).toEqual(['revoked_by_admin', 'revoked_by_admin', 'revoked_by_admin']);
    await expectNotified(gatehouse, apps, pairs(...sessions));
  });

  it('changing the password (/account/password) ends the other sessions and tells their applications; this session and its applications carry on', async () => {
    const [current] = sessions;
    const page = expectPage(await current.browser.navigate('/account/password'));
    const form = findForm(page.html, /\/account\/password$/);
    const next = 'a brand new horse battery';
    const changed = await current.browser.request(new URL(form.action, page.url), { form: { ...form.hidden, current_password: PASSWORD, new_password: next, confirm_password: next } });
    expect([changed.status, changed.headers.get('location')]).toEqual([303, '/account/password?done=changed']);
    await drain();
    expect(await liveIds()).toEqual([current.id]);
    expect(await endReasons()).toEqual([null, 'password_changed', 'password_changed']);
    await expectNotified(gatehouse, apps, pairs(sessions[1], sessions[2]));
    // This session lives on (under a new cookie value): its applications still sign in silently, and are not told.
    const silent = await current.apps[0]!.rp.authorize(current.browser, { prompt: 'none', scope: 'openid' });
    expect(silent).toHaveProperty('tokens');
    await drain();
    await expectNotified(gatehouse, apps, pairs(sessions[1], sessions[2]));
  });

  it('tells an application that holds only a refresh token (its access token expired, it refreshed, then the session ended)', async () => {
    const [, , withMail] = sessions;
    const notebook = apps[0]!;
    const first = withMail.tokens.get(notebook)!;
    const userinfo = (accessToken: string) => fetch(`${gatehouse.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect((await userinfo(first.access_token)).status).toBe(200);
    // ACCESS_TOKEN_TTL is five minutes of the injected clock.
    clock.advance(6 * MINUTE);
    expect((await userinfo(first.access_token)).status).toBe(401);
    const refreshed = await oidc.refreshTokenGrant(notebook.rp.config, first.refresh_token!);
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(first.refresh_token);
    expect((await userinfo(refreshed.access_token)).status).toBe(200);
    clock.advance(6 * MINUTE);
    // Now the refresh token is all the application holds.
    expect((await userinfo(refreshed.access_token)).status).toBe(401);

    await gatehouse.container.sessions.revokeByAdmin(withMail.id, { type: 'admin', id: 'cli' });
    await drain();
    await expectNotified(gatehouse, apps, pairs(withMail));
    await expect(oidc.refreshTokenGrant(notebook.rp.config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe('the session sweeper started with the server', () => {
  it('ends a session past its idle deadline on its own schedule and its applications are told, without anyone asking', async () => {
    const clock = new TestClock();
    // The sweeper runs every second (real time); the deadline it compares with is on the injected clock.
    const gatehouse = await startTestGatehouse('sqlite', { clock, env: { ...QUIET, SESSION_SWEEP_INTERVAL: '1' } });
    const apps = [await app(gatehouse, 'Notebook'), await app(gatehouse, 'Mail', { sessionRequired: false })];
    try {
      const user = await newUser(gatehouse);
      const session = await signInEverywhere(gatehouse, new Browser(gatehouse.issuer), apps, user);
      clock.advance(31 * MINUTE);
      // No sweepExpired(), no drain(): the server's own sweeper ends the session, and its worker delivers.
      await Promise.all(apps.map((a) => a.receiver.waitFor(1, { closed: true })));
      expect(await gatehouse.container.sessions.get(session.id)).toMatchObject({ endReason: 'expired_idle' });
      await expectNotified(gatehouse, apps, apps.map((a) => [session, a] as const));
      expect(gatehouse.logLines).toContainEqual(expect.objectContaining({ msg: 'ended expired sessions', ended: 1 }));
    } finally {
      await gatehouse.stop();
      await appsDown(apps);
    }
  });
});
