import * as oidc from 'openid-client';
import { Browser, expectPage, findForm, isPage, signIn, type Page } from '../support/browser.js';
import { databaseKinds } from '../support/databases.js';
import { registerRelyingParty } from '../support/relying-party.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

const REDIRECT_URI = 'http://127.0.0.1:9/notebook/callback';
const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase 77';
const SESSION_COOKIE = 'gatehouse_session';

interface TestUser {
  readonly id: string;
  readonly login: string;
  readonly password: string;
}

interface SessionItem {
  readonly id: string;
  readonly current: boolean;
  readonly device: string;
  readonly apps: string[];
}

/** The sessions listed on /account/sessions, as a reader sees them. */
function listedSessions(html: string): SessionItem[] {
  const pattern =
    /<li( class="current" aria-current="true")?>\s*<p><strong>([^<]*)<\/strong>[\s\S]*?<dt>Applications<\/dt><dd>([\s\S]*?)<\/dd>[\s\S]*?action="\/account\/sessions\/([^"/]+)\/end"/g;
  return [...html.matchAll(pattern)].map((m) => ({
    id: m[4]!,
    current: m[1] !== undefined,
    device: m[2]!,
    apps: [...m[3]!.matchAll(/<li>([^<]*)<\/li>/g)].map((a) => a[1]!),
  }));
}

