import * as oidc from 'openid-client';
import { Browser } from '../support/browser.js';
import { TestClock } from '../support/clock.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
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
      expect((await send('PATCH', `/admin/api/clients/${id}`, { client_name: 'Billing v2', scope: 'openid' })).body).toMatchObject({ client_name: 'Billing v2', scope: 'openid' });
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
        ['client.created', adminClientId],
      ]);
    });

    it('creates, searches, disables, enables users, grants and revokes admin, resets the second factor', async () => {
      const created = await send('POST', '/admin/api/users', { email: 'Api.User@Example.com', password: PASSWORD, name: 'Api User' });
      expect(created).toMatchObject({ status: 201, body: { email: 'api.user@example.com', admin: false } });
      expect((await send('POST', '/admin/api/users', { email: 'api.user@example.com', password: PASSWORD })).status).toBe(409);
      expect((await send('POST', '/admin/api/users', { email: 'short@example.com', password: 'short' })).status).toBe(400);
      expect(((await send('GET', '/admin/api/users?q=api.user')).body.users as { email: string }[]).map((u) => u.email)).toEqual(['api.user@example.com']);

      const id = created.body.id as string;
      // The audit log orders by time: each step a second apart.
      clock.advance(1000);
      expect((await send('POST', `/admin/api/users/${id}/disable`)).body).toMatchObject({ disabled: true });
      clock.advance(1000);
      expect((await send('POST', `/admin/api/users/${id}/enable`)).body).toMatchObject({ disabled: false });
      clock.advance(1000);
      expect((await send('POST', '/admin/api/users/api.user@example.com/grant-admin')).body).toMatchObject({ admin: true });
      clock.advance(1000);
      expect((await send('POST', `/admin/api/users/${id}/revoke-admin`)).body).toMatchObject({ admin: false });
      clock.advance(1000);
      expect((await send('POST', `/admin/api/users/${id}/reset-mfa`)).body).toMatchObject({ mfa_enabled: false, sessions_ended: 0 });
      clock.advance(1000);
      expect((await send('GET', `/admin/api/users/${id}`)).body).toMatchObject({ email: 'api.user@example.com', mfa_enabled: false, live_sessions: 0 });

      const page = await send('GET', `/admin/api/audit?user=${id}&limit=2`);
      expect((page.body.events as AuditJson[]).map((e) => e.type)).toEqual(['mfa.reset', 'user.admin_revoked']);
      expect(page.body.next_offset).toBe(2);
      const next = await send('GET', `/admin/api/audit?user=${id}&limit=2&offset=2`);
      expect((next.body.events as AuditJson[]).map((e) => e.type)).toEqual(['user.admin_granted', 'user.enabled']);
      expect((await send('GET', `/admin/api/audit?type=user.created&user=${id}`)).body.events).toHaveLength(1);
    });
  });

  it('answers an unknown admin API path with a JSON 404', async () => {
    const response = await api('GET', '/admin/api/nothing-here');
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ error: 'invalid_request' });
  });
});
