import type Router from '@koa/router';
import * as oidc from 'openid-client';
import { consolePageOf } from '../../src/http/routes/admin-console.js';
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

const csrfOf = (page: Page) => /name="csrf" value="([^"]+)"/.exec(page.html)![1]!;

/** The console's router, as the running server uses it (the Provider is the Koa app its routers are mounted on). */
function consoleRouter(gatehouse: TestGatehouse): Router {
  const app = gatehouse.container.provider as unknown as { middleware: { router?: Router }[] };
  const router = app.middleware.map((m) => m.router).find((r) => r?.opts.prefix === '/admin');
  if (!router) throw new Error('no /admin router mounted');
  return router;
}

/** A client form as the console posts it, with these settings over a confidential authorization-code client's. */
function clientForm(values: Record<string, string | string[]>): Record<string, string | string[]> {
  return {
    name: 'App',
    'client-type': 'confidential',
    'token-endpoint-auth-method': 'client_secret_basic',
    'grant-type': ['authorization_code', 'refresh_token'],
    'redirect-uri': 'https://app.example/cb',
    'post-logout-redirect-uri': '',
    'backchannel-logout-uri': '',
    'min-acr': '',
    scope: 'openid profile',
    'jwks-uri': '',
    'id-token-signed-response-alg': 'RS256',
    ...values,
  };
}

