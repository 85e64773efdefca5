import * as oidc from 'openid-client';
import { runCli, type CliResult } from '../support/cli.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

const SECRET = 'cli-test-secret-0123456789abcdefghijklmnopqrstuvwxyz';


describe.each(databaseKinds())('gatehouse CLI against a running server (%s)', (kind) => {
  let gatehouse: TestGatehouse;

  function cli(args: string[], stdin?: string): Promise<CliResult> {
    return runCli(gatehouse, SECRET, args, stdin);
  }

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind, { secret: SECRET });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('creates, shows, disables and enables users, reading the password from stdin', async () => {
    const created = await cli(['users', 'create', '--email', 'Grace@Example.com', '--password-stdin', '--name', 'Grace Hopper', '--json'], 'compilers are fun\n');
    expect(created.code).toBe(0);
    const user = JSON.parse(created.stdout);
    expect(user).toMatchObject({ email: 'grace@example.com', name: 'Grace Hopper', disabled: false });
    expect(created.stdout + created.stderr).not.toContain('compilers are fun');

    // The password taken from stdin (without its newline) is the one that works.
    await expect(gatehouse.container.accounts.authenticate('grace@example.com', 'compilers are fun')).resolves.toMatchObject({ id: user.id });

    const list = await cli(['users', 'list', '--json']);
    expect(JSON.parse(list.stdout).map((u: { email: string }) => u.email)).toContain('grace@example.com');

    expect((await cli(['users', 'disable', 'grace@example.com'])).code).toBe(0);
    expect(JSON.parse((await cli(['users', 'show', 'grace@example.com', '--json'])).stdout).disabled).toBe(true);
    expect((await cli(['users', 'enable', 'grace@example.com'])).code).toBe(0);
    expect(JSON.parse((await cli(['users', 'show', 'grace@example.com', '--json'])).stdout).disabled).toBe(false);

    expect((await cli(['users', 'set-password', 'grace@example.com', '--password-stdin'], 'a brand new password')).code).toBe(0);
    await expect(gatehouse.container.accounts.authenticate('grace@example.com', 'a brand new password')).resolves.toBeDefined();
  });

  it('grants and revokes the admin console, audited, with --json like the other users commands', async () => {
    expect((await cli(['users', 'create', '--email', 'ada@example.com', '--password-stdin'], 'analytical engine\n')).code).toBe(0);
    const granted = await cli(['users', 'grant-admin', 'Ada@Example.com', '--json']);
    expect(granted.code).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({ email: 'ada@example.com', admin: true });
    expect((await cli(['users', 'list'])).stdout).toMatch(/ada@example\.com\s+-\s+active, admin/);
    // Idempotent: a second grant changes nothing and records nothing.
    expect((await cli(['users', 'grant-admin', 'ada@example.com'])).stdout).toBe('ada@example.com may use the admin console\n');

    const revoked = await cli(['users', 'revoke-admin', 'ada@example.com']);
    expect(revoked).toMatchObject({ code: 0, stdout: 'ada@example.com may no longer use the admin console\n' });
    expect(JSON.parse((await cli(['users', 'show', 'ada@example.com', '--json'])).stdout).admin).toBe(false);

    const user = await gatehouse.container.accounts.getByEmail('ada@example.com');
    const events = await gatehouse.container.audit.list({ userId: user.id, types: ['user.created', 'user.admin_granted', 'user.admin_revoked'] });
    expect(events.map((e) => [e.type, e.actor.type, e.actor.id])).toEqual([
      ['user.admin_revoked', 'admin', 'cli'],
      ['user.admin_granted', 'admin', 'cli'],
      ['user.created', 'admin', 'cli'],
    ]);
    expect((await cli(['users', 'grant-admin', 'ghost@example.com'])).code).toBe(3);
    expect((await cli(['users', 'grant-admin'])).code).toBe(2);
  });

  it('registers a client that works at once, without a restart, and rotates its secret', async () => {
    const created = await cli([
      'clients', 'create', '--name', 'Reporting job', '--grant-type', 'client_credentials', '--scope', 'openid', '--json',
    ]);
    expect(created.code).toBe(0);
    const client = JSON.parse(created.stdout);
    expect(client.client_secret).toEqual(expect.any(String));

    const config = await oidc.discovery(new URL(gatehouse.issuer), client.client_id, client.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
    const tokens = await oidc.clientCredentialsGrant(config);
    expect(tokens.access_token).toEqual(expect.any(String));

    const rotated = await cli(['clients', 'rotate-secret', client.client_id, '--json']);
    const { client_secret: newSecret } = JSON.parse(rotated.stdout);
    expect(newSecret).not.toBe(client.client_secret);
    await expect(oidc.clientCredentialsGrant(config)).rejects.toMatchObject({ error: 'invalid_client' });
    const rotatedConfig = await oidc.discovery(new URL(gatehouse.issuer), client.client_id, newSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    await expect(oidc.clientCredentialsGrant(rotatedConfig)).resolves.toHaveProperty('access_token');

    expect((await cli(['clients', 'delete', client.client_id])).code).toBe(0);
    await expect(oidc.clientCredentialsGrant(rotatedConfig)).rejects.toMatchObject({ error: 'invalid_client' });
    expect((await cli(['clients', 'show', client.client_id])).code).toBe(3);
  });

  it('audits every client write with the CLI as actor, as the console and the admin API audit theirs', async () => {
    const created = JSON.parse((await cli(['clients', 'create', '--name', 'Audited job', '--grant-type', 'client_credentials', '--scope', 'profile', '--json'])).stdout);
    const id = created.client_id as string;
    expect((await cli(['clients', 'update', id, '--name', 'Audited job v2'])).code).toBe(0);
    expect((await cli(['clients', 'rotate-secret', id])).code).toBe(0);
    expect((await cli(['clients', 'delete', id])).code).toBe(0);
    // A refused write records nothing.
    expect((await cli(['clients', 'update', id, '--name', 'Gone'])).code).toBe(3);
    const events = await gatehouse.container.audit.list({ clientId: id });
    expect(events.map((e) => [e.type, e.actor.type, e.actor.id])).toEqual([
      ['client.deleted', 'admin', 'cli'],
      ['client.secret_rotated', 'admin', 'cli'],
      ['client.updated', 'admin', 'cli'],
      ['client.created', 'admin', 'cli'],
    ]);
    expect(events.at(-1)!.details).toEqual({ name: 'Audited job' });
  });

  it('accepts repeatable flags and updates a client', async () => {
    const created = await cli([
      'clients', 'create', '--name', 'Web', '--redirect-uri', 'https://app.example.com/cb', '--redirect-uri', 'https://app.example.com/cb2',
      '--post-logout-redirect-uri', 'https://app.example.com/bye', '--grant-type', 'authorization_code', '--grant-type', 'refresh_token',
      '--backchannel-logout-uri', 'https://app.example.com/backchannel', '--first-party', '--min-acr', 'urn:gatehouse:loa:2', '--json',
    ]);
    expect(created.code).toBe(0);
    const client = JSON.parse(created.stdout);
    expect(client).toMatchObject({
      redirect_uris: ['https://app.example.com/cb', 'https://app.example.com/cb2'],
      post_logout_redirect_uris: ['https://app.example.com/bye'],
      grant_types: ['authorization_code', 'refresh_token'],
      backchannel_logout_uri: 'https://app.example.com/backchannel',
      first_party: true,
      public: false,
      min_acr: 'urn:gatehouse:loa:2',
    });
    expect((await cli(['clients', 'show', client.client_id])).stdout).toContain('minimum level (acr):        urn:gatehouse:loa:2');

    const updated = await cli(['clients', 'update', client.client_id, '--name', 'Web app', '--no-first-party', '--backchannel-logout-uri', '', '--min-acr', '', '--json']);
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ client_name: 'Web app', first_party: false, backchannel_logout_uri: null, min_acr: null, redirect_uris: client.redirect_uris });

    const listed = JSON.parse((await cli(['clients', 'list', '--json'])).stdout);
    expect(listed.map((c: { client_id: string }) => c.client_id)).toContain(client.client_id);
  });

  it('registers an admin client that obtains the admin scope and calls the admin API, and demotes it', async () => {
    const created = await cli(['clients', 'create', '--name', 'Ops console', '--admin', '--json']);
    expect(created.code).toBe(0);
    const client = JSON.parse(created.stdout);
    expect(client).toMatchObject({ admin: true, grant_types: ['client_credentials'], scope: 'admin', public: false, client_secret: expect.any(String) });
    expect((await cli(['clients', 'show', client.client_id])).stdout).toMatch(/^admin:\s+yes/m);
    expect((await cli(['clients', 'list'])).stdout).toMatch(new RegExp(`^${client.client_id}\\s+Ops console\\s+confidential, admin\\s+client_credentials$`, 'm'));

    const config = await oidc.discovery(new URL(gatehouse.issuer), client.client_id, client.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'admin' });
    expect(tokens.scope).toBe('admin');
    const user = await gatehouse.container.accounts.createUser({ email: 'audited@example.com', password: 'password one two' });
    const sessionsOf = (token: string) => fetch(`${gatehouse.issuer}/admin/api/users/${user.id}/sessions`, { headers: { authorization: `Bearer ${token}` } });
    const response = await sessionsOf(tokens.access_token);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ user_id: user.id, sessions: [] });

    const demoted = await cli(['clients', 'update', client.client_id, '--no-admin', '--scope', 'profile', '--json']);
    expect(demoted.code).toBe(0);
    expect(JSON.parse(demoted.stdout)).toMatchObject({ admin: false, scope: 'profile' });
    // Its token from before is refused at once, and it cannot obtain the admin scope any more.
    expect((await sessionsOf(tokens.access_token)).status).toBe(403);
    await expect(oidc.clientCredentialsGrant(config, { scope: 'admin' })).rejects.toMatchObject({ error: 'invalid_scope' });

    const promoted = await cli(['clients', 'update', client.client_id, '--admin', '--json']);
    expect(JSON.parse(promoted.stdout)).toMatchObject({ admin: true, scope: 'profile admin' });
  });

  it('demotes an admin client whose only scope is admin with --no-admin alone: its admin token stops at once', async () => {
    const client = JSON.parse((await cli(['clients', 'create', '--name', 'Only admin', '--admin', '--json'])).stdout);
    const config = await oidc.discovery(new URL(gatehouse.issuer), client.client_id, client.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
    const { access_token: token } = await oidc.clientCredentialsGrant(config, { scope: 'admin' });
    const clientsWith = (bearer: string) => fetch(`${gatehouse.issuer}/admin/api/clients`, { headers: { authorization: `Bearer ${bearer}` } });
    expect((await clientsWith(token)).status).toBe(200);

    const demoted = await cli(['clients', 'update', client.client_id, '--no-admin', '--json']);
    expect(demoted.code).toBe(0);
    expect(JSON.parse(demoted.stdout)).toMatchObject({ admin: false, scope: 'openid', grant_types: ['client_credentials'] });
    expect((await clientsWith(token)).status).toBe(403);
    await expect(oidc.clientCredentialsGrant(config, { scope: 'admin' })).rejects.toMatchObject({ error: 'invalid_scope' });
    // What it can still obtain carries no admin scope and opens nothing.
    const scopeless = await oidc.clientCredentialsGrant(config, {});
    expect(scopeless.scope ?? '').not.toContain('admin');
    expect((await clientsWith(scopeless.access_token)).status).toBe(403);
  });

  it("refuses to change or delete Gatehouse's own account client", async () => {
    for (const args of [['clients', 'delete', 'gatehouse-account'], ['clients', 'update', 'gatehouse-account', '--name', 'Mine'], ['clients', 'rotate-secret', 'gatehouse-account']]) {
      const result = await cli(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/belongs to Gatehouse itself/);
    }
    expect(JSON.parse((await cli(['clients', 'show', 'gatehouse-account', '--json'])).stdout)).toMatchObject({ client_name: 'Gatehouse account' });
  });

  it('creates public clients without a secret', async () => {
    const created = await cli(['clients', 'create', '--name', 'SPA', '--redirect-uri', 'http://localhost:5173/cb', '--public', '--json']);
    expect(created.code).toBe(0);
    const client = JSON.parse(created.stdout);
    expect(client).toMatchObject({ public: true, token_endpoint_auth_method: 'none' });
    expect(client.client_secret).toBeUndefined();
  });

  it.each([
    [['clients', 'create', '--name', 'X', '--redirect-uri', 'not-a-url'], /--redirect-uri: not-a-url is not an absolute URL/],
    [['clients', 'create', '--name', 'X', '--redirect-uri', 'https://a.example/cb', '--grant-type', 'implicit'], /implicit is not one of/],
    [['clients', 'create', '--name', 'X', '--redirect-uri', 'https://a.example/cb', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['clients', 'create', '--redirect-uri', 'https://a.example/cb'], /--name is required/],
    [['clients', 'create', '--name', 'X', '--public', '--grant-type', 'client_credentials'], /public client cannot use client_credentials/],
    [['clients', 'create', '--name', 'X', '--redirect-uri', 'https://a.example/cb', '--token-endpoint-auth-method', 'private_key_jwt'], /--jwks-uri: private_key_jwt needs a JWKS URI/],
    [['clients', 'create', '--name', 'X', '--grant-type', 'client_credentials', '--scope', 'admin'], /--scope: Only an admin client may have the admin scope/],
    [['clients', 'create', '--name', 'X', '--admin', '--grant-type', 'authorization_code', '--redirect-uri', 'https://a.example/cb'], /admin client needs the client_credentials grant type/],
    [['clients', 'create', '--name', 'X', '--no-admin'], /--no-admin are for clients update/],
    [['clients', 'create', '--name', 'X', '--redirect-uri', 'https://a.example/cb', '--min-acr', 'loa2'], /loa2 is not one of urn:gatehouse:loa:1, urn:gatehouse:loa:2/],
    [['clients', 'create', '--name', 'X', '--admin', '--min-acr', 'urn:gatehouse:loa:2'], /minimum authentication level applies to clients that sign users in/],
    [['clients', 'update', 'some-client', '--admin', '--no-admin'], /--admin and --no-admin cannot be combined/],
    [['users', 'create', '--email', 'not-an-email', '--password-stdin'], /valid email/],
    [['users', 'create', '--email', 'short@example.com', '--password-stdin'], /at least 12 characters/],
    [['users', 'create', '--email', 'x@example.com'], /--password-stdin is required/],
    [['users', 'frobnicate'], /unknown command "users frobnicate"/],
    [['nonsense'], /unknown command "nonsense"/],
  ])('refuses %j with a one-line message and exit code 2', async (args, message) => {
    const result = await cli([...args], 'short');
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('gatehouse:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a common or leaked password (ignoring case and decoration) on create and set-password, exit 2, saving nothing', async () => {
    const message = 'gatehouse: This password is on a list of common or leaked passwords, which attackers try first. Choose another one.\n';
    for (const password of ['Password123!', 'qwerty123456\n', 'monkeymonkey']) {
      const refused = await cli(['users', 'create', '--email', 'common@example.com', '--password-stdin'], password);
      expect(refused).toMatchObject({ code: 2 });
      expect(refused.stderr.split('\n').filter((line) => line.startsWith('gatehouse:'))).toEqual([message.trim()]);
    }
    expect((await cli(['users', 'show', 'common@example.com'])).code).toBe(3);

    expect((await cli(['users', 'create', '--email', 'common@example.com', '--password-stdin'], 'a fine long passphrase')).code).toBe(0);
    const reset = await cli(['users', 'set-password', 'common@example.com', '--password-stdin'], 'Iloveyou2024');
    expect(reset.code).toBe(2);
    expect(reset.stderr).toContain(message);
    await expect(gatehouse.container.accounts.authenticate('common@example.com', 'a fine long passphrase')).resolves.toBeDefined();
    expect((await cli(['users', 'set-password', 'common@example.com', '--password-stdin'], 'eleven char')).stderr).toContain('at least 12 characters');
  });

  it('reports a duplicate user with exit code 4 and an unknown one with 3', async () => {
    await cli(['users', 'create', '--email', 'dup@example.com', '--password-stdin'], 'password one two');
    const again = await cli(['users', 'create', '--email', 'dup@example.com', '--password-stdin'], 'password one two');
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/already exists/);
    expect((await cli(['users', 'disable', 'ghost@example.com'])).code).toBe(3);
  });

  it('lists and rotates signing keys, and migrates idempotently', async () => {
    const before = JSON.parse((await cli(['keys', 'list', '--json'])).stdout);
    expect(before.filter((k: { current: boolean }) => k.current).map((k: { alg: string }) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    const rotated = JSON.parse((await cli(['keys', 'rotate', '--json'])).stdout);
    expect(rotated).toHaveLength(2);
    const after = JSON.parse((await cli(['keys', 'list', '--json'])).stdout);
    expect(after.filter((k: { current: boolean }) => k.current).map((k: { kid: string }) => k.kid).sort()).toEqual(rotated.map((k: { kid: string }) => k.kid).sort());
    expect(after.filter((k: { current: boolean }) => !k.current).length).toBeGreaterThanOrEqual(2);

    const migrate = await cli(['db', 'migrate', '--json']);
    expect(migrate.code).toBe(0);
    expect(JSON.parse(migrate.stdout).applied).toEqual([]);
  });
});
