import type Router from '@koa/router';
import * as oidc from 'openid-client';
import { Browser, expectPage } from '../support/browser.js';
import { TestClock } from '../support/clock.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { totpCode } from '../support/mfa-fakes.js';
import { registerRelyingParty, type RelyingParty } from '../support/relying-party.js';

const PASSWORD = 'correct horse battery staple';
const MINUTE = 60_000;
const insecure = { execute: [oidc.allowInsecureRequests] };

interface ApiResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

interface SessionJson {
  id: string;
  user_id: string;
  device: string;
  ip_created: string | null;
  ip_last_seen: string | null;
  created_at: string;
  last_seen_at: string;
  amr: string[];
  acr: string | null;
  clients: { client_id: string; sid: string; first_seen_at: string }[];
}

interface AuditJson {
  at: string;
  type: string;
  actor: { type: string; id: string | null };
  session_id: string | null;
  ip: string | null;
}

describe.each(databaseKinds())('admin API (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let clock: TestClock;
  let notebook: RelyingParty;
  let calendar: RelyingParty;
  let adminClientId: string;
  let adminConfig: oidc.Configuration;
  let adminToken: string;
  let users = 0;

  async function clientCredentialsConfig(input: Parameters<TestGatehouse['container']['clients']['create']>[0]) {
    const { client, secret } = await gatehouse.container.clients.create(input);
    return { clientId: client.clientId, config: await oidc.discovery(new URL(gatehouse.issuer), client.clientId, secret!, undefined, insecure) };
  }

  /** A new user with one SSO session per browser; each session signs in to the notebook, the first to the calendar too. */
  async function userWithSessions(count: number) {
    users += 1;
    const email = `user${users}@example.com`;
    const user = await gatehouse.container.accounts.createUser({ email, password: PASSWORD });
    const sessions: { browser: Browser; refreshToken: string }[] = [];
    for (let i = 0; i < count; i += 1) {
      const browser = new Browser(gatehouse.issuer);
      const tokens = await notebook.login(browser, { login: email, password: PASSWORD });
      if (i === 0) await calendar.login(browser, { login: email, password: PASSWORD });
      sessions.push({ browser, refreshToken: tokens.refresh_token! });
    }
    return { id: user.id, email, sessions };
  }

  async function api(method: string, path: string, token: string | null = adminToken, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const response = await fetch(new URL(path, gatehouse.issuer), {
      method,
      headers: { accept: 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  const liveSessions = async (userId: string) => (await api('GET', `/admin/api/users/${userId}/sessions`)).body.sessions as SessionJson[];
  const auditOf = async (userId: string, query = '') => (await api('GET', `/admin/api/users/${userId}/audit${query}`)).body.events as AuditJson[];
  // session.refreshed may come and go with how sign-in records re-authentication; these tests are not about it.
  const withoutRefreshes = (events: AuditJson[]) => events.filter((e) => e.type !== 'session.refreshed');

  beforeAll(async () => {
    clock = new TestClock();
    gatehouse = await startTestGatehouse(kind, { clock });
    notebook = await registerRelyingParty(gatehouse, 'notebook');
    calendar = await registerRelyingParty(gatehouse, 'calendar');
    const admin = await clientCredentialsConfig({ name: 'Ops console', admin: true });
    adminClientId = admin.clientId;
    adminConfig = admin.config;
  });

  beforeEach(async () => {
    // Tests move the clock; a token from before may have expired (CLIENT_CREDENTIALS_TTL is 10 minutes).
    adminToken = (await oidc.clientCredentialsGrant(adminConfig, { scope: 'admin' })).access_token;
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  describe('the admin scope', () => {
    it('is issued to an admin client with client_credentials', async () => {
      const tokens = await oidc.clientCredentialsGrant(adminConfig, { scope: 'admin' });
      expect(tokens.scope?.split(' ')).toContain('admin');
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
    });

    it('is refused to a normal client, which gets tokens without it only', async () => {
      const backend = await clientCredentialsConfig({ name: 'Reporting job', grantTypes: ['client_credentials'], scope: 'profile' });
      await expect(oidc.clientCredentialsGrant(backend.config, { scope: 'admin' })).rejects.toMatchObject({ error: 'invalid_scope' });
      await expect(oidc.clientCredentialsGrant(backend.config, { scope: 'profile admin' })).rejects.toMatchObject({ error: 'invalid_scope' });
      const plain = await oidc.clientCredentialsGrant(backend.config);
      expect(plain.scope ?? '').not.toContain('admin');
      // Nor can a relying party that signs users in obtain it, in any grant.
      await expect(oidc.clientCredentialsGrant(notebook.config, { scope: 'admin' })).rejects.toMatchObject({
        error: 'invalid_request',
        error_description: 'requested grant type is not allowed for this client',
      });
    });

    it('is never registered for a normal client', async () => {
      await expect(gatehouse.container.clients.create({ name: 'Sneaky', grantTypes: ['client_credentials'], scope: 'admin' })).rejects.toThrow(/admin client/);
      await expect(gatehouse.container.clients.update(notebook.clientId, { scope: 'openid admin' })).rejects.toThrow(/admin client/);
    });
  });

  describe('authentication', () => {
    const expectInvalidToken = (response: ApiResponse) => {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      expect(response.body).toMatchObject({ error: 'invalid_token', error_description: expect.any(String) });
      expect(response.headers.get('cache-control')).toBe('no-store');
    };

    it('refuses a request without a token, or with a garbage or non-bearer one, with 401', async () => {
      const { id } = await userWithSessions(1);
      expectInvalidToken(await api('GET', `/admin/api/users/${id}/sessions`, null));
      expectInvalidToken(await api('GET', `/admin/api/users/${id}/sessions`, 'not-a-token'));
      expectInvalidToken(await api('GET', `/admin/api/users/${id}/sessions`, 'x'.repeat(2000)));
      expectInvalidToken(await api('DELETE', `/admin/api/users/${id}/sessions`, null, { authorization: `Basic ${Buffer.from(`${adminClientId}:secret`).toString('base64')}` }));
      expectInvalidToken(await api('DELETE', `/admin/api/users/${id}/sessions`, null, { authorization: adminToken }));
      // Nothing was ended by the refused requests.
      expect(await liveSessions(id)).toHaveLength(1);
    });

    it("refuses a user's access token: only admin clients' client_credentials tokens are accepted", async () => {
      const { id, email } = await userWithSessions(0);
      const tokens = await notebook.login(new Browser(gatehouse.issuer), { login: email, password: PASSWORD });
      expectInvalidToken(await api('GET', `/admin/api/users/${id}/sessions`, tokens.access_token));
    });

    it('refuses an expired token', async () => {
      const token = (await oidc.clientCredentialsGrant(adminConfig, { scope: 'admin' })).access_token;
      expect((await api('GET', `/admin/api/users/${(await userWithSessions(0)).id}/sessions`, token)).status).toBe(200);
      clock.advance(11 * MINUTE); // CLIENT_CREDENTIALS_TTL is 10 minutes
      expectInvalidToken(await api('GET', '/admin/api/users/anyone/sessions', token));
    });

    it("refuses the token of a deleted client with 401, and of a client no longer admin with 403", async () => {
      const ops = await clientCredentialsConfig({ name: 'Temporary ops', admin: true });
      const token = (await oidc.clientCredentialsGrant(ops.config, { scope: 'admin' })).access_token;
      const { id } = await userWithSessions(1);
      expect((await api('GET', `/admin/api/users/${id}/sessions`, token)).status).toBe(200);

      await gatehouse.container.clients.update(ops.clientId, { admin: false, scope: 'profile' });
      const demoted = await api('DELETE', `/admin/api/users/${id}/sessions`, token);
      expect(demoted.status).toBe(403);
      expect(demoted.body).toMatchObject({ error: 'insufficient_scope' });

      await gatehouse.container.clients.delete(ops.clientId);
      expectInvalidToken(await api('DELETE', `/admin/api/users/${id}/sessions`, token));
      expect(await liveSessions(id)).toHaveLength(1);
    });

    it('demotes an admin client whose only scope is admin with PATCH {"admin":false}: its token is refused at once', async () => {
      const ops = await clientCredentialsConfig({ name: 'Only admin', admin: true });
      const token = (await oidc.clientCredentialsGrant(ops.config, { scope: 'admin' })).access_token;
      expect((await api('GET', '/admin/api/clients', token)).status).toBe(200);

      const demoted = await fetch(new URL(`/admin/api/clients/${ops.clientId}`, gatehouse.issuer), {
        method: 'PATCH',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ admin: false }),
      });
      expect(demoted.status).toBe(200);
      expect(await demoted.json()).toMatchObject({ admin: false, scope: 'openid' });
      expect(await api('GET', '/admin/api/clients', token)).toMatchObject({ status: 403, body: { error: 'insufficient_scope' } });
      await expect(oidc.clientCredentialsGrant(ops.config, { scope: 'admin' })).rejects.toMatchObject({ error: 'invalid_scope' });
    });

    it('answers a token without the admin scope with 403 insufficient_scope', async () => {
      const { id } = await userWithSessions(1);
      const backend = await clientCredentialsConfig({ name: 'Inventory job', grantTypes: ['client_credentials'], scope: 'profile' });
      const normal = await api('GET', `/admin/api/users/${id}/sessions`, (await oidc.clientCredentialsGrant(backend.config, { scope: 'profile' })).access_token);
      expect(normal.status).toBe(403);
      expect(normal.body).toMatchObject({ error: 'insufficient_scope' });
      expect(normal.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
      // An admin client's token asked for without the admin scope does not carry it either.
      const unscoped = await api('DELETE', `/admin/api/users/${id}/sessions`, (await oidc.clientCredentialsGrant(adminConfig)).access_token);
      expect(unscoped.status).toBe(403);
      expect(await liveSessions(id)).toHaveLength(1);
    });
  });

  describe('sessions', () => {
    it("lists a user's live sessions with device, addresses, times, methods and clients with their sids", async () => {
      const user = await userWithSessions(2);
      const response = await api('GET', `/admin/api/users/${user.id}/sessions`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.body.user_id).toBe(user.id);
      const sessions = response.body.sessions as SessionJson[];
      expect(sessions).toHaveLength(2);
      for (const session of sessions) {
        expect(session).toMatchObject({
          user_id: user.id,
          device: expect.any(String),
          ip_created: '127.0.0.1',
          ip_last_seen: '127.0.0.1',
          created_at: clock.now().toISOString(),
          last_seen_at: clock.now().toISOString(),
          amr: ['pwd'],
          acr: 'urn:gatehouse:loa:1',
        });
        for (const client of session.clients) expect(client.sid).toEqual(expect.any(String));
      }
      expect(sessions.map((s) => s.clients.map((c) => c.client_id).sort()).sort((a, b) => b.length - a.length)).toEqual([
        [notebook.clientId, calendar.clientId].sort(),
        [notebook.clientId],
      ]);
      // The email names the user too; an unknown user is a JSON 404.
      expect((await api('GET', `/admin/api/users/${encodeURIComponent(user.email)}/sessions`)).body.sessions).toHaveLength(2);
      const unknown = await api('GET', '/admin/api/users/no-such-user/sessions');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    });

    it("revokes one session: its refresh token fails, the user's other session lives on, the audit names the admin client", async () => {
      const user = await userWithSessions(2);
      const [first] = await liveSessions(user.id);
      const revoked = await api('DELETE', `/admin/api/users/${user.id}/sessions/${first!.id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ session_id: first!.id, ended: true });

      expect((await liveSessions(user.id)).map((s) => s.id)).not.toContain(first!.id);
      expect(await liveSessions(user.id)).toHaveLength(1);
      await expect(gatehouse.container.sessions.get(first!.id)).resolves.toMatchObject({ endReason: 'revoked_by_admin', endedAt: expect.any(Date) });
      // Which refresh token belonged to the revoked session: the one that now fails.
      const outcomes = await Promise.all(
        user.sessions.map(({ refreshToken }) => oidc.refreshTokenGrant(notebook.config, refreshToken).then(() => 'ok', (error: { error?: string }) => error.error)),
      );
      expect(outcomes.sort()).toEqual(['invalid_grant', 'ok']);

      const events = await auditOf(user.id);
      expect(events.filter((e) => e.type === 'session.revoked_by_admin')).toEqual([
        expect.objectContaining({ session_id: first!.id, actor: { type: 'admin', id: adminClientId }, ip: '127.0.0.1' }),
      ]);

      // Again: nothing left to end. Another user's session, or an unknown one, through this user: 404.
      expect((await api('DELETE', `/admin/api/users/${user.id}/sessions/${first!.id}`)).body).toMatchObject({ ended: false });
      const other = await userWithSessions(1);
      const [theirs] = await liveSessions(other.id);
      expect((await api('DELETE', `/admin/api/users/${user.id}/sessions/${theirs!.id}`)).status).toBe(404);
      expect((await api('DELETE', `/admin/api/users/${user.id}/sessions/no-such-session`)).status).toBe(404);
      expect(await liveSessions(other.id)).toHaveLength(1);
    });

    it('revokes every session of a user, and only theirs', async () => {
      const user = await userWithSessions(3);
      const bystander = await userWithSessions(1);
      const response = await api('DELETE', `/admin/api/users/${encodeURIComponent(user.email)}/sessions`);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ user_id: user.id, ended: 3 });
      expect(await liveSessions(user.id)).toEqual([]);
      for (const { refreshToken } of user.sessions) {
        await expect(oidc.refreshTokenGrant(notebook.config, refreshToken)).rejects.toMatchObject({ error: 'invalid_grant' });
      }
      const events = (await auditOf(user.id)).filter((e) => e.type === 'session.revoked_by_admin');
      expect(events).toHaveLength(3);
      for (const event of events) expect(event.actor).toEqual({ type: 'admin', id: adminClientId });

      expect(await liveSessions(bystander.id)).toHaveLength(1);
      await expect(oidc.refreshTokenGrant(notebook.config, bystander.sessions[0]!.refreshToken)).resolves.toHaveProperty('access_token');
      expect((await api('DELETE', `/admin/api/users/${user.id}/sessions`)).body).toMatchObject({ ended: 0 });
    });
  });

  describe('audit', () => {
    it('lists the events of a user newest first, from a point in time, up to a limit', async () => {
      const user = await userWithSessions(1);
      const start = clock.now();
      clock.advance(10 * MINUTE);
      const secondBrowser = new Browser(gatehouse.issuer);
      await notebook.login(secondBrowser, { login: user.email, password: PASSWORD });
      clock.advance(10 * MINUTE);
      adminToken = (await oidc.clientCredentialsGrant(adminConfig, { scope: 'admin' })).access_token;
      const [, older] = await liveSessions(user.id);
      await api('DELETE', `/admin/api/users/${user.id}/sessions/${older!.id}`);

      const all = await auditOf(user.id);
      expect(withoutRefreshes(all).map((e) => e.type)).toEqual(['session.revoked_by_admin', 'session.created', 'session.created']);
      expect(all.map((e) => e.at)).toEqual([...all.map((e) => e.at)].sort().reverse());

      const since = new Date(start.getTime() + 5 * MINUTE).toISOString();
      const recent = await auditOf(user.id, `?since=${encodeURIComponent(since)}`);
      expect(withoutRefreshes(recent).map((e) => e.type)).toEqual(['session.revoked_by_admin', 'session.created']);
      expect(recent.every((e) => e.at >= since)).toBe(true);
      expect((await auditOf(user.id, `?since=${encodeURIComponent(clock.now().toISOString())}&limit=5`)).map((e) => e.type)).toEqual(['session.revoked_by_admin']);
      expect(await auditOf(user.id, '?limit=1')).toHaveLength(1);
      expect(await auditOf(user.id, `?since=${new Date(clock.now().getTime() + MINUTE).toISOString()}`)).toEqual([]);
    });

    it.each([
      ['?since=yesterday'],
      ['?since=2026-02-30T25:00:00Z'],
      ['?since=1700000000'],
      ['?limit=0'],
      ['?limit=1001'],
      ['?limit=ten'],
      ['?limit=-1'],
      ['?limit=1&limit=2'],
    ])('refuses %s with 400 invalid_request', async (query) => {
      const { id } = await userWithSessions(0);
      const response = await api('GET', `/admin/api/users/${id}/audit${query}`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    });
  });

  describe('the operations of the admin console, on the same service', () => {
    async function send(method: string, path: string, body?: unknown): Promise<ApiResponse> {
      const response = await fetch(new URL(path, gatehouse.issuer), {
        method,
        headers: { accept: 'application/json', authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    }

    it('registers, finds, changes, rotates and deletes clients; invalid settings name the field and save nothing', async () => {
      const before = (await gatehouse.container.clients.list()).length;
      const invalid = await send('POST', '/admin/api/clients', { client_name: 'Billing', redirect_uris: ['javascript:alert(1)'] });
      expect(invalid).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: expect.stringContaining('scheme that is not allowed') } });
      expect((await send('POST', '/admin/api/clients', { client_name: 'Billing', redirect_uris: 'https://x' })).status).toBe(400);
      expect((await send('POST', '/admin/api/clients', { client_name: 'Billing', colour: 'red' })).body.error_description).toContain('colour');
      expect((await gatehouse.container.clients.list()).length).toBe(before);

      const created = await send('POST', '/admin/api/clients', { client_name: 'Billing', redirect_uris: ['https://billing.example/cb'], backchannel_logout_uri: 'https://billing.example/bc', first_party: true });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ client_name: 'Billing', backchannel_logout_uri: 'https://billing.example/bc', first_party: true, client_secret: expect.any(String) });
      const id = created.body.client_id as string;
      clock.advance(1000);
      expect(((await send('GET', '/admin/api/clients?q=billing')).body.clients as { client_id: string }[]).map((c) => c.client_id)).toEqual([id]);
      expect((await send('PATCH', `/admin/api/clients/${id}`, { client_name: 'Billing v2', scope: 'openid' })).body).toMatchObject({ client_name: 'Billing v2', scope: 'openid', token_rate_limit: true });
      expect((await send('PATCH', `/admin/api/clients/${id}`, { token_rate_limit: false })).body).toMatchObject({ token_rate_limit: false });
      expect((await send('PATCH', `/admin/api/clients/${id}`, { token_rate_limit: 'no' })).status).toBe(400);
      clock.advance(1000);
      const rotated = await send('POST', `/admin/api/clients/${id}/rotate-secret`);
      clock.advance(1000);
      expect(rotated.body.client_secret).not.toBe(created.body.client_secret);
      expect((await send('DELETE', '/admin/api/clients/gatehouse-admin')).status).toBe(400);
      expect((await send('DELETE', `/admin/api/clients/${id}`)).body).toEqual({ client_id: id, deleted: true });
      expect((await send('GET', `/admin/api/clients/${id}`)).status).toBe(404);

      const audit = await send('GET', `/admin/api/audit?client=${id}`);
      expect((audit.body.events as AuditJson[]).map((e) => [e.type, e.actor.id])).toEqual([
        ['client.deleted', adminClientId],
        ['client.secret_rotated', adminClientId],
        ['client.updated', adminClientId],
        ['client.updated', adminClientId],
        ['client.created', adminClientId],
      ]);
    });

    it('creates, searches, disables, enables users, grants and revokes admin, resets the second factor of a user who has one', async () => {
      const created = await send('POST', '/admin/api/users', { email: 'Api.User@Example.com', password: PASSWORD, name: 'Api User' });
      expect(created).toMatchObject({ status: 201, body: { email: 'api.user@example.com', admin: false } });
      expect((await send('POST', '/admin/api/users', { email: 'api.user@example.com', password: PASSWORD })).status).toBe(409);
      expect((await send('POST', '/admin/api/users', { email: 'short@example.com', password: 'short' })).status).toBe(400);
      expect(await send('POST', '/admin/api/users', { email: 'common@example.com', password: 'Password1234' })).toMatchObject({
        status: 400,
        body: { error: 'invalid_request', error_description: expect.stringContaining('list of common or leaked passwords') },
      });
      await expect(gatehouse.container.accounts.getByEmail('common@example.com')).rejects.toThrow('No user');
      expect(((await send('GET', '/admin/api/users?q=api.user')).body.users as { email: string }[]).map((u) => u.email)).toEqual(['api.user@example.com']);
      // Names are searched ignoring case.
      expect(((await send('GET', '/admin/api/users?q=API%20USER')).body.users as { email: string }[]).map((u) => u.email)).toEqual(['api.user@example.com']);

      const id = created.body.id as string;
      // The audit log orders by time: each step a second apart.
      clock.advance(1000);
      expect((await send('POST', `/admin/api/users/${id}/disable`)).body).toMatchObject({ disabled: true });
      await expect(gatehouse.container.accounts.authenticate('api.user@example.com', PASSWORD)).rejects.toThrow();
      clock.advance(1000);
      expect((await send('POST', `/admin/api/users/${id}/enable`)).body).toMatchObject({ disabled: false });
      await expect(gatehouse.container.accounts.authenticate('api.user@example.com', PASSWORD)).resolves.toMatchObject({ id });
      clock.advance(1000);
      expect((await send('POST', '/admin/api/users/api.user@example.com/grant-admin')).body).toMatchObject({ admin: true });
      clock.advance(1000);
      expect((await send('POST', `/admin/api/users/${id}/revoke-admin`)).body).toMatchObject({ admin: false });
      clock.advance(1000);

      const page = await send('GET', `/admin/api/audit?user=${id}&limit=2`);
      expect((page.body.events as AuditJson[]).map((e) => e.type)).toEqual(['user.admin_revoked', 'user.admin_granted']);
      expect(page.body.next_offset).toBe(2);
      const next = await send('GET', `/admin/api/audit?user=${id}&limit=2&offset=2`);
      expect((next.body.events as AuditJson[]).map((e) => e.type)).toEqual(['user.enabled', 'user.disabled']);
      expect((await send('GET', `/admin/api/audit?type=user.created&user=${id}`)).body.events).toHaveLength(1);

      // The user signs in, then sets up an authenticator app (and loses the phone): the reset removes the factor and
      // ends the session.
      await notebook.login(new Browser(gatehouse.issuer), { login: 'api.user@example.com', password: PASSWORD });
      const { secret } = await gatehouse.container.mfa.startEnrolment(id, 'api.user@example.com');
      await gatehouse.container.mfa.activate(id, totpCode(secret, clock.now()));
      expect((await send('GET', `/admin/api/users/${id}`)).body).toMatchObject({ mfa_enabled: true, live_sessions: 1 });
      clock.advance(1000);
      expect((await send('POST', `/admin/api/users/${id}/reset-mfa`)).body).toMatchObject({ mfa_enabled: false, sessions_ended: 1 });
      expect((await gatehouse.container.mfa.status(id)).enabled).toBe(false);
      expect((await send('GET', `/admin/api/users/${id}`)).body).toMatchObject({ email: 'api.user@example.com', mfa_enabled: false, live_sessions: 0 });
      expect(((await send('GET', `/admin/api/audit?user=${id}&type=mfa.reset`)).body.events as AuditJson[]).map((e) => e.actor)).toEqual([{ type: 'admin', id: adminClientId }]);
    });

    it('validates the event type of an audit query as the console does', async () => {
      const refused = await send('GET', '/admin/api/audit?type=user.exploded');
      expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: expect.stringContaining('not an audit event type') } });
      expect((await send('GET', '/admin/api/audit?type=user.created&limit=1')).status).toBe(200);
    });

    it('pages users and clients with limit and offset', async () => {
      for (const n of [1, 2, 3]) {
        await gatehouse.container.accounts.createUser({ email: `apipager${n}@example.com`, password: PASSWORD });
        await gatehouse.container.clients.create({ name: `Api pager ${n}`, grantTypes: ['client_credentials'], scope: 'profile' });
      }
      const first = await send('GET', '/admin/api/users?q=apipager&limit=2');
      expect((first.body.users as { email: string }[]).map((u) => u.email)).toEqual(['apipager1@example.com', 'apipager2@example.com']);
      expect(first.body.next_offset).toBe(2);
      const second = await send('GET', '/admin/api/users?q=apipager&limit=2&offset=2');
      expect((second.body.users as { email: string }[]).map((u) => u.email)).toEqual(['apipager3@example.com']);
      expect(second.body.next_offset).toBeNull();
      const clients = await send('GET', '/admin/api/clients?q=api%20pager&limit=2&offset=1');
      expect((clients.body.clients as { client_name: string }[]).map((c) => c.client_name)).toEqual(['Api pager 2', 'Api pager 3']);
      expect(clients.body.next_offset).toBeNull();
      expect((await send('GET', '/admin/api/users?limit=101')).status).toBe(400);
      expect((await send('GET', '/admin/api/clients?offset=-1')).status).toBe(400);
    });
  });

  describe("a signed-in administrator's console session", () => {
    let people = 0;

    /** A user signed in to the console in a fresh browser (with an authenticator app when `mfa`). */
    async function consoleSession(options: { admin: boolean; mfa?: boolean }) {
      people += 1;
      const email = `person${people}@example.com`;
      const user = await gatehouse.container.accounts.createUser({ email, password: PASSWORD });
      if (options.admin) await gatehouse.container.accounts.setAdmin(email, true);
      let secret: string | undefined;
      if (options.mfa) {
        secret = (await gatehouse.container.mfa.startEnrolment(user.id, email)).secret;
        await gatehouse.container.mfa.activate(user.id, totpCode(secret, clock.now()));
        clock.advance(30_000);
      }
      const browser = new Browser(gatehouse.issuer);
      const login = expectPage(await browser.navigate('/admin/clients'));
      let page = expectPage(await browser.submit(login, /\/login$/, { login: email, password: PASSWORD }));
      if (secret) page = expectPage(await browser.submit(page, /\/otp$/, { code: totpCode(secret, clock.now()) }));
      return { browser, page, user, secret };
    }

    async function call(browser: Browser, method: string, path: string, options: { json?: unknown; csrf?: string; bearer?: string } = {}): Promise<ApiResponse> {
      const response = await browser.request(path, {
        method,
        ...(method === 'GET' ? {} : { json: options.json ?? {} }),
        headers: { accept: 'application/json', ...(options.csrf ? { 'x-csrf-token': options.csrf } : {}), ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}) },
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    }

    const csrfTokenOf = async (browser: Browser) => {
      const me = await call(browser, 'GET', '/admin/api/me');
      expect(me.status).toBe(200);
      return me.body.csrf_token as string;
    };

    it('reads with the session alone; writes need its CSRF token in X-CSRF-Token, and are audited with the user', async () => {
      const { browser, user } = await consoleSession({ admin: true });
      const me = await call(browser, 'GET', '/admin/api/me');
      expect(me.body).toMatchObject({ type: 'user', id: user.id, email: user.email, admin: true, csrf_token: expect.any(String) });
      expect((await call(browser, 'GET', '/admin/api/users')).status).toBe(200);
      // The same token as the console's forms.
      const consolePage = expectPage(await browser.navigate('/admin/users'));
      expect(consolePage.html).toContain(`value="${me.body.csrf_token as string}"`);

      const body = { email: 'by-session@example.com', password: PASSWORD };
      const missing = await call(browser, 'POST', '/admin/api/users', { json: body });
      expect(missing).toMatchObject({ status: 403, body: { error: 'invalid_request', error_description: expect.stringContaining('X-CSRF-Token') } });
      expect((await call(browser, 'POST', '/admin/api/users', { json: body, csrf: 'forged' })).status).toBe(403);
      await expect(gatehouse.container.accounts.getByEmail('by-session@example.com')).rejects.toThrow('No user');

      const created = await call(browser, 'POST', '/admin/api/users', { json: body, csrf: me.body.csrf_token as string });
      expect(created).toMatchObject({ status: 201, body: { email: 'by-session@example.com' } });
      const events = await gatehouse.container.audit.list({ userId: created.body.id as string, types: ['user.created'] });
      expect(events.map((e) => e.actor)).toEqual([{ type: 'admin', id: `user:${user.id}` }]);
    });

    it("refuses a write of an admin with an authenticator app whose last code is not recent, until they confirm it is them", async () => {
      const { browser, secret } = await consoleSession({ admin: true, mfa: true });
      const csrf = await csrfTokenOf(browser);
      clock.advance(5 * MINUTE + 1000);
      const stale = await call(browser, 'POST', '/admin/api/users', { json: { email: 'stale@example.com', password: PASSWORD }, csrf });
      expect(stale).toMatchObject({ status: 403, body: { error: 'insufficient_user_authentication', error_description: expect.stringContaining('/account/confirm') } });
      await expect(gatehouse.container.accounts.getByEmail('stale@example.com')).rejects.toThrow('No user');
      // Reads need no fresh check.
      expect((await call(browser, 'GET', '/admin/api/users')).status).toBe(200);

      const confirm = expectPage(await browser.navigate('/account/confirm?return_to=/admin/users'));
      clock.advance(30_000);
      expectPage(await browser.submit(confirm, /\/account\/confirm$/, { code: totpCode(secret!, clock.now()) }));
      expect((await call(browser, 'POST', '/admin/api/users', { json: { email: 'stale@example.com', password: PASSWORD }, csrf })).status).toBe(201);
    });

    it('refuses the session of a user who is not an administrator, reads and writes alike', async () => {
      const { browser } = await consoleSession({ admin: false });
      for (const [method, path] of [['GET', '/admin/api/users'], ['GET', '/admin/api/me'], ['POST', '/admin/api/users']] as const) {
        const refused = await call(browser, method, path, { json: { email: 'nope@example.com', password: PASSWORD } });
        expect(refused).toMatchObject({ status: 403, body: { error: 'access_denied' } });
      }
      await expect(gatehouse.container.accounts.getByEmail('nope@example.com')).rejects.toThrow('No user');
    });

    it('keeps tokens to the token rules: a bad token is refused even with an admin session, a good one needs no CSRF token', async () => {
      const { browser } = await consoleSession({ admin: true });
      const refused = await call(browser, 'GET', '/admin/api/users', { bearer: 'not-a-token' });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      const ok = await call(browser, 'POST', '/admin/api/users', { bearer: adminToken, json: { email: 'by-token@example.com', password: PASSWORD } });
      expect(ok.status).toBe(201);
      expect((await gatehouse.container.audit.list({ userId: ok.body.id as string, types: ['user.created'] }))[0]!.actor).toEqual({ type: 'admin', id: adminClientId });
    });

    it('applies both write guards to every write route of the API for sessions, changing nothing', async () => {
      const { browser } = await consoleSession({ admin: true, mfa: true });
      const csrf = await csrfTokenOf(browser);
      const app = gatehouse.container.provider as unknown as { middleware: { router?: Router }[] };
      const api = app.middleware.map((m) => m.router).find((r) => r?.stack.some((layer) => layer.path === '/admin/api/users'))!;
      const writes = api.stack.flatMap((layer) => layer.methods.filter((m) => ['POST', 'PATCH', 'PUT', 'DELETE'].includes(m)).map((method) => [method, String(layer.path)] as const))
        .filter(([, path]) => path.startsWith('/admin/api/'));
      expect(writes.length).toBeGreaterThanOrEqual(13);
      const someone = await gatehouse.container.accounts.createUser({ email: `guarded${people}@example.com`, password: PASSWORD });
      const { client } = await gatehouse.container.clients.create({ name: 'Guarded', grantTypes: ['client_credentials'], scope: 'profile' });
      const concrete = (path: string) => path.replace(':clientId', client.clientId).replace(':sessionId', 'no-such-session').replace(':id', path.includes('logout-deliveries') ? '00000000-0000-4000-8000-000000000000' : someone.id);
      const auditBefore = (await gatehouse.container.audit.list({ limit: 1000 })).length;
      for (const [method, path] of writes) {
        const without = await call(browser, method, concrete(path), { json: { client_name: 'Changed', email: 'x@example.com', password: PASSWORD } });
        expect([method, path, without.status, without.body.error]).toEqual([method, path, 403, 'invalid_request']);
      }
      clock.advance(5 * MINUTE + 1000);
      for (const [method, path] of writes) {
        const stale = await call(browser, method, concrete(path), { csrf, json: { client_name: 'Changed', email: 'x@example.com', password: PASSWORD } });
        expect([method, path, stale.status, stale.body.error]).toEqual([method, path, 403, 'insufficient_user_authentication']);
      }
      expect((await gatehouse.container.audit.list({ limit: 1000 })).length).toBe(auditBefore);
      expect((await gatehouse.container.clients.get(client.clientId)).name).toBe('Guarded');
      expect(await gatehouse.container.accounts.getByEmail(someone.email)).toMatchObject({ disabledAt: null, admin: false });
    });
  });

  it('answers an unknown admin API path with a JSON 404', async () => {
    const response = await api('GET', '/admin/api/nothing-here');
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ error: 'invalid_request' });
  });
});