describe.each(databaseKinds())('admin console (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let adminId: string;
  let users = 0;

  async function newUser(options: { admin?: boolean; name?: string } = {}) {
    users += 1;
    const email = `user${users}@example.com`;
    const user = await gatehouse.container.accounts.createUser({ email, password: PASSWORD, name: options.name ?? `User ${users}` });
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

  async function post(browser: Browser, page: Page, action: RegExp, values: Record<string, string | string[]> = {}): Promise<Page> {
    return expectPage(await browser.submit(page, action, values));
  }

  /** Posts to a path with the CSRF token of the page's forms. */
  async function postTo(browser: Browser, page: Page, path: string, values: Record<string, string | string[]>): Promise<Page> {
    return expectPage(await browser.navigate(path, { form: { csrf: csrfOf(page), ...values } }));
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
    expect((await gatehouse.container.admin.listClients('Sneaky', { limit: 10, offset: 0 })).items).toHaveLength(0);
  });

  it('registers a client: field errors next to the field with the values kept and nothing saved, then the secret shown once', async () => {
    const { browser, page } = await signInToConsole('user1@example.com', '/admin/clients/new');
    const before = (await gatehouse.container.clients.list()).length;

    const invalid = await post(browser, page, /^\/admin\/clients$/, clientForm({ name: 'Reporting', 'grant-type': 'authorization_code', 'redirect-uri': 'not a url' }));
    expect(invalid.status).toBe(400);
    expect(invalid.html).toMatch(/id="redirect-uri"[^>]*aria-invalid="true"/);
    expect(byId(invalid, 'redirect-uri-error')).toContain('not a url is not an absolute URL.');
    expect(invalid.html).toMatch(/<textarea id="redirect-uri"[^>]*>not a url<\/textarea>/);
    expect(invalid.html).toMatch(/id="name"[^>]*value="Reporting"/);

    // A refusal of oidc-provider's own metadata validation is shown next to its field too, in words for a web form.
    const custom = await post(browser, page, /^\/admin\/clients$/, clientForm({ name: 'Reporting', 'redirect-uri': 'myapp://callback' }));
    expect(custom.status).toBe(400);
    expect(custom.html).toMatch(/id="redirect-uri"[^>]*aria-invalid="true"/);
    expect(byId(custom, 'redirect-uri-error')).toContain('redirect_uris must only contain web uris');
    // The messages of a web form name no command-line flags.
    const noUri = await post(browser, page, /^\/admin\/clients$/, clientForm({ name: 'Reporting', 'redirect-uri': '' }));
    expect(byId(noUri, 'redirect-uri-error')).toContain('The authorization_code grant needs at least one redirect URI.');
    const noJwks = await post(browser, page, /^\/admin\/clients$/, clientForm({ name: 'Reporting', 'token-endpoint-auth-method': 'private_key_jwt' }));
    expect(byId(noJwks, 'jwks-uri-error')).not.toMatch(/--/);
    for (const refused of [invalid, custom, noUri, noJwks]) expect(refused.html).not.toMatch(/--(redirect-uri|jwks-uri|admin)\b/);
    expect((await gatehouse.container.clients.list()).length).toBe(before);

    // A machine client, so the secret can be tried at once.
    const created = await post(browser, invalid, /^\/admin\/clients$/, clientForm({
      name: 'Reporting',
      'token-endpoint-auth-method': 'client_secret_post',
      'grant-type': 'client_credentials',
      'redirect-uri': '',
      scope: 'profile',
      'id-token-signed-response-alg': 'ES256',
    }));
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

  it('saves every setting the form has: public, minimum level, back-channel session flag, admin', async () => {
    const { browser, page } = await signInToConsole('user1@example.com', '/admin/clients/new');
    const spa = await post(browser, page, /^\/admin\/clients$/, clientForm({
      name: 'Strict SPA',
      'client-type': 'public',
      'grant-type': ['authorization_code', 'refresh_token'],
      'redirect-uri': 'https://spa.example/cb',
      'backchannel-logout-uri': 'https://spa.example/bc',
      // The box is left unticked: the session id is not required.
      'min-acr': 'urn:gatehouse:loa:2',
      scope: 'openid email',
    }));
    expect(spa.status).toBe(200);
    const spaId = byId(spa, 'client-id');
    expect(spa.html).not.toContain('client-secret');
    expect(await gatehouse.container.clients.get(spaId)).toMatchObject({
      tokenEndpointAuthMethod: 'none',
      minAcr: 'urn:gatehouse:loa:2',
      backchannelLogoutUri: 'https://spa.example/bc',
      backchannelLogoutSessionRequired: false,
      grantTypes: ['authorization_code', 'refresh_token'],
      scope: 'openid email',
      firstParty: false,
      admin: false,
    });

    const ops = await post(browser, page, /^\/admin\/clients$/, clientForm({
      name: 'Ops job',
      'grant-type': 'client_credentials',
      'redirect-uri': '',
      'backchannel-logout-uri': 'https://ops.example/bc',
      'backchannel-logout-session-required': 'yes',
      scope: 'admin',
      admin: 'yes',
    }));
    const opsId = byId(ops, 'client-id');
    expect(await gatehouse.container.clients.get(opsId)).toMatchObject({ admin: true, scope: 'admin', grantTypes: ['client_credentials'], backchannelLogoutSessionRequired: true, minAcr: null });

    // The edit form shows the saved values, and saving it again changes them as the form says.
    const edit = expectPage(await browser.navigate(`/admin/clients/${spaId}/edit`));
    expect(edit.html).toMatch(/id="client-type-public"[^>]*checked/);
    expect(edit.html).toMatch(/<option value="urn:gatehouse:loa:2" selected>/);
    expect(edit.html).not.toMatch(/id="backchannel-logout-session-required"[^>]*checked/);
    const saved = await post(browser, edit, new RegExp(`/admin/clients/${spaId}$`), clientForm({
      name: 'Strict SPA',
      'client-type': 'confidential',
      'redirect-uri': 'https://spa.example/cb',
      'backchannel-logout-uri': 'https://spa.example/bc',
      'backchannel-logout-session-required': 'yes',
      'min-acr': '',
    }));
    // Turned confidential: its new secret is shown once.
    expect(byId(saved, 'client-secret')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await gatehouse.container.clients.get(spaId)).toMatchObject({ tokenEndpointAuthMethod: 'client_secret_basic', minAcr: null, backchannelLogoutSessionRequired: true });
  });

  it('demotes an admin client whose only scope is admin by unticking admin: its token is refused at once', async () => {
    const { client, secret } = await gatehouse.container.clients.create({ name: 'Only admin', admin: true });
    const config = await oidc.discovery(new URL(gatehouse.issuer), client.clientId, secret!, undefined, { execute: [oidc.allowInsecureRequests] });
    const { access_token: token } = await oidc.clientCredentialsGrant(config, { scope: 'admin' });
    const clientsWith = (bearer: string) => fetch(`${gatehouse.issuer}/admin/api/clients`, { headers: { authorization: `Bearer ${bearer}` } });
    expect((await clientsWith(token)).status).toBe(200);

    const { browser, page: edit } = await signInToConsole('user1@example.com', `/admin/clients/${client.clientId}/edit`);
    // The form as shown (scope "admin", client_credentials), with only the admin box unticked.
    const saved = await post(browser, edit, new RegExp(`/admin/clients/${client.clientId}$`), clientForm({
      name: 'Only admin', 'grant-type': 'client_credentials', 'redirect-uri': '', scope: 'admin',
    }));
    expect(saved.html).toContain('The client was saved.');
    expect(await gatehouse.container.clients.get(client.clientId)).toMatchObject({ admin: false, scope: 'openid' });
    expect((await clientsWith(token)).status).toBe(403);
    await expect(oidc.clientCredentialsGrant(config, { scope: 'admin' })).rejects.toMatchObject({ error: 'invalid_scope' });
  });

  it('exempts a client from the token rate limit with a box ticked by default, and shows it', async () => {
    const { client } = await gatehouse.container.clients.create({ name: 'Bulk importer', grantTypes: ['client_credentials'], scope: 'profile' });
    const { browser, page: edit } = await signInToConsole('user1@example.com', `/admin/clients/${client.clientId}/edit`);
    expect(edit.html).toMatch(/id="token-rate-limit"[^>]*checked/);
    const saved = await post(browser, edit, new RegExp(`/admin/clients/${client.clientId}$`), clientForm({ name: 'Bulk importer', 'grant-type': 'client_credentials', 'redirect-uri': '', scope: 'profile' }));
    expect(saved.html).toMatch(/Token rate limit[^<]*<\/dt><dd>No</);
    expect(await gatehouse.container.clients.get(client.clientId)).toMatchObject({ tokenRateLimited: false });
    const again = await post(browser, expectPage(await browser.navigate(`/admin/clients/${client.clientId}/edit`)), new RegExp(`/admin/clients/${client.clientId}$`),
      clientForm({ name: 'Bulk importer', 'grant-type': 'client_credentials', 'redirect-uri': '', scope: 'profile', 'token-rate-limit': 'yes' }));
    expect(again.html).toMatch(/Token rate limit[^<]*<\/dt><dd>Yes</);
  });

  it('saves nothing from an invalid edit and shows it again with what was typed', async () => {
    const { client } = await gatehouse.container.clients.create({ name: 'Untouched', redirectUris: ['https://untouched.example/cb'] });
    const before = await gatehouse.container.clients.get(client.clientId);
    const { browser, page: edit } = await signInToConsole('user1@example.com', `/admin/clients/${client.clientId}/edit`);
    const refused = await post(browser, edit, new RegExp(`/admin/clients/${client.clientId}$`), clientForm({
      name: 'Renamed',
      'redirect-uri': 'https://untouched.example/cb',
      'min-acr': 'urn:gatehouse:loa:2',
      'grant-type': ['refresh_token'],
    }));
    expect(refused.status).toBe(400);
    expect(refused.html).toMatch(/fieldset aria-invalid="true" aria-describedby="grant-type-error"/);
    expect(refused.html).toMatch(/id="name"[^>]*value="Renamed"/);
    expect(await gatehouse.container.clients.get(client.clientId)).toEqual(before);
    expect(await gatehouse.container.audit.list({ clientId: client.clientId })).toEqual([]);
  });

  it('edits, rotates the secret of and deletes a client (with a confirmation page), each audited with the admin user', async () => {
    const { client } = await gatehouse.container.clients.create({ name: 'Wiki', redirectUris: ['https://wiki.example/cb'] });
    const { browser, page: edit } = await signInToConsole('user1@example.com', `/admin/clients/${client.clientId}/edit`);
    expect(findForm(edit.html, new RegExp(`/admin/clients/${client.clientId}$`)).hidden.csrf).toEqual(expect.any(String));

    const saved = await post(browser, edit, new RegExp(`/admin/clients/${client.clientId}$`), clientForm({
      name: 'Team wiki',
      'grant-type': 'authorization_code',
      'redirect-uri': 'https://wiki.example/cb\nhttps://wiki.example/cb2',
      'post-logout-redirect-uri': 'https://wiki.example/bye',
      'backchannel-logout-uri': 'https://wiki.example/backchannel',
      scope: 'openid email',
      'first-party': 'yes',
    }));
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

  it('searches clients by name or id, and pages a long list', async () => {
    for (let i = 0; i < 53; i += 1) await gatehouse.container.clients.create({ name: `Paged client ${String(i).padStart(2, '0')}`, grantTypes: ['client_credentials'], scope: 'profile' });
    const { client: alpha } = await gatehouse.container.clients.create({ name: 'Alpha Search', redirectUris: ['https://alpha.example/cb'] });
    await gatehouse.container.clients.create({ name: 'Beta Search', redirectUris: ['https://beta.example/cb'] });
    const { browser } = await signInToConsole('user1@example.com', '/admin/clients');

    const found = expectPage(await browser.navigate('/admin/clients?q=ALPHA'));
    expect(found.html).toContain('Alpha Search');
    expect(found.html).not.toContain('Beta Search');
    expect(found.html).toMatch(/id="q"[^>]*value="ALPHA"/);
    const byClientId = expectPage(await browser.navigate(`/admin/clients?q=${encodeURIComponent(alpha.clientId)}`));
    expect(byClientId.html).toContain('Alpha Search');
    expect(byClientId.html).not.toContain('Beta Search');

    const first = expectPage(await browser.navigate('/admin/clients?q=paged'));
    expect(first.html.match(/Paged client \d\d/g)).toHaveLength(50);
    expect(first.html).toContain('Showing 1 to 50. There are more');
    const next = decode(/href="([^"]+)" rel="next"/.exec(first.html)![1]!);
    expect(next).toBe('/admin/clients?q=paged&page=2');
    const second = expectPage(await browser.navigate(next));
    expect(second.html.match(/Paged client \d\d/g)).toEqual(['Paged client 50', 'Paged client 51', 'Paged client 52']);
    expect(second.html).toContain('Showing 51 to 53.');
    expect(second.html).not.toContain('rel="next"');
    expect(second.html).toMatch(/href="\/admin\/clients\?q=paged&amp;page=1" rel="prev"/);
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

  it('creates users (field errors kept), disables them and enables them again, grants admin, and a revoke takes effect at the next request', async () => {
    const { browser, page } = await signInToConsole('user1@example.com', '/admin/users/new');
    const bad = await postTo(browser, page, '/admin/users', { email: 'not-an-email', name: 'Grace', password: PASSWORD });
    expect(bad.status).toBe(400);
    expect(byId(bad, 'email-error')).toContain('Enter a valid email address.');
    expect(bad.html).toMatch(/id="new-name"[^>]*value="Grace"/);
    const short = await postTo(browser, bad, '/admin/users', { email: 'grace@example.com', name: 'Grace', password: 'short' });
    expect(byId(short, 'password-error')).toContain('at least 12 characters');
    // The form says the rule next to the field, and refuses a common password with its reason.
    expect(short.html).toMatch(/id="password-hint">12 to 256 characters, and not a common or leaked password/);
    const common = await postTo(browser, short, '/admin/users', { email: 'grace@example.com', name: 'Grace', password: 'Sunshine2024!' });
    expect(common.status).toBe(400);
    expect(byId(common, 'password-error')).toContain('This password is on a list of common or leaked passwords, which attackers try first. Choose another one.');
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
    await expect(gatehouse.container.accounts.authenticate('grace@example.com', PASSWORD)).rejects.toThrow('Invalid email or password');
    const enabled = await post(browser, disabled, /\/enable$/);
    expect(enabled.html).toContain('The user is enabled.');
    // Enabled for real: the flag is gone and the password works again.
    expect((await gatehouse.container.accounts.getByEmail('grace@example.com')).disabledAt).toBeNull();
    await expect(gatehouse.container.accounts.authenticate('grace@example.com', PASSWORD)).resolves.toMatchObject({ email: 'grace@example.com' });
    const granted = await post(browser, enabled, /\/grant-admin$/);
    expect(granted.html).toContain('may now use the admin console');

    const grace = await signInToConsole('grace@example.com', '/admin/users');
    expect(grace.page.status).toBe(200);
    await post(browser, granted, /\/revoke-admin$/);
    // Her next request, with the same session, is refused.
    expect(expectPage(await grace.browser.navigate('/admin/users')).status).toBe(403);
    const grace2 = await gatehouse.container.accounts.getByEmail('grace@example.com');
    expect((await gatehouse.container.audit.list({ userId: grace2.id })).filter((e) => e.type.startsWith('user.')).map((e) => [e.type, e.actor.id])).toEqual([
      ['user.admin_revoked', `user:${adminId}`],
      ['user.admin_granted', `user:${adminId}`],
      ['user.enabled', `user:${adminId}`],
      ['user.disabled', `user:${adminId}`],
      ['user.created', `user:${adminId}`],
    ]);

    // An admin can neither revoke their own access nor disable themself.
    const self = expectPage(await browser.navigate(`/admin/users/${adminId}`));
    expect(self.html).not.toContain('/revoke-admin');
    expect(self.html).not.toContain('/disable');
    for (const action of ['revoke-admin', 'disable']) {
      const refused = expectPage(await browser.navigate(`/admin/users/${adminId}/${action}`, { form: { csrf: csrfOf(self) } }));
      expect(refused.status).toBe(403);
      expect(refused.html).toContain('ask another administrator');
    }
    expect(await gatehouse.container.accounts.getByEmail('user1@example.com')).toMatchObject({ admin: true, disabledAt: null });
  });

  it('searches users by email or name, ignoring case, and pages a long list', async () => {
    await gatehouse.container.accounts.createUser({ email: 'marie.curie@example.com', password: PASSWORD, name: 'Marie CURIE' });
    await gatehouse.container.accounts.createUser({ email: 'pierre@example.com', password: PASSWORD, name: 'Pierre Curie' });
    await gatehouse.container.accounts.createUser({ email: 'lise@example.com', password: PASSWORD, name: 'Lise Meitner' });
    for (let i = 0; i < 51; i += 1) await gatehouse.container.accounts.createUser({ email: `pager${String(i).padStart(2, '0')}@example.com`, password: PASSWORD });
    const { browser } = await signInToConsole('user1@example.com', '/admin/users');

    const curie = expectPage(await browser.navigate('/admin/users?q=curie'));
    expect(curie.html).toContain('marie.curie@example.com');
    expect(curie.html).toContain('pierre@example.com');
    expect(curie.html).not.toContain('lise@example.com');
    const byEmail = expectPage(await browser.navigate('/admin/users?q=LISE%40EXAMPLE'));
    expect(byEmail.html).toContain('lise@example.com');
    expect(byEmail.html).not.toContain('pierre@example.com');

    const first = expectPage(await browser.navigate('/admin/users?q=pager'));
    expect(first.html.match(/>pager\d\d@example\.com</g)).toHaveLength(50);
    expect(first.html).toContain('There are more');
    const second = expectPage(await browser.navigate(decode(/href="([^"]+)" rel="next"/.exec(first.html)![1]!)));
    expect(second.html.match(/>pager\d\d@example\.com</g)).toEqual(['>pager50@example.com<']);
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

  it('resets the second factor of a user who has one: the factor is gone and every session ended', async () => {
    const user = await newUser();
    const phone = await signInToConsole(user.email, '/account');
    const laptop = await signInToConsole(user.email, '/account');
    const { secret } = await gatehouse.container.mfa.startEnrolment(user.id, user.email);
    await gatehouse.container.mfa.activate(user.id, totpCode(secret, new Date()));
    expect((await gatehouse.container.mfa.status(user.id)).enabled).toBe(true);
    expect(await gatehouse.container.sessions.listLive(user.id)).toHaveLength(2);

    const { browser } = await signInToConsole('user1@example.com', `/admin/users/${user.id}`);
    const detail = expectPage(await browser.navigate(`/admin/users/${user.id}`));
    expect(detail.html).toContain('On (authenticator app)');
    const reset = await post(browser, detail, /\/reset-mfa$/);
    expect(reset.html).toContain('Two-step verification was removed');
    expect(reset.html).toContain('Off');
    expect(reset.html).not.toContain('/reset-mfa');
    expect((await gatehouse.container.mfa.status(user.id)).enabled).toBe(false);
    expect(await gatehouse.container.sessions.listLive(user.id)).toEqual([]);
    // The user's browsers are signed out.
    for (const { browser: device } of [phone, laptop]) expect(expectPage(await device.navigate('/account')).url.pathname).toMatch(/^\/interaction\//);
    expect((await gatehouse.container.audit.list({ userId: user.id, types: ['mfa.reset'] })).map((e) => e.actor.id)).toEqual([`user:${adminId}`]);
  });

  it('shows back-channel logout deliveries per client and state, and retries a pending one and a failed one', async () => {
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

      // A failed one: its client lost its back-channel URI, so the next attempt gave up at once.
      const other = await newUser();
      await rp.login(new Browser(gatehouse.issuer), { login: other.email, password: PASSWORD });
      const [otherSession] = await gatehouse.container.sessions.listLive(other.id);
      receiver.answers = [503];
      await gatehouse.container.sessions.revokeByAdmin(otherSession!.id, { type: 'admin', id: 'test' });
      await gatehouse.container.logoutDelivery.drain();
      const [queued] = await gatehouse.container.logoutDeliveries.list({ sessionId: otherSession!.id });
      await gatehouse.container.clients.update(rp.clientId, { backchannelLogoutUri: null });
      await gatehouse.container.logoutDeliveries.retry(queued!.id, { type: 'admin', id: 'test' });
      await gatehouse.container.logoutDelivery.drain();
      expect(await gatehouse.container.logoutDeliveries.get(queued!.id)).toMatchObject({ state: 'failed' });

      // The application is back: the console's retry delivers the failed one.
      await gatehouse.container.clients.update(rp.clientId, { backchannelLogoutUri: receiver.uri });
      const failed = expectPage(await browser.navigate(`/admin/deliveries?client=${rp.clientId}&state=failed`));
      expect(failed.html).toContain(`/deliveries/${queued!.id}/retry`);
      const again = await post(browser, failed, new RegExp(`/deliveries/${queued!.id}/retry$`));
      expect(again.html).toContain('The delivery is queued again.');
      await gatehouse.container.logoutDelivery.drain();
      expect(await gatehouse.container.logoutDeliveries.get(queued!.id)).toMatchObject({ state: 'delivered' });
      expect((await gatehouse.container.audit.list({ types: ['logout.delivery_retried'] })).filter((e) => e.actor.id === `user:${adminId}`).map((e) => e.details)).toEqual([
        { notification_id: queued!.id },
        { notification_id: delivery!.id },
      ]);
    } finally {
      await receiver.down();
    }
  });

  it('pages the audit log, 50 events a page, filtered by client', async () => {
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

    const badDate = expectPage(await browser.navigate('/admin/audit?since=yesterday'));
    expect(badDate.status).toBe(400);
    expect(byId(badDate, 'since-error')).toContain('Give a date');
    expect(expectPage(await browser.navigate('/admin/audit?type=user.exploded')).status).toBe(400);
    expect(expectPage(await browser.navigate('/admin/audit?user=nobody%40example.com')).status).toBe(400);
  });

  it('filters the audit log by user, event type and until: each filter leaves out an event the others keep', async () => {
    const ann = await newUser();
    const ben = await newUser();
    const seed = (at: string, type: 'user.created' | 'user.disabled', userId: string, note: string) =>
      gatehouse.container.audit.append({ at: new Date(at), type, actor: { type: 'admin', id: 'seed' }, userId, sessionId: null, clientId: null, details: { note } });
    await seed('2031-05-01T08:00:00Z', 'user.created', ann.id, 'kept');
    await seed('2031-05-01T09:00:00Z', 'user.disabled', ann.id, 'other-type');
    await seed('2031-05-01T10:00:00Z', 'user.created', ben.id, 'other-user');
    await seed('2031-05-03T08:00:00Z', 'user.created', ann.id, 'after-until');
    const { browser } = await signInToConsole('user1@example.com', '/admin/audit');
    const shown = async (filters: Record<string, string>) => {
      const page = expectPage(await browser.navigate(`/admin/audit?${new URLSearchParams({ since: '2031-05-01', ...filters }).toString()}`));
      expect(page.status).toBe(200);
      return [...page.html.matchAll(/<time datetime="([^"]+)"/g)].map((m) => m[1]);
    };
    const all = { user: ann.email, type: 'user.created', until: '2031-05-02' };
    expect(await shown(all)).toEqual(['2031-05-01T08:00:00.000Z']);
    expect(await shown({ ...all, user: '' })).toEqual(['2031-05-01T10:00:00.000Z', '2031-05-01T08:00:00.000Z']);
    expect(await shown({ ...all, type: '' })).toEqual(['2031-05-01T09:00:00.000Z', '2031-05-01T08:00:00.000Z']);
    expect(await shown({ ...all, until: '' })).toEqual(['2031-05-03T08:00:00.000Z', '2031-05-01T08:00:00.000Z']);
    // The user filter takes an id as well as an email address.
    expect(await shown({ ...all, user: ann.id })).toEqual(['2031-05-01T08:00:00.000Z']);
  });

  it('signs out from the frame: a CSRF-protected POST that ends the SSO session like /account/logout', async () => {
    const admin = await newUser({ admin: true });
    const { browser, page } = await signInToConsole(admin.email, '/admin/users');
    const form = findForm(page.html, /^\/admin\/logout$/);
    expect(page.html).toMatch(/<form method="post" action="\/admin\/logout" class="frame-sign-out">/);
    const [session] = await gatehouse.container.sessions.listLive(admin.id);

    // Without its token nothing ends.
    expect(expectPage(await browser.navigate('/admin/logout', { form: {} })).status).toBe(403);
    expect(await gatehouse.container.sessions.listLive(admin.id)).toHaveLength(1);

    const out = expectPage(await browser.navigate(form.action, { form: form.hidden }));
    expect(out.status).toBe(200);
    expect(out.html).toContain('You are signed out');
    expect(out.html).toContain('href="/admin"');
    expect(await gatehouse.container.sessions.get(session!.id)).toMatchObject({ endReason: 'logged_out', endedAt: expect.any(Date) });
    expect((await gatehouse.container.audit.list({ sessionId: session!.id, types: ['session.logged_out'] })).map((e) => e.actor)).toEqual([{ type: 'user', id: admin.id }]);
    // The console asks for a sign-in again.
    expect(expectPage(await browser.navigate('/admin/users')).url.pathname).toMatch(/^\/interaction\//);
  });
});

describe.each(databaseKinds())('admin console writes need a recent second factor (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  const clock = new TestClock();
  let admins = 0;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind, { clock });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  /** An admin with an authenticator app, signed in to the console with password and code just now. */
  async function mfaAdmin(path = '/admin/users'): Promise<{ browser: Browser; page: Page; secret: string; id: string }> {
    admins += 1;
    const email = `ops${admins}@example.com`;
    const admin = await gatehouse.container.accounts.createUser({ email, password: PASSWORD });
    await gatehouse.container.accounts.setAdmin(email, true);
    const secret = (await gatehouse.container.mfa.startEnrolment(admin.id, email)).secret;
    await gatehouse.container.mfa.activate(admin.id, totpCode(secret, clock.now()));
    clock.advance(30_000);
    const browser = new Browser(gatehouse.issuer);
    const login = expectPage(await browser.navigate(path));
    const otp = expectPage(await browser.submit(login, /\/login$/, { login: email, password: PASSWORD }));
    const page = expectPage(await browser.submit(otp, /\/otp$/, { code: totpCode(secret, clock.now()) }));
    expect(page.url.pathname).toBe(path);
    return { browser, page, secret, id: admin.id };
  }

  const confirmWithCode = async (browser: Browser, asked: Page, secret: string) => {
    clock.advance(30_000);
    return expectPage(await browser.submit(asked, /\/account\/confirm$/, { code: totpCode(secret, clock.now()) }));
  };

  it('lets an admin with an authenticator app write within five minutes of a code, then asks for a fresh code and comes back', async () => {
    const { browser, page, secret, id } = await mfaAdmin('/admin/users/new');
    const createUser = async (on: Page, email: string) => expectPage(await browser.navigate('/admin/users', { form: { csrf: csrfOf(on), email, name: '', password: PASSWORD } }));

    // Signed in with the code just now: a write goes through.
    expect((await createUser(page, 'first@example.com')).html).toContain('The user was created.');

    // Five minutes on, the same write is sent to "Confirm it is you" first, and nothing is written.
    clock.advance(5 * 60_000 + 1000);
    const asked = await createUser(page, 'second@example.com');
    expect(asked.url.pathname).toBe('/account/confirm');
    expect(asked.url.searchParams.get('return_to')).toBe('/admin/users/new');
    expect(asked.html).toContain('Confirm it is you');
    await expect(gatehouse.container.accounts.getByEmail('second@example.com')).rejects.toThrow('No user');

    const back = await confirmWithCode(browser, asked, secret);
    expect(back.url.pathname).toBe('/admin/users/new');
    expect((await createUser(back, 'second@example.com')).html).toContain('The user was created.');
    expect(await gatehouse.container.audit.list({ userId: id, types: ['session.reauthenticated'] })).toHaveLength(1);
  });

  it('asks for the fresh code before showing a write form, so nothing typed is lost', async () => {
    const { browser, secret } = await mfaAdmin('/admin/clients');
    const { client } = await gatehouse.container.clients.create({ name: 'Billing', redirectUris: ['https://billing.example/cb'] });
    clock.advance(5 * 60_000 + 1000);
    for (const path of ['/admin/clients/new', `/admin/clients/${client.clientId}/edit`, '/admin/users/new']) {
      const asked = expectPage(await browser.navigate(path));
      expect(asked.url.pathname).toBe('/account/confirm');
      expect(asked.url.searchParams.get('return_to')).toBe(path);
      expect(asked.html).not.toContain('name="redirect-uri"');
    }
    const asked = expectPage(await browser.navigate('/admin/clients/new'));
    const form = await confirmWithCode(browser, asked, secret);
    expect(form.url.pathname).toBe('/admin/clients/new');
    expect(form.html).toContain('name="redirect-uri"');
    // Reads need no fresh check.
    clock.advance(5 * 60_000 + 1000);
    expect(expectPage(await browser.navigate(`/admin/clients/${client.clientId}`)).url.pathname).toBe(`/admin/clients/${client.clientId}`);
  });

  it('keeps what a form typed when its save has to wait for the confirmation, and saves nothing until then', async () => {
    const { browser, page: form, secret } = await mfaAdmin('/admin/clients/new');
    // The admin takes longer than five minutes over the form.
    clock.advance(5 * 60_000 + 1000);
    const typed = clientForm({ name: 'Slowly typed', 'redirect-uri': 'https://slow.example/cb\nhttps://slow.example/cb2', 'min-acr': 'urn:gatehouse:loa:2', 'backchannel-logout-uri': 'https://slow.example/bc', 'first-party': 'yes' });
    const asked = expectPage(await browser.submit(form, /^\/admin\/clients$/, typed));
    expect(asked.url.pathname).toBe('/account/confirm');
    expect(asked.url.searchParams.get('return_to')).toBe('/admin/clients/new');
    expect((await gatehouse.container.admin.listClients('Slowly typed', { limit: 10, offset: 0 })).items).toEqual([]);

    const back = await confirmWithCode(browser, asked, secret);
    expect(back.url.pathname).toBe('/admin/clients/new');
    expect(back.html).toContain('what you had entered is back in the form');
    expect(back.html).toMatch(/id="name"[^>]*value="Slowly typed"/);
    expect(back.html).toMatch(/<textarea id="redirect-uri"[^>]*>https:\/\/slow.example\/cb\nhttps:\/\/slow.example\/cb2<\/textarea>/);
    expect(back.html).toMatch(/<option value="urn:gatehouse:loa:2" selected>/);
    expect(back.html).toMatch(/id="first-party"[^>]*checked/);
    // Taken once: the next visit starts from the defaults.
    expect(expectPage(await browser.navigate('/admin/clients/new')).html).not.toContain('Slowly typed');

    const saved = expectPage(await browser.submit(back, /^\/admin\/clients$/, typed));
    const id = byId(saved, 'client-id');
    expect(await gatehouse.container.clients.get(id)).toMatchObject({ name: 'Slowly typed', minAcr: 'urn:gatehouse:loa:2', firstParty: true });

    // A new user's details come back too, but never the password.
    clock.advance(5 * 60_000 + 1000);
    const userForm = expectPage(await browser.navigate('/admin/users/new'));
    const confirmed = await confirmWithCode(browser, userForm, secret);
    clock.advance(5 * 60_000 + 1000);
    const askedAgain = expectPage(await browser.submit(confirmed, /^\/admin\/users$/, { email: 'slow@example.com', name: 'Slow Typist', password: 'a secret password' }));
    const userBack = await confirmWithCode(browser, askedAgain, secret);
    expect(userBack.url.pathname).toBe('/admin/users/new');
    expect(userBack.html).toMatch(/id="new-email"[^>]*value="slow@example.com"/);
    expect(userBack.html).toMatch(/id="new-name"[^>]*value="Slow Typist"/);
    expect(userBack.html).not.toContain('a secret password');
    // The draft cookie held the email and name only.
    const drafts = browser.setCookieLines.filter((line) => line.startsWith('gatehouse_admin_draft=') && !line.startsWith('gatehouse_admin_draft=;'));
    expect(drafts.length).toBeGreaterThanOrEqual(2);
    const kept = JSON.parse(Buffer.from(drafts.at(-1)!.split(';')[0]!.split('=')[1]!, 'base64url').toString('utf8'));
    expect(kept.values).toEqual({ email: 'slow@example.com', name: 'Slow Typist' });
  });

  it('refuses every POST route of the console without a recent second factor, changing nothing', async () => {
    const { browser, page } = await mfaAdmin('/admin/users');
    const target = await gatehouse.container.accounts.createUser({ email: `target${admins}@example.com`, password: PASSWORD });
    const disabledTarget = await gatehouse.container.accounts.createUser({ email: `disabled${admins}@example.com`, password: PASSWORD });
    await gatehouse.container.accounts.disable(disabledTarget.email);
    // The target signs in (a live session to end), then sets up an authenticator app (a factor to reset).
    const rp = await registerRelyingParty(gatehouse, 'Target app');
    await rp.login(new Browser(gatehouse.issuer), { login: target.email, password: PASSWORD });
    const { secret: targetSecret } = await gatehouse.container.mfa.startEnrolment(target.id, target.email);
    await gatehouse.container.mfa.activate(target.id, totpCode(targetSecret, clock.now()));
    const { client } = await gatehouse.container.clients.create({ name: 'Target client', redirectUris: ['https://target.example/cb'] });
    const [session] = await gatehouse.container.sessions.listLive(target.id);
    expect(session).toBeDefined();

    const routes = consoleRouter(gatehouse).stack.filter((layer) => layer.methods.includes('POST')).map((layer) => String(layer.path));
    // Signing out is no admin action: it is the one POST without a step-up (its CSRF check is tested above).
    expect(routes.filter((path) => path === '/admin/logout')).toHaveLength(1);
    const guarded = routes.filter((path) => path !== '/admin/logout');
    expect(guarded.length).toBeGreaterThanOrEqual(12);

    clock.advance(5 * 60_000 + 1000);
    const auditBefore = (await gatehouse.container.audit.list({ limit: 1000 })).length;
    const clientBefore = await gatehouse.container.clients.get(client.clientId);
    for (const route of guarded) {
      const path = route
        .replace(':clientId', client.clientId)
        .replace(':sessionId', session!.id)
        .replace(':id', route.startsWith('/admin/deliveries') ? '00000000-0000-4000-8000-000000000000' : route.endsWith('/enable') ? disabledTarget.id : target.id);
      const response = await browser.request(path, { form: { csrf: csrfOf(page), ...clientForm({ name: 'Changed' }), email: 'new@example.com', password: PASSWORD } });
      expect([path, response.status]).toEqual([path, 303]);
      const location = new URL(response.headers.get('location')!, gatehouse.issuer);
      expect([path, location.pathname, location.searchParams.get('return_to')]).toEqual([path, '/account/confirm', consolePageOf(path)]);
    }
    // Nothing was written by any of them.
    expect((await gatehouse.container.audit.list({ limit: 1000 })).length).toBe(auditBefore);
    expect(await gatehouse.container.clients.get(client.clientId)).toEqual(clientBefore);
    expect(await gatehouse.container.accounts.getByEmail(target.email)).toMatchObject({ disabledAt: null, admin: false });
    expect((await gatehouse.container.accounts.getByEmail(disabledTarget.email)).disabledAt).not.toBeNull();
    expect((await gatehouse.container.mfa.status(target.id)).enabled).toBe(true);
    expect((await gatehouse.container.sessions.listLive(target.id)).map((s) => s.id)).toEqual([session!.id]);
    await expect(gatehouse.container.accounts.getByEmail('new@example.com')).rejects.toThrow('No user');
  });

  it('ignores a return path outside Gatehouse after confirming (back to /account)', async () => {
    const browser = new Browser(gatehouse.issuer);
    await gatehouse.container.accounts.createUser({ email: 'plain-ops@example.com', password: PASSWORD });
    await gatehouse.container.accounts.setAdmin('plain-ops@example.com', true);
    const login = expectPage(await browser.navigate('/admin/clients'));
    expectPage(await browser.submit(login, /\/login$/, { login: 'plain-ops@example.com', password: PASSWORD }));
    clock.advance(5 * 60_000 + 1000);
    const confirm = expectPage(await browser.navigate('/account/confirm?return_to=https%3A%2F%2Fevil.example%2F'));
    expect(confirm.html).toContain('name="password"');
    const back = expectPage(await browser.submit(confirm, /\/account\/confirm$/, { password: PASSWORD }));
    expect(back.url.pathname).toBe('/account');
  });
});
