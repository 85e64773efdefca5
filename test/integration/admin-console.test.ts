import * as oidc from 'openid-client';
import { Browser, expectPage, findForm, type Page } from '../support/browser.js';
import { TestClock } from '../support/clock.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { LogoutReceiver } from '../support/logout-receiver.js';
import { totpCode } from '../support/mfa-fakes.js';
import { registerRelyingParty } from '../support/relying-party.js';

const PASSWORD = 'correct horse battery staple';
const insecure = { execute: [oidc.allowInsecureRequests] };

function decode(html: string): string {
  return html.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#34;/g, '"').replace(/&#39;/g, "'");
}

/** The text of the element with this id. */
function byId(page: Page, id: string): string {
  const match = new RegExp(`id="${id}"[^>]*>([\\s\\S]*?)</(p|code)>`).exec(page.html);
  if (!match) throw new Error(`no #${id} in ${page.html.slice(0, 800)}`);
  return decode(match[1]!.replace(/<[^>]+>/g, ''));
}

describe.each(databaseKinds())('admin console (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let adminId: string;
  let users = 0;

  async function newUser(options: { admin?: boolean } = {}) {
    users += 1;
    const email = `user${users}@example.com`;
    const user = await gatehouse.container.accounts.createUser({ email, password: PASSWORD, name: `User ${users}` });
    if (options.admin) await gatehouse.container.accounts.setAdmin(email, true);
    return user;
  }

  /** Opens a console page in a fresh browser, signing in through Gatehouse's own login page on the way. */
  async function signInToConsole(email: string, path = '/admin/clients'): Promise<{ browser: Browser; page: Page }> {
    const browser = new Browser(gatehouse.issuer);
    const login = expectPage(await browser.navigate(path));
    expect(login.url.pathname).toMatch(/^\/interaction\//);
    const page = expectPage(await browser.submit(login, /\/login$/, { login: email, password: PASSWORD }));
    return { browser, page };
  }

  async function post(browser: Browser, page: Page, action: RegExp, values: Record<string, string> = {}): Promise<Page> {
    return expectPage(await browser.submit(page, action, values));
  }

  /** Posts to a path with the CSRF token of the page's forms (for pages whose GET search form shares the action). */
  async function postTo(browser: Browser, page: Page, path: string, values: Record<string, string>): Promise<Page> {
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.html)![1]!;
    return expectPage(await browser.navigate(path, { form: { csrf, ...values } }));
  }

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind);
    adminId = (await newUser({ admin: true })).id;
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('signs an admin in through Gatehouse itself, with its own internal client, and lists the clients', async () => {
    const { browser, page } = await signInToConsole('user1@example.com');
    expect(page.status).toBe(200);
    expect(page.url.pathname).toBe('/admin/clients');
    // One frame for the account pages and the console: an admin's account page links to the console.
    expect(page.html).toMatch(/<nav aria-label="Main" class="frame-nav">[\s\S]*href="\/admin" aria-current="true"/);
    expect(expectPage(await browser.navigate('/account')).html).toMatch(/href="\/account" aria-current="true"[\s\S]*href="\/admin"/);
    expect(page.html).toContain('gatehouse-account');
    expect(page.html).toContain('gatehouse-admin');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const internal = await gatehouse.container.clients.get('gatehouse-admin');
    expect(internal).toMatchObject({ tokenEndpointAuthMethod: 'none', firstParty: true, redirectUris: [`${gatehouse.issuer}/admin/callback`] });
  });

  it('refuses a signed-in user who is not an admin with a clear 403 page, on every page and form', async () => {
    const user = await newUser();
    const { browser, page } = await signInToConsole(user.email);
    expect(page.status).toBe(403);
    expect(page.html).toContain('No access to the admin console');
    expect(expectPage(await browser.navigate('/account')).html).not.toContain('href="/admin"');
    expect(page.html).not.toContain('gatehouse-account');
    const write = await browser.request('/admin/clients', { form: { name: 'Sneaky', 'grant-type': 'client_credentials', scope: 'profile' } });
    expect(write.status).toBe(403);
    expect((await gatehouse.container.admin.listClients('Sneaky'))).toHaveLength(0);
  });

  it('registers a client: field errors next to the field with the values kept and nothing saved, then the secret shown once', async () => {
    const { browser, page } = await signInToConsole('user1@example.com', '/admin/clients/new');
    const before = (await gatehouse.container.clients.list()).length;

    const invalid = await post(browser, page, /^\/admin\/clients$/, {
      name: 'Reporting',
      'client-type': 'confidential',
      'token-endpoint-auth-method': 'client_secret_basic',
      'grant-type': 'authorization_code',
      'redirect-uri': 'not a url',
      scope: 'openid profile',
      'id-token-signed-response-alg': 'RS256',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.html).toMatch(/id="redirect-uri"[^>]*aria-invalid="true"/);
    expect(byId(invalid, 'redirect-uri-error')).toContain('not a url is not an absolute URL.');
    expect(invalid.html).toMatch(/<textarea id="redirect-uri"[^>]*>not a url<\/textarea>/);
    expect(invalid.html).toMatch(/id="name"[^>]*value="Reporting"/);
    expect((await gatehouse.container.clients.list()).length).toBe(before);

    // A machine client, so the secret can be tried at once.
    const created = await post(browser, invalid, /^\/admin\/clients$/, {
      name: 'Reporting',
      'client-type': 'confidential',
      'token-endpoint-auth-method': 'client_secret_post',
      'grant-type': 'client_credentials',
      'redirect-uri': '',
      'backchannel-logout-uri': '',
      scope: 'profile',
      'id-token-signed-response-alg': 'ES256',
    });
    expect(created.status).toBe(200);
    const clientId = byId(created, 'client-id');
    const secret = byId(created, 'client-secret');
    expect(created.html).toContain('This secret is shown once');
    const config = await oidc.discovery(new URL(gatehouse.issuer), clientId, secret, oidc.ClientSecretPost(secret), insecure);
    expect((await oidc.clientCredentialsGrant(config, { scope: 'profile' })).access_token).toEqual(expect.any(String));
    expect(await gatehouse.container.clients.get(clientId)).toMatchObject({ name: 'Reporting', tokenEndpointAuthMethod: 'client_secret_post', idTokenSignedResponseAlg: 'ES256' });

    // The secret is never shown again.
    const shown = expectPage(await browser.navigate(`/admin/clients/${clientId}`));
    expect(shown.html).not.toContain(secret);
    expect(shown.html).not.toContain('client-secret');
  });

  it('edits, rotates the secret of and deletes a client (with a confirmation page), each audited with the admin user', async () => {
    const { client } = await gatehouse.container.clients.create({ name: 'Wiki', redirectUris: ['https://wiki.example/cb'] });
    const { browser, page: edit } = await signInToConsole('user1@example.com', `/admin/clients/${client.clientId}/edit`);
    expect(findForm(edit.html, new RegExp(`/admin/clients/${client.clientId}$`)).hidden.csrf).toEqual(expect.any(String));

    const saved = await post(browser, edit, new RegExp(`/admin/clients/${client.clientId}$`), {
      name: 'Team wiki',
      'client-type': 'confidential',
      'token-endpoint-auth-method': 'client_secret_basic',
      'grant-type': 'authorization_code',
      'redirect-uri': 'https://wiki.example/cb\nhttps://wiki.example/cb2',
      'post-logout-redirect-uri': 'https://wiki.example/bye',
      'backchannel-logout-uri': 'https://wiki.example/backchannel',
      scope: 'openid email',
      'first-party': 'yes',
      'id-token-signed-response-alg': 'RS256',
    });
    expect(saved.url.pathname).toBe(`/admin/clients/${client.clientId}`);
    expect(saved.html).toContain('The client was saved.');
    expect(await gatehouse.container.clients.get(client.clientId)).toMatchObject({
      name: 'Team wiki',
      redirectUris: ['https://wiki.example/cb', 'https://wiki.example/cb2'],
      postLogoutRedirectUris: ['https://wiki.example/bye'],
      backchannelLogoutUri: 'https://wiki.example/backchannel',
      grantTypes: ['authorization_code'],
      scope: 'openid email',
      firstParty: true,
    });

    const rotated = await post(browser, saved, /\/rotate-secret$/);
    expect(byId(rotated, 'client-secret')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const confirm = expectPage(await browser.navigate(`/admin/clients/${client.clientId}/delete`));
    expect(confirm.html).toContain('Delete this client?');
    const deleted = await post(browser, confirm, /\/delete$/);
    expect(deleted.url.pathname).toBe('/admin/clients');
    expect(deleted.html).toContain('The client was deleted.');
    await expect(gatehouse.container.clients.get(client.clientId)).rejects.toThrow('No client');

    const events = await gatehouse.container.audit.list({ clientId: client.clientId });
    expect(events.map((e) => [e.type, e.actor.id])).toEqual([
      ['client.deleted', `user:${adminId}`],
      ['client.secret_rotated', `user:${adminId}`],
      ['client.updated', `user:${adminId}`],
    ]);
  });

  it("refuses a form without its CSRF token (or with another session's) and changes nothing", async () => {
    const { client } = await gatehouse.container.clients.create({ name: 'Kept', redirectUris: ['https://kept.example/cb'] });
    const { browser, page } = await signInToConsole('user1@example.com', `/admin/clients/${client.clientId}/delete`);
    const { action } = findForm(page.html, /\/delete$/);
    const missing = await browser.navigate(action, { form: {} });
    expect(expectPage(missing).status).toBe(403);
    const other = await signInToConsole('user1@example.com', `/admin/clients/${client.clientId}/delete`);
    const foreign = findForm(other.page.html, /\/delete$/).hidden;
    expect(expectPage(await browser.navigate(action, { form: foreign })).status).toBe(403);
    expect((await gatehouse.container.clients.get(client.clientId)).name).toBe('Kept');
  });

  it('keeps Gatehouse’s own clients out of reach', async () => {
    const { page } = await signInToConsole('user1@example.com', '/admin/clients/gatehouse-account');
    expect(page.html).toContain('belongs to Gatehouse itself');
    expect(page.html).not.toMatch(/rotate-secret|\/edit"/);
  });

  it('creates users (field errors kept), disables and enables them, grants admin, and a revoke takes effect at the next request', async () => {
    const { browser, page } = await signInToConsole('user1@example.com', '/admin/users');
    const bad = await postTo(browser, page, '/admin/users', { email: 'not-an-email', name: 'Grace', password: PASSWORD });
    expect(bad.status).toBe(400);
    expect(byId(bad, 'email-error')).toContain('Enter a valid email address.');
    expect(bad.html).toMatch(/id="new-name"[^>]*value="Grace"/);
    const short = await postTo(browser, bad, '/admin/users', { email: 'grace@example.com', name: 'Grace', password: 'short' });
    expect(byId(short, 'password-error')).toContain('at least 8 characters');
    await expect(gatehouse.container.accounts.getByEmail('grace@example.com')).rejects.toThrow('No user');

    const created = await postTo(browser, short, '/admin/users', { email: 'grace@example.com', name: 'Grace', password: PASSWORD });
    expect(created.url.pathname).toMatch(/^\/admin\/users\//);
    expect(created.html).toContain('The user was created.');
    const taken = await postTo(browser, page, '/admin/users', { email: 'grace@example.com', name: '', password: PASSWORD });
    expect(taken.status).toBe(409);
    expect(byId(taken, 'email-error')).toContain('already exists');

    const disabled = await post(browser, created, /\/disable$/);
    expect(disabled.html).toContain('The user is disabled');
    expect((await gatehouse.container.accounts.getByEmail('grace@example.com')).disabledAt).not.toBeNull();
    const enabled = await post(browser, disabled, /\/enable$/);
    const granted = await post(browser, enabled, /\/grant-admin$/);
    expect(granted.html).toContain('may now use the admin console');

    const grace = await signInToConsole('grace@example.com', '/admin/users');
    expect(grace.page.status).toBe(200);
    await post(browser, granted, /\/revoke-admin$/);
    // Her next request, with the same session, is refused.
    expect(expectPage(await grace.browser.navigate('/admin/users')).status).toBe(403);

    // An admin can neither revoke their own access nor disable themself.
    const self = expectPage(await browser.navigate(`/admin/users/${adminId}`));
    expect(self.html).not.toContain('/revoke-admin');
    expect(self.html).not.toContain('/disable');
    const csrf = /name="csrf" value="([^"]+)"/.exec(self.html)![1]!;
    for (const action of ['revoke-admin', 'disable']) {
      const refused = expectPage(await browser.navigate(`/admin/users/${adminId}/${action}`, { form: { csrf } }));
      expect(refused.status).toBe(403);
      expect(refused.html).toContain('ask another administrator');
    }
    expect(await gatehouse.container.accounts.getByEmail('user1@example.com')).toMatchObject({ admin: true, disabledAt: null });
  });

  it("lists a user's live sessions and ends one, then all", async () => {
    const user = await newUser();
    const first = await signInToConsole(user.email, '/account');
    await signInToConsole(user.email, '/account');
    expect(first.page.status).toBe(200);
    const { browser } = await signInToConsole('user1@example.com');
    const detail = expectPage(await browser.navigate(`/admin/users/${user.id}`));
    const live = await gatehouse.container.sessions.listLive(user.id);
    expect(live).toHaveLength(2);
    for (const session of live) expect(detail.html).toContain(`/sessions/${encodeURIComponent(session.id)}/end`);

    const ended = await post(browser, detail, new RegExp(`/sessions/${live[0]!.id.replace(/[-]/g, '\\-')}/end$`));
    expect(ended.html).toContain('The session ended.');
    expect(await gatehouse.container.sessions.listLive(user.id)).toHaveLength(1);
    const all = await post(browser, ended, /\/sessions\/end-all$/);
    expect(all.html).toContain('Every session of the user ended.');
    expect(await gatehouse.container.sessions.listLive(user.id)).toHaveLength(0);
  });

  it('shows back-channel logout deliveries per client and state, and retries one', async () => {
    const receiver = await new LogoutReceiver().up();
    try {
      receiver.answers = [503];
      const rp = await registerRelyingParty(gatehouse, 'Ledger', { backchannelLogoutUri: receiver.uri });
      const member = await newUser();
      await rp.login(new Browser(gatehouse.issuer), { login: member.email, password: PASSWORD });
      const [session] = await gatehouse.container.sessions.listLive(member.id);
      await gatehouse.container.sessions.revokeByAdmin(session!.id, { type: 'admin', id: 'test' });
      await gatehouse.container.logoutDelivery.drain();

      const { browser, page } = await signInToConsole('user1@example.com', '/admin/deliveries');
      expect(page.status).toBe(200);
      expect(page.html).toMatch(/aria-current="page">Logout deliveries</);
      const row = new RegExp(`Ledger <code>${rp.clientId}</code></td>\\s*<td><a [^>]*data-state="pending">1</a>`);
      expect(page.html).toMatch(row);
      const pending = expectPage(await browser.navigate(`/admin/deliveries?client=${rp.clientId}&state=pending`));
      expect(pending.html).toContain('HTTP 503');
      expect(expectPage(await browser.navigate('/admin/deliveries?state=lost')).status).toBe(400);

      const retried = await post(browser, pending, /\/deliveries\/[^/]+\/retry$/);
      expect(retried.url.search).toBe('?done=retried');
      expect(retried.html).toContain('The delivery is queued again.');
      await gatehouse.container.logoutDelivery.drain();
      const [delivery] = await gatehouse.container.logoutDeliveries.list({ clientId: rp.clientId });
      expect(delivery).toMatchObject({ state: 'delivered' });
      expect(await gatehouse.container.audit.list({ types: ['logout.delivery_retried'] })).toEqual([
        expect.objectContaining({ clientId: rp.clientId, actor: expect.objectContaining({ type: 'admin', id: `user:${adminId}` }) }),
      ]);
    } finally {
      await receiver.down();
    }
  });

  it('filters the audit log by user, client, type and time range, 50 events a page', async () => {
    const at = new Date('2030-01-01T00:00:00Z');
    for (let i = 0; i < 60; i += 1) {
      await gatehouse.container.audit.append({ at: new Date(at.getTime() + i * 1000), type: 'client.updated', actor: { type: 'admin', id: 'ops' }, userId: null, sessionId: null, clientId: 'paged-client', details: null });
    }
    const { browser } = await signInToConsole('user1@example.com', '/admin/audit');
    const first = expectPage(await browser.navigate('/admin/audit?client=paged-client&type=client.updated&since=2030-01-01&until=2030-01-02'));
    expect(first.html.match(/<tr>/g)).toHaveLength(50 + 1);
    expect(first.html).toContain('2030-01-01 00:00:59');
    const older = /href="([^"]+)" rel="next"/.exec(first.html)![1]!;
    const second = expectPage(await browser.navigate(decode(older)));
    expect(second.html.match(/<tr>/g)).toHaveLength(10 + 1);
    expect(second.html).toContain('2030-01-01 00:00:00');
    expect(second.html).not.toContain('rel="next"');

    const narrowed = expectPage(await browser.navigate('/admin/audit?client=paged-client&since=2030-01-01T00:00:50Z'));
    expect(narrowed.html.match(/<tr>/g)).toHaveLength(10 + 1);
    const byUser = expectPage(await browser.navigate(`/admin/audit?user=user1%40example.com&type=user.created`));
    expect(byUser.status).toBe(200);

    const badDate = expectPage(await browser.navigate('/admin/audit?since=yesterday'));
    expect(badDate.status).toBe(400);
    expect(byId(badDate, 'since-error')).toContain('Give a date');
    expect(expectPage(await browser.navigate('/admin/audit?user=nobody%40example.com')).status).toBe(400);
  });
});

