import { Browser, expectPage, type Page } from '../support/browser.js';
import { TestClock } from '../support/clock.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { registerRelyingParty, type RelyingParty } from '../support/relying-party.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const PASSWORD = 'correct horse battery staple';

describe.each(databaseKinds())('activity on Gatehouse\'s own pages keeps the session (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let clock: TestClock;
  let app: RelyingParty;
  let users = 0;

  beforeEach(async () => {
    clock = new TestClock();
    gatehouse = await startTestGatehouse(kind, { clock });
    app = await registerRelyingParty(gatehouse, 'Notebook');
  });

  afterEach(async () => {
    await gatehouse?.stop();
  });

  async function signedIn(path: string, options: { admin?: boolean; remember?: boolean } = {}): Promise<{ browser: Browser; sessionId: string; userId: string }> {
    users += 1;
    const email = `user${users}@example.com`;
    const user = await gatehouse.container.accounts.createUser({ email, password: PASSWORD });
    if (options.admin) await gatehouse.container.accounts.setAdmin(email, true);
    const browser = new Browser(gatehouse.issuer);
    const login = expectPage(await browser.navigate(path));
    const page = expectPage(await browser.submit(login, /\/login$/, { login: email, password: PASSWORD, ...(options.remember ? { remember: 'yes' } : {}) }));
    expect(page.url.pathname).toBe(path);
    const [session] = await gatehouse.container.sessions.listLive(user.id);
    return { browser, sessionId: session!.id, userId: user.id };
  }

  /** Opens a page; true when it is the page itself, false when the browser was sent to sign in again. */
  async function opens(browser: Browser, path: string): Promise<boolean> {
    const page: Page = expectPage(await browser.navigate(path));
    if (page.url.pathname === path && page.status === 200) return true;
    expect(page.html).toContain('name="password"');
    return false;
  }

  const lastSeen = async (id: string) => (await gatehouse.container.sessions.get(id)).lastSeenAt.getTime();

  it.each([
    ['a user only on the account pages', '/account', false],
    ['an administrator only in the console', '/admin/clients', true],
  ])('%s stays signed in past the idle timeout, with at most one write a minute', async (_who, path, admin) => {
    const { browser, sessionId } = await signedIn(path, { admin });
    const writes = new Set<number>([await lastSeen(sessionId)]);
    // Two hours of work, a page every 4 minutes, each followed by a burst of clicks within the same minute.
    for (let elapsed = 0; elapsed < 2 * HOUR; elapsed += 4 * MINUTE) {
      clock.advance(4 * MINUTE - 50 * SECOND);
      for (let click = 0; click < 6; click += 1) {
        expect(await opens(browser, path)).toBe(true);
        writes.add(await lastSeen(sessionId));
        clock.advance(10 * SECOND);
      }
    }
    const session = await gatehouse.container.sessions.get(sessionId);
    expect(session.endedAt).toBeNull();
    // One write per 4-minute round (plus the sign-in), none for the clicks within a minute of it.
    expect(writes.size).toBe(1 + 30);
    expect(session.idleExpiresAt.getTime() - session.lastSeenAt.getTime()).toBe(30 * MINUTE);
    // The stored protocol session was kept too: an application still signs in silently (single sign-on).
    expect('tokens' in (await app.authorize(browser, { prompt: 'none', scope: 'openid' }))).toBe(true);
  });

  it('moves a remembered session\'s cookie expiry with its idle deadline', async () => {
    const { browser, sessionId } = await signedIn('/account', { remember: true });
    clock.advance(3 * 24 * HOUR);
    const sent = browser.setCookieLines.length;
    expect(await opens(browser, '/account/sessions')).toBe(true);
    const { idleExpiresAt } = await gatehouse.container.sessions.get(sessionId);
    expect(idleExpiresAt.getTime()).toBe(clock.now().getTime() + 7 * 24 * HOUR);
    const cookie = browser.setCookieLines.slice(sent).find((line) => line.startsWith('gatehouse_session='));
    expect(cookie).toContain(`expires=${idleExpiresAt.toUTCString()}`);
    // Within the minute, nothing is written and no cookie is sent again.
    const again = browser.setCookieLines.length;
    expect(await opens(browser, '/account')).toBe(true);
    expect(browser.setCookieLines.slice(again).filter((line) => line.startsWith('gatehouse_session'))).toEqual([]);
  });

  it('still ends an idle session, and the page then asks to sign in', async () => {
    const { browser, sessionId } = await signedIn('/account');
    clock.advance(29 * MINUTE);
    expect(await opens(browser, '/account/sessions')).toBe(true);
    clock.advance(30 * MINUTE + SECOND);
    expect(await opens(browser, '/account')).toBe(false);
    expect(await gatehouse.container.sessions.isLive(sessionId)).toBe(false);
    expect((await gatehouse.container.sessions.get(sessionId)).endReason).toBe('expired_idle');
  });

  it('still ends a busy session at its absolute lifetime', async () => {
    const { browser, sessionId } = await signedIn('/admin/users', { admin: true });
    for (let elapsed = 0; elapsed < 12 * HOUR - 20 * MINUTE; elapsed += 20 * MINUTE) {
      clock.advance(20 * MINUTE);
      expect(await opens(browser, '/admin/users')).toBe(true);
    }
    const session = await gatehouse.container.sessions.get(sessionId);
    expect(session.idleExpiresAt.getTime()).toBeLessThanOrEqual(session.absoluteExpiresAt.getTime());
    clock.advance(20 * MINUTE);
    expect(await opens(browser, '/admin/users')).toBe(false);
    expect(await gatehouse.container.sessions.isLive(sessionId)).toBe(false);
    expect((await gatehouse.container.sessions.get(sessionId)).endReason).toBe('expired_absolute');
  });

  it('counts the sign-in steps of a signed-in user (the consent page) as activity', async () => {
    const { browser, sessionId } = await signedIn('/account');
    const redirectUri = 'http://127.0.0.1:9/third-party/callback';
    const { client } = await gatehouse.container.clients.create({ name: 'Third party', redirectUris: [redirectUri], grantTypes: ['authorization_code'], tokenEndpointAuthMethod: 'none', scope: 'openid' });
    const authorize = new URL('/auth', gatehouse.issuer);
    authorize.search = new URLSearchParams({
      response_type: 'code', client_id: client.clientId, redirect_uri: redirectUri, scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    }).toString();
    const toInteraction = await browser.request(authorize);
    expect(toInteraction.status).toBe(303);
    const atAuthorization = await lastSeen(sessionId);
    // The user reads the consent page a while before deciding.
    clock.advance(10 * MINUTE);
    const consent = expectPage(await browser.navigate(toInteraction.headers.get('location')!));
    expect(consent.html).toContain('Third party');
    expect(await lastSeen(sessionId)).toBe(atAuthorization + 10 * MINUTE);
  });
});