describe.each(databaseKinds())('account pages (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let config: oidc.Configuration;
  let users = 0;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind);
    const created = await gatehouse.container.clients.create({ name: 'Notebook', redirectUris: [REDIRECT_URI], firstParty: true });
    config = await oidc.discovery(new URL(gatehouse.issuer), created.client.clientId, created.secret!, undefined, { execute: [oidc.allowInsecureRequests] });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  // Each test has its own user, so sessions ended by one test never touch another's.
  async function newUser(name: string | null = 'Ada Lovelace'): Promise<TestUser> {
    users += 1;
    const login = `user${users}@example.com`;
    const user = await gatehouse.container.accounts.createUser({ email: login, password: PASSWORD, name });
    return { id: user.id, login, password: PASSWORD };
  }

  const browser = () => new Browser(gatehouse.issuer);
  const live = (user: TestUser) => gatehouse.container.sessions.listLive(user.id);
  const auditTypes = async (user: TestUser) => (await gatehouse.container.audit.list({ userId: user.id })).map((e) => e.type);

  /** Opens an account page signed out, signs in on the login form it leads to, and lands back on the page. */
  async function signInToAccount(b: Browser, user: TestUser, path = '/account', password = user.password): Promise<Page> {
    const login = expectPage(await b.navigate(path));
    expect(login.url.pathname).toMatch(/^\/interaction\//);
    expect(login.html).toContain('name="password"');
    return expectPage(await b.submit(login, /\/login$/, { login: user.login, password }));
  }

  async function appRequest() {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email offline_access',
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    return { url, verifier, state };
  }

  /** Signs a browser in to the Notebook application; returns its tokens (with a refresh token). */
  async function signInToApp(b: Browser, user: TestUser, password = user.password) {
    const { url, verifier, state } = await appRequest();
    const callback = await signIn(b, url, { login: user.login, password });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    return tokens;
  }

  /** What the browser gets for a new authorization request of the application: the login page, or straight back. */
  async function appAuthorization(b: Browser): Promise<'login page' | 'signed in'> {
    const { url } = await appRequest();
    let result = await b.navigate(url);
    if (isPage(result) && /\/confirm"/.test(result.html)) result = await b.submit(result, /\/confirm$/);
    if (isPage(result)) {
      expect(result.html).toContain('name="password"');
      return 'login page';
    }
    expect(result.redirect.searchParams.get('code')).toEqual(expect.any(String));
    return 'signed in';
  }

  /** Posts the form of `page` whose action matches, without following the answer. */
  async function post(b: Browser, page: Page, action: RegExp, values: Record<string, string> = {}) {
    const form = findForm(page.html, action);
    return b.request(new URL(form.action, page.url), { form: { ...form.hidden, ...values } });
  }

  async function sessionsPage(b: Browser, path = '/account/sessions'): Promise<Page> {
    const page = expectPage(await b.navigate(path));
    expect(page.url.pathname).toBe('/account/sessions');
    return page;
  }

  it('sends a signed-out visitor through the login form and back to the page asked for', async () => {
    const ada = await newUser();
    const b = browser();
    const first = await b.request('/account/sessions');
    expect(first.status).toBe(303);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const auth = new URL(first.headers.get('location')!, gatehouse.issuer);
    expect(auth.pathname).toBe('/auth');
    expect(Object.fromEntries(auth.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'gatehouse-account',
      redirect_uri: `${gatehouse.issuer}/account/callback`,
      scope: 'openid',
      code_challenge_method: 'S256',
      state: expect.any(String),
      code_challenge: expect.any(String),
    });
    const pending = b.setCookieLines.find((line) => line.startsWith('gatehouse_account_signin='))!;
    expect(pending.toLowerCase()).toContain('httponly');
    expect(pending.toLowerCase()).toContain('samesite=lax');
    expect(pending.toLowerCase()).toContain('path=/account');
    expect(b.cookieNames()).toContain('gatehouse_account_signin.sig');

    const page = await signInToAccount(b, ada, '/account/sessions');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.html).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
    expect(page.html).toContain('<h1>Your devices</h1>');
    // The sign-in cookie is spent; the SSO session is what signs the pages in.
    expect(b.cookie('gatehouse_account_signin')).toBeUndefined();
    expect(b.cookie(SESSION_COOKIE)).toEqual(expect.any(String));

    const account = expectPage(await b.navigate('/account'));
    expect(account.status).toBe(200);
    expect(account.html).toContain(ada.login);
    expect(account.html).toContain('Ada Lovelace');
    expect(account.html).toContain('href="/account/sessions"');
    expect(account.html).toContain('href="/account/password"');
  });

  it('edits the profile name: saved, audited, given to applications; a bad name is shown next to the field and not saved', async () => {
    const ada = await newUser();
    const b = browser();
    const page = await signInToAccount(b, ada);
    expect(page.html).toMatch(/<input id="name" name="name"[^>]*value="Ada Lovelace"/);

    const bad = expectPage(await b.submit(page, /\/account\/profile$/, { name: 'Ada\u0007' }));
    expect(bad.status).toBe(400);
    expect(bad.html).toMatch(/aria-invalid="true"[\s\S]*<p class="field-error" id="name-error">The name must be at most 200 printable characters.<\/p>/);
    expect((await gatehouse.container.accounts.findActiveById(ada.id))!.name).toBe('Ada Lovelace');

    const saved = expectPage(await b.submit(bad, /\/account\/profile$/, { name: '  Ada King  ' }));
    expect(saved.url.search).toBe('?done=saved');
    expect(saved.html).toContain('Your profile has been saved.');
    expect((await gatehouse.container.accounts.findActiveById(ada.id))!.name).toBe('Ada King');
    expect(await auditTypes(ada)).toContain('user.profile_updated');

    // Applications see the new name (profile scope, at the userinfo endpoint).
    const rp = await registerRelyingParty(gatehouse, 'Directory');
    const tokens = await rp.login(browser(), { login: ada.login, password: PASSWORD }, { scope: 'openid profile' });
    expect(await oidc.fetchUserInfo(rp.config, tokens.access_token, ada.id)).toMatchObject({ name: 'Ada King' });

    // Without the CSRF token nothing changes.
    expect((await b.request('/account/profile', { form: { name: 'Mallory' } })).status).toBe(403);
    expect((await gatehouse.container.accounts.findActiveById(ada.id))!.name).toBe('Ada King');
  });

  it('discards the authorization code it was sent: the pages never need it', async () => {
    const ada = await newUser();
    const b = browser();
    const start = await b.request('/account');
    const pending = JSON.parse(Buffer.from(b.cookie('gatehouse_account_signin')!, 'base64url').toString('utf8')) as { verifier: string };
    const login = expectPage(await b.navigate(start.headers.get('location')!));
    const form = findForm(login.html, /\/login$/);
    let response = await b.request(new URL(form.action, login.url), { form: { ...form.hidden, login: ada.login, password: ada.password } });
    let location = new URL(response.headers.get('location')!, gatehouse.issuer);
    while (location.pathname !== '/account/callback') {
      response = await b.request(location);
      location = new URL(response.headers.get('location')!, gatehouse.issuer);
    }
    const code = location.searchParams.get('code')!;
    const back = await b.request(location);
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe('/account');

    const exchange = await fetch(`${gatehouse.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: `${gatehouse.issuer}/account/callback`,
        client_id: 'gatehouse-account',
        code_verifier: pending.verifier,
      }).toString(),
    });
    expect(exchange.status).toBe(400);
    expect(await exchange.json()).toMatchObject({ error: 'invalid_grant' });
    expect(expectPage(await b.navigate('/account')).url.pathname).toBe('/account');
  });

  it('signs in silently when the browser already has an SSO session', async () => {
    const ada = await newUser();
    const b = browser();
    await signInToApp(b, ada);
    const page = expectPage(await b.navigate('/account/password'));
    expect(page.url.pathname).toBe('/account/password');
    expect(page.html).toContain('<label for="current_password">');
    expect(page.html).toContain('<label for="new_password">');
    expect(page.html).toContain('<label for="confirm_password">');
  });

  it('refuses a callback whose state was not issued to this browser', async () => {
    const b = browser();
    const started = await b.request('/account');
    expect(started.status).toBe(303);
    const response = await b.request('/account/callback?code=x&state=forged');
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('This sign-in was not started in this browser');
    const elsewhere = await browser().request('/account/callback?code=x&state=forged');
    expect(elsewhere.status).toBe(400);
  });

  it('lists every live session with its device, address, apps and the current one marked', async () => {
    const ada = await newUser();
    const here = browser();
    const there = browser();
    await signInToAccount(here, ada);
    await signInToApp(there, ada);
    const [hereId] = (await live(ada)).filter((s) => s.clients.some((c) => c.clientId === 'gatehouse-account')).map((s) => s.id);

    const page = await sessionsPage(here);
    const items = listedSessions(page.html);
    expect(items).toHaveLength(2);
    const current = items.find((s) => s.current)!;
    const other = items.find((s) => !s.current)!;
    expect(current.id).toBe(hereId);
    expect(current.apps).toEqual(['Gatehouse account']);
    expect(other.apps).toEqual(['Notebook']);
    expect(page.html).toContain('This device');
    expect(page.html.match(/This device/g)).toHaveLength(1);
    expect(page.html).toContain('127.0.0.1');
    expect(page.html).toContain('Gatehouse has no location database');
    const [session] = await live(ada);
    expect(page.html).toContain(`<time datetime="${session!.lastSeenAt.toISOString()}">`);
    expect(page.html).toContain(`<time datetime="${session!.createdAt.toISOString()}">`);
    expect(page.html).not.toContain('class="notice"');
    // Only known confirmations are shown, as fixed texts: the query string is never reflected.
    const probed = await sessionsPage(here, '/account/sessions?done=%3Cb%3Epwned%3C%2Fb%3E');
    expect(probed.html).not.toContain('class="notice"');
    expect(probed.html).not.toContain('pwned');
  });

  it('ends another session: its browser must sign in again and its refresh token stops working', async () => {
    const ada = await newUser();
    const here = browser();
    const there = browser();
    await signInToAccount(here, ada);
    const tokens = await signInToApp(there, ada);
    expect(await appAuthorization(there)).toBe('signed in');

    const page = await sessionsPage(here);
    const other = listedSessions(page.html).find((s) => !s.current)!;
    const response = await post(here, page, new RegExp(`/account/sessions/${other.id}/end$`));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/account/sessions?done=ended');
    const after = await sessionsPage(here, response.headers.get('location')!);
    expect(after.html).toContain('<p class="notice" role="status">The session has ended.');
    expect(listedSessions(after.html).map((s) => s.id)).not.toContain(other.id);
    // Sent twice (a double click): nothing more to end, and the page says so.
    const again = await post(here, page, new RegExp(`/account/sessions/${other.id}/end$`));
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('/account/sessions?done=already-ended');

    expect((await live(ada)).map((s) => s.id)).not.toContain(other.id);
    expect(await appAuthorization(there)).toBe('login page');
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const events = await gatehouse.container.audit.list({ userId: ada.id });
    expect(events.find((e) => e.type === 'session.revoked_by_user')).toMatchObject({ sessionId: other.id, actor: { type: 'user', id: ada.id } });
  });

  it('ends every other session and keeps only the current one', async () => {
    const ada = await newUser();
    const here = browser();
    const second = browser();
    const third = browser();
    await signInToAccount(here, ada);
    const tokens = await signInToApp(second, ada);
    await signInToApp(third, ada);
    expect(await live(ada)).toHaveLength(3);

    const page = await sessionsPage(here);
    const current = listedSessions(page.html).find((s) => s.current)!;
    const response = await post(here, page, /\/account\/sessions\/end-others$/);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/account/sessions?done=others-ended');

    expect((await live(ada)).map((s) => s.id)).toEqual([current.id]);
    const after = await sessionsPage(here, response.headers.get('location')!);
    expect(after.html).toContain('<p class="notice" role="status">Every other session has ended.');
    expect(listedSessions(after.html)).toEqual([expect.objectContaining({ id: current.id, current: true })]);
    expect(await appAuthorization(second)).toBe('login page');
    expect(await appAuthorization(third)).toBe('login page');
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await auditTypes(ada)).filter((t) => t === 'session.revoked_by_user')).toHaveLength(2);
  });

  it('logs out everywhere, this browser included', async () => {
    const ada = await newUser();
    const here = browser();
    const there = browser();
    await signInToAccount(here, ada);
    const tokens = await signInToApp(there, ada);

    const page = await sessionsPage(here);
    const response = await post(here, page, /\/account\/sessions\/end-all$/);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('You are signed out');
    expect(html).toContain('Every session of your account has ended');
    expect(here.cookie(SESSION_COOKIE)).toBeUndefined();

    expect(await live(ada)).toEqual([]);
    expect(await appAuthorization(there)).toBe('login page');
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(expectPage(await here.navigate('/account')).url.pathname).toMatch(/^\/interaction\//);
    expect((await auditTypes(ada)).filter((t) => t === 'session.revoked_by_user')).toHaveLength(2);
  });

  it('ending the current session from the list signs this browser out', async () => {
    const ada = await newUser();
    const here = browser();
    const there = browser();
    await signInToAccount(here, ada);
    await signInToApp(there, ada);
    const page = await sessionsPage(here);
    const current = listedSessions(page.html).find((s) => s.current)!;
    const response = await post(here, page, new RegExp(`/account/sessions/${current.id}/end$`));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('You are signed out');
    expect((await live(ada)).map((s) => s.id)).not.toContain(current.id);
    expect(await live(ada)).toHaveLength(1);
    expect(expectPage(await here.navigate('/account')).url.pathname).toMatch(/^\/interaction\//);
    expect(await appAuthorization(there)).toBe('signed in');
  });

  it('refuses a form post without its CSRF token, changing nothing', async () => {
    const ada = await newUser();
    const here = browser();
    const there = browser();
    await signInToAccount(here, ada);
    await signInToApp(there, ada);
    const page = await sessionsPage(here);
    const other = listedSessions(page.html).find((s) => !s.current)!;
    const before = await live(ada);

    for (const action of ['/account/sessions/end-others', '/account/sessions/end-all', `/account/sessions/${other.id}/end`, '/account/logout']) {
      const response = await here.request(action, { form: {} });
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('This form has expired or was not sent by Gatehouse');
    }
    const password = await here.request('/account/password', { form: { current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD } });
    expect(password.status).toBe(403);
    // A token from another browser's account page is no better.
    const foreign = await sessionsPage(there);
    const forged = await here.request('/account/sessions/end-others', { form: { csrf: findForm(foreign.html, /end-others$/).hidden.csrf! } });
    expect(forged.status).toBe(403);

    expect((await live(ada)).map((s) => s.id).sort()).toEqual(before.map((s) => s.id).sort());
    await expect(gatehouse.container.accounts.authenticate(ada.login, PASSWORD)).resolves.toMatchObject({ id: ada.id });
    expect(await auditTypes(ada)).not.toEqual(expect.arrayContaining(['session.revoked_by_user']));
    expect(await auditTypes(ada)).not.toContain('user.password_changed');
  });

  it("does not let a user end another user's session", async () => {
    const ada = await newUser();
    const bob = await newUser('Bob');
    const adas = browser();
    const bobs = browser();
    await signInToAccount(adas, ada);
    const bobTokens = await signInToApp(bobs, bob);
    const [bobSession] = await live(bob);

    const page = await sessionsPage(adas);
    const form = findForm(page.html, /\/end$/);
    const response = await adas.request(`/account/sessions/${bobSession!.id}/end`, { form: form.hidden });
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain(bobSession!.id);

    expect((await live(bob)).map((s) => s.id)).toEqual([bobSession!.id]);
    expect(await live(ada)).toHaveLength(1);
    expect(await appAuthorization(bobs)).toBe('signed in');
    await expect(oidc.refreshTokenGrant(config, bobTokens.refresh_token!)).resolves.toMatchObject({ refresh_token: expect.any(String) });
    expect(await auditTypes(bob)).not.toContain('session.revoked_by_user');
  });

  it('logs out this browser', async () => {
    const ada = await newUser();
    const here = browser();
    const account = await signInToAccount(here, ada);
    const [session] = await live(ada);
    const response = await post(here, account, /\/account\/logout$/);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('You are signed out');
    expect(here.cookie(SESSION_COOKIE)).toBeUndefined();
    expect(await live(ada)).toEqual([]);
    expect(await gatehouse.container.sessions.get(session!.id)).toMatchObject({ endReason: 'logged_out' });
    const events = await gatehouse.container.audit.list({ userId: ada.id });
    expect(events.find((e) => e.type === 'session.logged_out')).toMatchObject({ sessionId: session!.id, actor: { type: 'user', id: ada.id } });
    expect(expectPage(await here.navigate('/account')).url.pathname).toMatch(/^\/interaction\//);
  });

  describe('password change', () => {
    it('keeps a remembered session remembered: the rotated cookie is persistent, a transient one is not', async () => {
      for (const remember of [true, false]) {
        const ada = await newUser();
        const b = browser();
        const login = expectPage(await b.navigate('/account/password'));
        const page = expectPage(await b.submit(login, /\/login$/, { login: ada.login, password: ada.password, ...(remember ? { remember: 'yes' } : {}) }));
        const response = await post(b, page, /\/account\/password$/, { current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
        expect(response.status).toBe(303);
        const rotated = response.headers.getSetCookie().find((line) => line.startsWith(`${SESSION_COOKIE}=`))!;
        if (remember) {
          const expires = new Date(/expires=([^;]+)/i.exec(rotated)![1]!).getTime();
          // SESSION_REMEMBER_IDLE_TIMEOUT: seven days by default.
          expect(expires).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000);
        } else {
          expect(rotated.toLowerCase()).not.toContain('expires=');
        }
        expect(expectPage(await b.navigate('/account/password?done=changed')).html).toContain('Your password has been changed.');
      }
    });

    it('refuses a wrong current password, a mismatched confirmation and a short password, changing nothing', async () => {
      const ada = await newUser();
      const here = browser();
      const there = browser();
      await signInToAccount(here, ada);
      await signInToApp(there, ada);
      const cookie = here.cookie(SESSION_COOKIE);
      const before = (await live(ada)).map((s) => s.id).sort();

      const page = expectPage(await here.navigate('/account/password'));
      const wrong = await post(here, page, /\/account\/password$/, { current_password: 'not my password', new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
      expect(wrong.status).toBe(400);
      const wrongHtml = await wrong.text();
      expect(wrongHtml).toMatch(/<input id="current_password"[^>]*aria-invalid="true"[^>]*aria-describedby="current_password-error"/);
      expect(wrongHtml).toContain('<p class="field-error" id="current_password-error">The current password is not right.</p>');
      expect(wrongHtml).not.toContain(NEW_PASSWORD);

      const mismatch = await post(here, page, /\/account\/password$/, { current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: `${NEW_PASSWORD}!` });
      expect(mismatch.status).toBe(400);
      expect(await mismatch.text()).toContain('id="confirm_password-error">The new password and its confirmation do not match.');

      const short = await post(here, page, /\/account\/password$/, { current_password: PASSWORD, new_password: 'short', confirm_password: 'short' });
      expect(short.status).toBe(400);
      expect(await short.text()).toContain('id="new_password-error">The password must be at least 12 characters long.');
      const common = await post(here, page, /\/account\/password$/, { current_password: PASSWORD, new_password: 'LetMeIn12345', confirm_password: 'LetMeIn12345' });
      expect(common.status).toBe(400);
      expect(await common.text()).toContain('id="new_password-error">This password is on a list of common or leaked passwords, which attackers try first. Choose another one.');
      expect(page.html).toContain('id="new_password-hint">12 to 256 characters, and not a common or leaked password');

      expect((await live(ada)).map((s) => s.id).sort()).toEqual(before);
      expect(here.cookie(SESSION_COOKIE)).toBe(cookie);
      await expect(gatehouse.container.accounts.authenticate(ada.login, PASSWORD)).resolves.toMatchObject({ id: ada.id });
      expect(await auditTypes(ada)).not.toContain('user.password_changed');
      expect(await appAuthorization(there)).toBe('signed in');
    });

    it('changes the password, ends every other session, and rotates this browser’s session cookie', async () => {
      const ada = await newUser();
      const here = browser();
      const there = browser();
      await signInToAccount(here, ada);
      const tokens = await signInToApp(there, ada);
      const page = expectPage(await here.navigate('/account/password'));
      const current = (await live(ada)).find((s) => s.clients.some((c) => c.clientId === 'gatehouse-account'))!;
      const oldCookie = here.cookie(SESSION_COOKIE)!;
      const oldSignature = here.cookie(`${SESSION_COOKIE}.sig`)!;

      const response = await post(here, page, /\/account\/password$/, { current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/account/password?done=changed');
      const rotated = response.headers.getSetCookie().find((line) => line.startsWith(`${SESSION_COOKIE}=`))!;
      expect(rotated.toLowerCase()).toContain('httponly');
      expect(rotated.toLowerCase()).toContain('samesite=lax');
      expect(rotated.toLowerCase()).toContain('path=/');

      // Exactly one live session: this one, under a new cookie value.
      expect((await live(ada)).map((s) => s.id)).toEqual([current.id]);
      expect(here.cookie(SESSION_COOKIE)).toEqual(expect.any(String));
      expect(here.cookie(SESSION_COOKIE)).not.toBe(oldCookie);
      const done = expectPage(await here.navigate('/account/password?done=changed'));
      expect(done.html).toContain('Your password has been changed.');
      expect(listedSessions((await sessionsPage(here)).html)).toEqual([expect.objectContaining({ id: current.id, current: true })]);

      // The old cookie value opens nothing.
      const thief = browser();
      thief.setCookie(SESSION_COOKIE, oldCookie);
      thief.setCookie(`${SESSION_COOKIE}.sig`, oldSignature);
      expect(expectPage(await thief.navigate('/account')).url.pathname).toMatch(/^\/interaction\//);
      expect(await appAuthorization(thief)).toBe('login page');

      // The other browser is signed out, and its refresh token is dead.
      expect(await appAuthorization(there)).toBe('login page');
      await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

      // The new password signs in; the old one does not.
      const stranger = browser();
      const withOld = expectPage(await stranger.navigate('/account'));
      const refused = expectPage(await stranger.submit(withOld, /\/login$/, { login: ada.login, password: PASSWORD }));
      expect(refused.status).toBe(401);
      expect(refused.html).toContain('Invalid email or password.');
      expect((await signInToAccount(browser(), ada, '/account', NEW_PASSWORD)).url.pathname).toBe('/account');

      const types = await auditTypes(ada);
      expect(types).toContain('user.password_changed');
      const ended = (await gatehouse.container.audit.list({ userId: ada.id })).filter((e) => e.type === 'session.ended_by_password_change');
      expect(ended).toHaveLength(1);
      expect(ended[0]!.sessionId).not.toBe(current.id);
      expect(types).not.toContain('session.revoked_by_user');
    });
  });
});

describe('account pages behind a TLS-terminating proxy with an https issuer', () => {
  let gatehouse: TestGatehouse;

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('uses Secure cookies: a __Secure- sign-in cookie, and a rotated __Host- session cookie', async () => {
    gatehouse = await startTestGatehouse('sqlite', { env: { ISSUER: 'https://id.example.test', TRUST_PROXY: 'true' } });
    await gatehouse.container.accounts.createUser({ email: 'ada@example.com', password: PASSWORD });
    expect((await gatehouse.container.clients.get('gatehouse-account')).redirectUris).toEqual(['https://id.example.test/account/callback']);
    const direct = `http://127.0.0.1:${(gatehouse.server.address() as { port: number }).port}`;
    const jar = new Map<string, string>();
    const setCookies: string[] = [];
    const go = async (path: string, form?: Record<string, string>) => {
      const target = new URL(path, 'https://id.example.test');
      const response = await fetch(new URL(target.pathname + target.search, direct), {
        method: form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: {
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'id.example.test',
          accept: 'text/html',
          cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; '),
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      });
      for (const line of response.headers.getSetCookie()) {
        setCookies.push(line);
        const [pair] = line.split(';');
        const name = pair!.slice(0, pair!.indexOf('='));
        const value = pair!.slice(pair!.indexOf('=') + 1);
        if (value) jar.set(name, value);
        else jar.delete(name);
      }
      return response;
    };

    let response = await go('/account/password');
    expect(response.status).toBe(303);
    const pending = setCookies.find((line) => line.startsWith('__Secure-gatehouse_account_signin='))!;
    expect(pending.toLowerCase()).toEqual(expect.stringContaining('secure'));
    expect(pending.toLowerCase()).toEqual(expect.stringContaining('path=/account'));
    response = await go(response.headers.get('location')!);
    response = await go(response.headers.get('location')!);
    const login = findForm(await response.text(), /\/login$/);
    response = await go(login.action, { ...login.hidden, login: 'ada@example.com', password: PASSWORD });
    while (response.status === 303 || response.status === 302) response = await go(response.headers.get('location')!);
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('<h1>Change your password</h1>');
    const before = jar.get('__Host-gatehouse_session')!;
    expect(before).toEqual(expect.any(String));

    const change = findForm(page, /\/account\/password$/);
    response = await go(change.action, { ...change.hidden, current_password: PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD });
    expect(response.status).toBe(303);
    const rotated = response.headers.getSetCookie().find((line) => line.startsWith('__Host-gatehouse_session='))!;
    expect(rotated.toLowerCase()).toEqual(expect.stringContaining('secure'));
    expect(rotated.toLowerCase()).toEqual(expect.stringContaining('path=/'));
    expect(rotated.toLowerCase()).not.toContain('domain=');
    expect(jar.get('__Host-gatehouse_session')).not.toBe(before);
    response = await go('/account/password?done=changed');
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Your password has been changed.');
  });
});