describe.each(databaseKinds())('admin console writes need a recent second factor (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  const clock = new TestClock();

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind, { clock });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  async function createUserIn(browser: Browser, page: Page, email: string): Promise<Page> {
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.html)![1]!;
    return expectPage(await browser.navigate('/admin/users', { form: { csrf, email, name: '', password: PASSWORD } }));
  }

  it('lets an admin with an authenticator app write within five minutes of a code, then asks for a fresh code and comes back', async () => {
    const admin = await gatehouse.container.accounts.createUser({ email: 'ops@example.com', password: PASSWORD });
    await gatehouse.container.accounts.setAdmin('ops@example.com', true);
    const secret = (await gatehouse.container.mfa.startEnrolment(admin.id, 'ops@example.com')).secret;
    await gatehouse.container.mfa.activate(admin.id, totpCode(secret, clock.now()));
    clock.advance(30_000);

    const browser = new Browser(gatehouse.issuer);
    const login = expectPage(await browser.navigate('/admin/users'));
    const otp = expectPage(await browser.submit(login, /\/login$/, { login: 'ops@example.com', password: PASSWORD }));
    const users = expectPage(await browser.submit(otp, /\/otp$/, { code: totpCode(secret, clock.now()) }));
    expect(users.url.pathname).toBe('/admin/users');

    // Signed in with the code just now: a write goes through.
    expect((await createUserIn(browser, users, 'first@example.com')).html).toContain('The user was created.');

    // Five minutes on, the same write is sent to "Confirm it is you" first, and nothing is written.
    clock.advance(5 * 60_000 + 1000);
    const asked = await createUserIn(browser, expectPage(await browser.navigate('/admin/users')), 'second@example.com');
    expect(asked.url.pathname).toBe('/account/confirm');
    expect(asked.url.searchParams.get('return_to')).toBe('/admin/users');
    expect(asked.html).toContain('Confirm it is you');
    await expect(gatehouse.container.accounts.getByEmail('second@example.com')).rejects.toThrow('No user');

    const back = expectPage(await browser.submit(asked, /\/account\/confirm$/, { code: totpCode(secret, clock.now()) }));
    expect(back.url.pathname).toBe('/admin/users');
    expect((await createUserIn(browser, back, 'second@example.com')).html).toContain('The user was created.');
    expect(await gatehouse.container.audit.list({ userId: admin.id, types: ['session.reauthenticated'] })).toHaveLength(1);
  });

  it('ignores a return path outside Gatehouse after confirming (back to /account)', async () => {
    const browser = new Browser(gatehouse.issuer);
    await gatehouse.container.accounts.createUser({ email: 'ops2@example.com', password: PASSWORD });
    await gatehouse.container.accounts.setAdmin('ops2@example.com', true);
    const login = expectPage(await browser.navigate('/admin/clients'));
    expectPage(await browser.submit(login, /\/login$/, { login: 'ops2@example.com', password: PASSWORD }));
    clock.advance(5 * 60_000 + 1000);
    const confirm = expectPage(await browser.navigate('/account/confirm?return_to=https%3A%2F%2Fevil.example%2F'));
    expect(confirm.html).toContain('name="password"');
    const back = expectPage(await browser.submit(confirm, /\/account\/confirm$/, { password: PASSWORD }));
    expect(back.url.pathname).toBe('/account');
  });
});
