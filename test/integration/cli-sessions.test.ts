import * as oidc from 'openid-client';
import { Browser, signIn } from '../support/browser.js';
import { runCli, type CliResult } from '../support/cli.js';
import { totpCode } from '../support/mfa-fakes.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

const SECRET = 'cli-sessions-test-secret-0123456789abcdefghijklmnop';
const PASSWORD = 'correct horse battery staple';
const REDIRECT_URI = 'http://127.0.0.1:9/notebook/callback';


describe.each(databaseKinds())('gatehouse sessions and audit commands (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let notebook: oidc.Configuration;
  let users = 0;

  function cli(args: string[]): Promise<CliResult> {
    return runCli(gatehouse, SECRET, args);
  }

  async function json(args: string[]) {
    const result = await cli([...args, '--json']);
    if (result.code !== 0) throw new Error(`gatehouse ${args.join(' ')} exited with ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  }

  /** A new user signed in on `count` browsers, each a session with a refresh token of the notebook. */
  async function userWithSessions(count: number) {
    users += 1;
    const email = `person${users}@example.com`;
    await gatehouse.container.accounts.createUser({ email, password: PASSWORD });
    const refreshTokens: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(notebook, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid offline_access',
        prompt: 'consent',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      const callback = await signIn(new Browser(gatehouse.issuer), url, { login: email, password: PASSWORD });
      refreshTokens.push((await oidc.authorizationCodeGrant(notebook, callback, { pkceCodeVerifier: verifier, expectedState: state })).refresh_token!);
    }
    return { email, refreshTokens };
  }

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind, { secret: SECRET });
    const { client, secret } = await gatehouse.container.clients.create({ name: 'Notebook', redirectUris: [REDIRECT_URI], firstParty: true });
    notebook = await oidc.discovery(new URL(gatehouse.issuer), client.clientId, secret!, undefined, { execute: [oidc.allowInsecureRequests] });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it("resets a user's second factor, ending their sessions, with an audit trail", async () => {
    const { email, refreshTokens } = await userWithSessions(1);
    const user = await gatehouse.container.accounts.getByEmail(email);
    const enrolment = await gatehouse.container.mfa.startEnrolment(user.id, email);
    await gatehouse.container.mfa.activate(user.id, totpCode(enrolment.secret, Date.now()));
    expect((await gatehouse.container.mfa.status(user.id)).enabled).toBe(true);

    const reset = await json(['users', 'reset-mfa', email]);
    expect(reset).toMatchObject({ email, mfa_enabled: false, sessions_ended: 1 });
    expect(await gatehouse.container.mfa.status(user.id)).toMatchObject({ enabled: false, recoveryCodesLeft: 0 });
    await expect(oidc.refreshTokenGrant(notebook, refreshTokens[0]!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const types = (await gatehouse.container.audit.list({ userId: user.id })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['mfa.reset', 'session.ended_by_mfa_reset']));
    expect((await cli(['users', 'reset-mfa', 'nobody@example.com'])).code).toBe(3);
  });

  it("lists a user's live sessions as a table and as JSON", async () => {
    const { email } = await userWithSessions(2);
    const listed = await json(['sessions', 'list', '--user', email]);
    expect(listed.email).toBe(email);
    expect(listed.sessions).toHaveLength(2);
    for (const session of listed.sessions) {
      expect(session).toMatchObject({ id: expect.any(String), user_id: listed.user_id, ip_created: '127.0.0.1', amr: ['pwd'], ended_at: null, end_reason: null });
      expect(session.clients).toEqual([{ client_id: notebook.clientMetadata().client_id, sid: expect.any(String), first_seen_at: expect.any(String) }]);
    }
    // The user's id names them too.
    expect((await json(['sessions', 'list', '--user', listed.user_id])).sessions).toHaveLength(2);

    const table = await cli(['sessions', 'list', '--user', email]);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^SESSION\s+DEVICE\s+IP\s+CREATED\s+LAST SEEN\s+AMR\s+CLIENTS$/);
    expect(rows.map((row) => row.split(/\s+/)[0]).sort()).toEqual(listed.sessions.map((s: { id: string }) => s.id).sort());

    const { email: nobody } = await userWithSessions(0);
    expect((await cli(['sessions', 'list', '--user', nobody])).stdout).toMatch(/has no live sessions/);
  });

  it('revokes one session: its refresh token stops working and the audit names the CLI', async () => {
    const { email, refreshTokens } = await userWithSessions(2);
    const { sessions } = await json(['sessions', 'list', '--user', email]);
    const target = sessions[0].id;
    expect(await json(['sessions', 'revoke', target])).toEqual({ session_id: target, ended: true });

    const outcomes = await Promise.all(refreshTokens.map((token) => oidc.refreshTokenGrant(notebook, token).then(() => 'ok', (e: { error?: string }) => e.error)));
    expect(outcomes.sort()).toEqual(['invalid_grant', 'ok']);
    expect((await json(['sessions', 'list', '--user', email])).sessions.map((s: { id: string }) => s.id)).toEqual([sessions[1].id]);

    const { events } = await json(['audit', '--user', email]);
    expect(events.filter((e: { type: string }) => e.type === 'session.revoked_by_admin')).toEqual([
      expect.objectContaining({ session_id: target, actor: { type: 'admin', id: 'cli' } }),
    ]);

    const again = await cli(['sessions', 'revoke', target]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/had already ended/);
  });

  it('revokes every session of a user', async () => {
    const { email, refreshTokens } = await userWithSessions(3);
    const human = await cli(['sessions', 'revoke-all', '--user', email]);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(`Ended 3 sessions of ${email}.\n`);
    for (const token of refreshTokens) await expect(oidc.refreshTokenGrant(notebook, token)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await json(['sessions', 'revoke-all', '--user', email])).toMatchObject({ email, ended: 0 });
  });

  it('shows the audit trail newest first, from a date or a duration back, up to a limit', async () => {
    const { email } = await userWithSessions(2);
    await json(['sessions', 'revoke-all', '--user', email]);

    // session.refreshed may come and go with how sign-in records re-authentication; these tests are not about it.
    const { events: all } = await json(['audit', '--user', email]);
    const events = all.filter((e: { type: string }) => e.type !== 'session.refreshed');
    expect(events.map((e: { type: string }) => e.type)).toEqual(['session.revoked_by_admin', 'session.revoked_by_admin', 'session.created', 'session.created']);
    expect(events[0]).toEqual({
      id: expect.any(String),
      at: expect.any(String),
      type: 'session.revoked_by_admin',
      actor: { type: 'admin', id: 'cli' },
      user_id: expect.any(String),
      session_id: expect.any(String),
      client_id: null,
      ip: null,
      user_agent: null,
      details: null,
    });

    expect((await json(['audit', '--user', email, '--since', '1h'])).events).toHaveLength(all.length);
    expect((await json(['audit', '--user', email, '--limit', '1'])).events.map((e: { type: string }) => e.type)).toEqual(['session.revoked_by_admin']);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await json(['audit', '--user', email, '--since', future])).events).toEqual([]);
    const lastEvent = events[0].at as string;
    expect((await json(['audit', '--user', email, '--since', lastEvent])).events.every((e: { at: string }) => e.at >= lastEvent)).toBe(true);

    const table = await cli(['audit', '--user', email, '--since', '7d']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^AT\s+EVENT\s+ACTOR\s+SESSION\s+IP\s+DETAILS$/);
    expect(table.stdout).toContain('admin:cli');
    expect((await cli(['audit', '--user', email, '--since', future])).stdout).toMatch(/^No audit events for /);
  });

  it.each([
    [['audit', '--user', 'x@example.com', '--since', 'yesterday'], /--since must be an ISO 8601 date or time .* or a duration/],
    [['audit', '--user', 'x@example.com', '--since', '2026-13-45'], /--since must be/],
    [['audit', '--user', 'x@example.com', '--since', '24x'], /--since must be/],
    [['audit', '--user', 'x@example.com', '--limit', '0'], /--limit must be a whole number from 1 to 1000/],
    [['audit', '--user', 'x@example.com', '--limit', 'many'], /--limit must be/],
    [['audit', '--since', '24h'], /--user is required/],
    [['audit', '--user', 'not-an-email@'], /valid email/],
    [['sessions', 'list'], /--user is required/],
    [['sessions', 'revoke'], /usage: gatehouse sessions revoke SESSION_ID/],
    [['sessions', 'revoke-all', '--user', 'x@example.com', 'extra'], /usage: gatehouse sessions revoke-all/],
    [['sessions', 'frobnicate'], /unknown command "sessions frobnicate"; expected one of: list, revoke, revoke-all/],
    [['sessions', 'constructor'], /unknown command "sessions constructor"/],
  ])('refuses %j with a one-line message and exit code 2', async (args, message) => {
    const result = await cli([...args]);
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('gatehouse:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [['sessions', 'list', '--user', 'ghost@example.com'], /No user with email ghost@example.com/],
    [['sessions', 'list', '--user', 'no-such-user-id'], /No user with id no-such-user-id/],
    [['sessions', 'revoke-all', '--user', 'ghost@example.com'], /No user with email/],
    [['sessions', 'revoke', 'no-such-session'], /No session with id no-such-session/],
    [['audit', '--user', 'ghost@example.com', '--since', '24h'], /No user with email/],
  ])('reports %j as not found with exit code 3', async (args, message) => {
    const result = await cli([...args]);
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toMatch(message);
  });
});
