import * as oidc from 'openid-client';
import * as jose from 'jose';
import { Browser, expectPage, expectRedirect, findForm, isPage } from '../support/browser.js';
import { TestClock } from '../support/clock.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { registerRelyingParty, type RelyingParty } from '../support/relying-party.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const PASSWORD = 'correct horse battery staple';
const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0';

interface World {
  gatehouse: TestGatehouse;
  clock: TestClock;
  app: RelyingParty;
  other: RelyingParty;
  userId: string;
}

async function world(kind: Parameters<typeof startTestGatehouse>[0], env: Record<string, string> = {}): Promise<World> {
  const clock = new TestClock();
  const gatehouse = await startTestGatehouse(kind, { clock, env });
  const user = await gatehouse.container.accounts.createUser({ email: 'ada@example.com', password: PASSWORD });
  // Back-channel logout URIs make oidc-provider put sid in ID tokens; nothing listens there yet (issue #5 delivers).
  const app = await registerRelyingParty(gatehouse, 'Notebook', { backchannelLogoutUri: 'http://127.0.0.1:9/notebook/backchannel' });
  const other = await registerRelyingParty(gatehouse, 'Calendar', { backchannelLogoutUri: 'http://127.0.0.1:9/calendar/backchannel' });
  return { gatehouse, clock, app, other, userId: user.id };
}

const ada = { login: 'ada@example.com', password: PASSWORD };

async function silently(rp: RelyingParty, browser: Browser) {
  const result = await rp.authorize(browser, { prompt: 'none', scope: 'openid' });
  if ('error' in result) return result.error;
  if ('page' in result) return 'page';
  return 'ok';
}

async function showsLoginPage(rp: RelyingParty, browser: Browser) {
  const result = await rp.authorize(browser, { prompt: 'consent' });
  return 'page' in result && /name="password"/.test(result.page.html);
}

async function notifications(gatehouse: TestGatehouse, sessionId: string) {
  const db = (gatehouse.container as unknown as { sessions: { deps: { index: { db: { logoutNotification: { findMany(args: object): Promise<{ clientId: string; sid: string; reason: string; userId: string }[]> } } } } } }).sessions.deps.index.db;
  return db.logoutNotification.findMany({ where: { sessionId }, orderBy: { clientId: 'asc' } });
}

describe.each(databaseKinds())('SSO session lifetimes (%s)', (kind) => {
  let w: World;

  beforeEach(async () => {
    w = await world(kind);
  });

  afterEach(async () => {
    await w?.gatehouse.stop();
  });

  it('records the session: device, address, methods, clients and their sids', async () => {
    const browser = new Browser(w.gatehouse.issuer, FIREFOX_MAC);
    const tokens = await w.app.login(browser, ada);
    const second = await w.other.authorize(browser, { scope: 'openid' });
    expect('tokens' in second).toBe(true);
    const [session] = await w.gatehouse.container.sessions.listLive(w.userId);
    expect(session).toMatchObject({ userId: w.userId, deviceLabel: 'Firefox on Mac OS', ipCreated: '127.0.0.1', amr: ['pwd'], remember: false });
    expect(session!.idleExpiresAt.getTime() - session!.lastSeenAt.getTime()).toBe(30 * MINUTE);
    expect(session!.absoluteExpiresAt.getTime() - session!.createdAt.getTime()).toBe(12 * HOUR);
    expect(session!.clients.map((c) => c.clientId).sort()).toEqual([w.app.clientId, w.other.clientId].sort());
    expect(session!.clients.find((c) => c.clientId === w.app.clientId)!.sid).toBe(tokens.claims()!.sid);
    // The cookie value identifies the session, yet neither the index nor the stored protocol state contains it.
    const cookie = browser.cookie('gatehouse_session')!;
    expect(session!.id).not.toBe(cookie);
    const db = (w.gatehouse.container.sessions as unknown as { deps: { index: { db: { oidcPayload: { findMany(): Promise<unknown[]> } } } } }).deps.index.db;
    expect(JSON.stringify(await db.oidcPayload.findMany())).not.toContain(cookie);
    expect(JSON.stringify(await db.oidcPayload.findMany())).not.toContain(tokens.refresh_token!);
    const audit = await w.gatehouse.container.audit.list({ userId: w.userId });
    expect(audit.map((e) => e.type)).toContain('session.created');
  });

  it('ends an idle session everywhere: login page, login_required, refresh refused, end recorded, clients handed off', async () => {
    const browser = new Browser(w.gatehouse.issuer);
    const tokens = await w.app.login(browser, ada);
    const [session] = await w.gatehouse.container.sessions.listLive(w.userId);
    w.clock.advance(29 * MINUTE);
    expect(await silently(w.app, browser)).toBe('ok');
    // Activity slides the idle deadline.
    w.clock.advance(29 * MINUTE);
    expect(await silently(w.app, browser)).toBe('ok');
    w.clock.advance(31 * MINUTE);

    await expect(oidc.refreshTokenGrant(w.app.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await silently(w.app, browser)).toBe('login_required');
    expect(await showsLoginPage(w.app, browser)).toBe(true);

    const ended = await w.gatehouse.container.sessions.get(session!.id);
    expect(ended.endReason).toBe('expired_idle');
    const audit = await w.gatehouse.container.audit.list({ userId: w.userId, types: ['session.expired_idle'] });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ sessionId: session!.id, actor: { type: 'system' } });
    expect((await notifications(w.gatehouse, session!.id)).map((n) => [n.clientId, n.reason])).toEqual([[w.app.clientId, 'expired_idle']]);
  });

  it('sweeps expired sessions without waiting for a request', async () => {
    const browser = new Browser(w.gatehouse.issuer);
    await w.app.login(browser, ada);
    const [session] = await w.gatehouse.container.sessions.listLive(w.userId);
    w.clock.advance(31 * MINUTE);
    expect(await w.gatehouse.container.sessions.sweepExpired()).toBe(1);
    expect((await w.gatehouse.container.sessions.get(session!.id)).endReason).toBe('expired_idle');
    expect(await w.gatehouse.container.sessions.sweepExpired()).toBe(0);
    expect(await notifications(w.gatehouse, session!.id)).toHaveLength(1);
  });

  it('ends a busy session at its absolute lifetime', async () => {
    const browser = new Browser(w.gatehouse.issuer);
    const tokens = await w.app.login(browser, ada);
    for (let elapsed = 0; elapsed < 12 * HOUR - 20 * MINUTE; elapsed += 20 * MINUTE) {
      w.clock.advance(20 * MINUTE);
      expect(await silently(w.app, browser)).toBe('ok');
    }
    w.clock.advance(20 * MINUTE);
    expect(await silently(w.app, browser)).toBe('login_required');
    await expect(oidc.refreshTokenGrant(w.app.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const audit = await w.gatehouse.container.audit.list({ userId: w.userId, types: ['session.expired_absolute'] });
    expect(audit).toHaveLength(1);
  });

  it('extends both limits when the user asks to be remembered, with a persistent cookie', async () => {
    const browser = new Browser(w.gatehouse.issuer);
    await w.app.login(browser, { ...ada, remember: 'yes' });
    const sessionCookie = browser.setCookieLines.filter((line) => line.startsWith('gatehouse_session=')).at(-1)!;
    expect(sessionCookie.toLowerCase()).toContain('expires=');
    const [session] = await w.gatehouse.container.sessions.listLive(w.userId);
    expect(session!.remember).toBe(true);
    expect(session!.absoluteExpiresAt.getTime() - session!.createdAt.getTime()).toBe(30 * DAY);

    w.clock.advance(6 * DAY);
    expect(await silently(w.app, browser)).toBe('ok');
    // Active every 6 days (within the 7-day idle timeout) on days 12, 18 and 24.
    for (let i = 0; i < 3; i += 1) {
      w.clock.advance(6 * DAY);
      expect(await silently(w.app, browser)).toBe('ok');
    }
    // 30 days after creation the session ends however busy it is.
    w.clock.advance(6 * DAY);
    expect(await silently(w.app, browser)).toBe('login_required');

    // Without "remember me" the cookie lasts as long as the browser session.
    const plain = new Browser(w.gatehouse.issuer);
    await w.app.login(plain, ada);
    expect(plain.setCookieLines.filter((line) => line.startsWith('gatehouse_session=')).at(-1)!.toLowerCase()).not.toContain('expires=');
  });

  it('ends a remembered session after 7 idle days', async () => {
    const browser = new Browser(w.gatehouse.issuer);
    await w.app.login(browser, { ...ada, remember: 'yes' });
    w.clock.advance(7 * DAY + MINUTE);
    expect(await silently(w.app, browser)).toBe('login_required');
    // The sweeper records the end (and hands the clients off) without waiting for another request.
    expect(await w.gatehouse.container.sessions.sweepExpired()).toBe(1);
    expect(await w.gatehouse.container.audit.list({ userId: w.userId, types: ['session.expired_idle'] })).toHaveLength(1);
  });

  it('changes the session cookie at every authentication: a value captured earlier is worthless', async () => {
    const browser = new Browser(w.gatehouse.issuer);
    await w.app.login(browser, ada);
    const before = browser.cookie('gatehouse_session')!;
    const beforeSig = browser.cookie('gatehouse_session.sig')!;
    w.clock.advance(MINUTE);
    await w.app.login(browser, ada, { prompt: 'login consent' });
    const after = browser.cookie('gatehouse_session')!;
    expect(after).not.toBe(before);
    expect(await w.gatehouse.container.sessions.listLive(w.userId)).toHaveLength(1);

    const attacker = new Browser(w.gatehouse.issuer);
    attacker.setCookie('gatehouse_session', before);
    attacker.setCookie('gatehouse_session.sig', beforeSig);
    expect(await silently(w.app, attacker)).toBe('login_required');
    expect(await silently(w.app, browser)).toBe('ok');
    expect((await w.gatehouse.container.audit.list({ userId: w.userId })).map((e) => e.type)).toContain('session.refreshed');
  });
});

describe.each(databaseKinds())('ending SSO sessions (%s)', (kind) => {
  let w: World;

  afterEach(async () => {
    await w?.gatehouse.stop();
  });

  async function twoClientSession(browser = new Browser(w.gatehouse.issuer)) {
    const appTokens = await w.app.login(browser, ada);
    const other = await w.other.authorize(browser);
    if (!('tokens' in other)) throw new Error('expected SSO to answer the second client');
    const live = await w.gatehouse.container.sessions.listLive(w.userId);
    const session = live.find((s) => s.clients.length === 2)!;
    return { browser, session, appTokens, otherTokens: other.tokens };
  }

  it('an administrator ending a session revokes its grants and hands every client to back-channel logout with its sid', async () => {
    w = await world(kind);
    const { browser, session, appTokens, otherTokens } = await twoClientSession();
    expect(await w.gatehouse.container.sessions.end(session.id, 'revoked_by_admin', { type: 'admin', id: 'cli' })).toBe(true);
    expect(await w.gatehouse.container.sessions.end(session.id, 'revoked_by_admin', { type: 'admin', id: 'cli' })).toBe(false);

    for (const [rp, tokens] of [[w.app, appTokens], [w.other, otherTokens]] as const) {
      await expect(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(await oidc.tokenIntrospection(rp.config, tokens.access_token)).toEqual({ active: false });
    }
    expect(await showsLoginPage(w.app, browser)).toBe(true);

    const handedOff = await notifications(w.gatehouse, session.id);
    const sidOf = (token: string) => jose.decodeJwt(token).sid;
    expect(handedOff.map((n) => ({ clientId: n.clientId, sid: n.sid, reason: n.reason })).sort((a, b) => a.clientId.localeCompare(b.clientId))).toEqual(
      [
        { clientId: w.app.clientId, sid: sidOf(appTokens.id_token!), reason: 'revoked_by_admin' },
        { clientId: w.other.clientId, sid: sidOf(otherTokens.id_token!), reason: 'revoked_by_admin' },
      ].sort((a, b) => a.clientId.localeCompare(b.clientId)),
    );
    const audit = await w.gatehouse.container.audit.list({ userId: w.userId, types: ['session.revoked_by_admin'] });
    expect(audit).toEqual([expect.objectContaining({ sessionId: session.id, actor: { type: 'admin', id: 'cli' } })]);
  });

  it('RP-initiated logout ends the session and hands off every client before redirecting back', async () => {
    w = await world(kind);
    const { browser, session, appTokens } = await twoClientSession();
    const logout = oidc.buildEndSessionUrl(w.app.config, { id_token_hint: appTokens.id_token! });
    // The client registered no post-logout URI: oidc-provider shows its own success page after the confirmation.
    const confirm = expectPage(await browser.navigate(logout));
    const done = await browser.submit(confirm, /\/session\/end\/confirm$/, { logout: 'yes' });
    expect(isPage(done) ? done.html : '').toContain('You are signed out');
    expect((await w.gatehouse.container.sessions.get(session.id)).endReason).toBe('logged_out');
    expect((await notifications(w.gatehouse, session.id)).map((n) => n.clientId).sort()).toEqual([w.app.clientId, w.other.clientId].sort());
    expect(await w.gatehouse.container.audit.list({ userId: w.userId, types: ['session.logged_out'] })).toHaveLength(1);
  });

  it('an administrator setting the password ends every session; disabling the user does too', async () => {
    w = await world(kind);
    const first = await twoClientSession();
    const second = await twoClientSession(new Browser(w.gatehouse.issuer));
    expect(await w.gatehouse.container.sessions.listLive(w.userId)).toHaveLength(2);
    await w.gatehouse.container.accounts.setPassword('ada@example.com', 'an entirely new password');
    expect(await w.gatehouse.container.sessions.listLive(w.userId)).toHaveLength(0);
    await expect(oidc.refreshTokenGrant(w.app.config, first.appTokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(w.other.config, second.otherTokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await w.gatehouse.container.audit.list({ userId: w.userId, types: ['session.ended_by_password_change'] })).toHaveLength(2);

    const fresh = await w.app.login(new Browser(w.gatehouse.issuer), { login: 'ada@example.com', password: 'an entirely new password' });
    await w.gatehouse.container.accounts.disable('ada@example.com');
    expect(await w.gatehouse.container.sessions.listLive(w.userId)).toHaveLength(0);
    await expect(oidc.refreshTokenGrant(w.app.config, fresh.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const events = (await w.gatehouse.container.audit.list({ userId: w.userId })).map((e) => e.type);
    expect(events).toEqual(expect.arrayContaining(['session.ended_by_user_disabled', 'user.disabled', 'user.password_changed']));
  });

  it('a user changing their password keeps exactly the current session', async () => {
    w = await world(kind);
    const current = await twoClientSession();
    const elsewhere = await twoClientSession(new Browser(w.gatehouse.issuer));
    await w.gatehouse.container.accounts.changeOwnPassword(w.userId, { currentPassword: PASSWORD }, 'a brand new password', current.session.id, { type: 'user', id: w.userId });
    const live = await w.gatehouse.container.sessions.listLive(w.userId);
    expect(live.map((s) => s.id)).toEqual([current.session.id]);
    await expect(oidc.refreshTokenGrant(w.app.config, elsewhere.appTokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(w.app.config, current.appTokens.refresh_token!)).resolves.toHaveProperty('access_token');
  });

  it('evict-oldest ends the oldest session when a new one would pass the limit', async () => {
    w = await world(kind, { SESSION_LIMIT: '2', SESSION_LIMIT_POLICY: 'evict-oldest' });
    const browsers = [new Browser(w.gatehouse.issuer), new Browser(w.gatehouse.issuer), new Browser(w.gatehouse.issuer)];
    const tokens = [];
    for (const browser of browsers) {
      tokens.push(await w.app.login(browser, ada));
      w.clock.advance(MINUTE);
    }
    const live = await w.gatehouse.container.sessions.listLive(w.userId);
    expect(live).toHaveLength(2);
    expect(await silently(w.app, browsers[0]!)).toBe('login_required');
    expect(await silently(w.app, browsers[2]!)).toBe('ok');
    await expect(oidc.refreshTokenGrant(w.app.config, tokens[0]!.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await w.gatehouse.container.audit.list({ userId: w.userId, types: ['session.evicted'] })).toHaveLength(1);
    // Signing in again inside one's own session is not a new session.
    await w.app.login(browsers[2]!, ada, { prompt: 'login consent' });
    expect(await w.gatehouse.container.sessions.listLive(w.userId)).toHaveLength(2);
  });

  it('deny-new shows a page that lets the user end another session first', async () => {
    w = await world(kind, { SESSION_LIMIT: '1', SESSION_LIMIT_POLICY: 'deny-new' });
    const first = new Browser(w.gatehouse.issuer, FIREFOX_MAC);
    await w.app.login(first, ada);
    const [firstSession] = await w.gatehouse.container.sessions.listLive(w.userId);

    const second = new Browser(w.gatehouse.issuer);
    const result = await w.app.authorize(second);
    if (!('page' in result)) throw new Error('expected the login page');
    const limitPage = expectPage(await second.submit(result.page, /\/login$/, ada));
    expect(limitPage.status).toBe(409);
    expect(limitPage.html).toContain('Firefox on Mac OS');
    expect(await w.gatehouse.container.sessions.listLive(w.userId)).toHaveLength(1);
    expect(await w.gatehouse.container.audit.list({ userId: w.userId, types: ['session.limit_denied'] })).toHaveLength(1);

    // A forged ticket (another user, or tampered) is refused.
    const form = findForm(limitPage.html, /\/session-limit$/);
    const tampered = await second.request(new URL(form.action, limitPage.url), { form: { ...form.hidden, user: 'someone-else' } });
    expect(tampered.status).toBe(403);

    const continued = await second.submit(limitPage, /\/session-limit$/);
    const redirect = isPage(continued) ? expectRedirect(await second.submit(continued, /\/confirm$/)) : expectRedirect(continued);
    expect(redirect.searchParams.get('code')).toEqual(expect.any(String));
    expect((await w.gatehouse.container.sessions.get(firstSession!.id)).endReason).toBe('revoked_by_user');
    expect(await silently(w.app, first)).toBe('login_required');
  });
});
