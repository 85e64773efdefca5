import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { Browser, expectPage, findForm, signIn, type Page } from '../support/browser.js';
import { runCli, type CliResult } from '../support/cli.js';
import { breakInserts, refuseRowsWithDetail } from '../support/database-faults.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { totpCode } from '../support/mfa-fakes.js';
import { createDb, type Db } from '../../src/store/prisma/database.js';

const insecure = { execute: [oidc.allowInsecureRequests] };
const REDIRECT_URI = 'http://127.0.0.1:9/notebook/callback';

/** A value no Gatehouse output would contain by chance. */
const secretValue = (kind: string) => `${kind}-${randomBytes(12).toString('base64url')}`;

/**
 * The forms a secret can take in a log: as it is, URL- and form-encoded, JSON-escaped, and base64/base64url (a Basic
 * authorization header, a cookie) — at each of the three alignments base64 can put it at inside a longer value,
 * without the edge characters its neighbours change.
 */
function forms(secret: string): string[] {
  const found = new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2), JSON.stringify(secret).slice(1, -1)]);
  for (const offset of [0, 1, 2]) {
    const padded = Buffer.concat([Buffer.alloc(offset, 0x3a), Buffer.from(secret)]);
    const skip = Math.ceil((offset * 4) / 3) + (offset ? 1 : 0);
    for (const encoding of ['base64', 'base64url'] as const) {
      const encoded = padded.toString(encoding).replace(/=+$/, '');
      found.add(encoded.slice(skip, encoded.length - 2));
    }
  }
  return [...found].filter((form) => form.length >= 8);
}

describe.each(databaseKinds())('no secret reaches the log or the CLI\'s output, on any error path (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  /** A connection of the test's own, to inject database faults. */
  let db: Db;
  const gatehouseSecret = 'test-secret-' + randomBytes(24).toString('base64url');
  /** Every secret sent or issued, by what it is. */
  const secrets = new Map<string, string>();
  const cliOutput: CliResult[] = [];
  /** Responses that were a 5xx while no fault was injected, or not what the route promises. */
  const unexpected: string[] = [];
  const expectStatus = (label: string, status: number, allowed: number[]) => {
    if (!allowed.includes(status)) unexpected.push(`${label}: ${status}, expected ${allowed.join(' or ')}`);
  };

  const remember = (name: string, value: string | undefined | null) => {
    if (value) secrets.set(name, value);
    return value ?? '';
  };
  const secret = (name: string) => remember(name, secretValue(name));
  const url = (path: string) => new URL(path, gatehouse.issuer);

  async function send(label: string, path: string, init: RequestInit & { faulty?: boolean } = {}): Promise<Response> {
    const response = await fetch(url(path), { redirect: 'manual', ...init });
    await response.clone().arrayBuffer();
    if (response.status >= 500 && !init.faulty) unexpected.push(`${label}: ${response.status}`);
    return response;
  }

  const basic = (id: string, value: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(value)}`).toString('base64')}`;
  const formBody = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const FORM = 'application/x-www-form-urlencoded';

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind, { secret: gatehouseSecret, env: { LOG_LEVEL: 'trace' } });
    db = createDb(gatehouse.database);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await gatehouse?.stop();
  });

  it('sends secrets through every route and command under every error path it can provoke, then finds none of them', async () => {
    const { container } = gatehouse;
    const password = secret('password');
    const adminPassword = secret('admin-password');
    await container.accounts.createUser({ email: 'ada@example.com', password });
    const root = await container.accounts.createUser({ email: 'root@example.com', password: adminPassword });
    await container.accounts.setAdmin(root.email, true);
    const app = await container.clients.create({ name: 'Notebook', redirectUris: [REDIRECT_URI], firstParty: true });
    const appSecret = remember('client-secret', app.secret);
    const adminClient = await container.clients.create({ name: 'Ops', admin: true });
    const adminClientSecret = remember('admin-client-secret', adminClient.secret);
    const config = await oidc.discovery(url('/'), app.client.clientId, appSecret, undefined, insecure);

    // A full sign-in: its code, tokens and cookies are secrets too.
    const browser = new Browser(gatehouse.issuer);
    const verifier = remember('pkce-verifier', oidc.randomPKCECodeVerifier());
    const authorization = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI, scope: 'openid email offline_access', prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', nonce: secret('nonce'),
    });
    const callback = await signIn(browser, authorization, { login: 'ada@example.com', password });
    const code = remember('authorization-code', callback.searchParams.get('code'));
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'st', expectedNonce: secrets.get('nonce')! });
    const accessToken = remember('access-token', tokens.access_token);
    const refreshToken = remember('refresh-token', tokens.refresh_token);
    const idToken = remember('id-token', tokens.id_token);
    for (const name of browser.cookieNames()) remember(`cookie ${name}`, browser.cookie(name));
    const adminTokenResponse = await send('admin token', '/token', { method: 'POST', headers: { authorization: basic(adminClient.client.clientId, adminClientSecret), 'content-type': FORM }, body: formBody({ grant_type: 'client_credentials', scope: 'admin' }) });
    const adminToken = remember('admin-token', ((await adminTokenResponse.json()) as { access_token: string }).access_token);

    // The admin API: malformed, wrong-typed, wrong content type, oversized, invalid, conflicting, unknown, unauthorized.
    const api = (label: string, path: string, method: string, body: string, contentType = 'application/json', init: { token?: string; faulty?: boolean } = {}) =>
      send(`admin API ${label}`, path, { method, headers: { authorization: `Bearer ${init.token ?? adminToken}`, 'content-type': contentType, accept: 'application/json' }, body, faulty: init.faulty ?? false });
    const apiPassword = secret('api-password');
    const userJson = JSON.stringify({ email: 'new@example.com', password: apiPassword });
    const badBodies: [label: string, body: string, status: number, type?: string][] = [
      ['truncated JSON', userJson.slice(0, -2), 400],
      ['JSON with a bad escape', `{"email":"new@example.com","password":"${apiPassword}\\x"}`, 400],
      ['null', 'null', 400], ['a number', '1', 400], ['a string', JSON.stringify(apiPassword), 400], ['an array', JSON.stringify([apiPassword]), 400],
      ['wrong types', JSON.stringify({ email: apiPassword, password: 12345 }), 400],
      ['text/plain', userJson, 400, 'text/plain'], ['a form', formBody({ email: 'new@example.com', password: apiPassword }), 400, FORM],
      ['oversized', JSON.stringify({ email: 'new@example.com', password: apiPassword, padding: 'x'.repeat(70_000) }), 413],
      ['a short password', JSON.stringify({ email: 'new@example.com', password: apiPassword.slice(0, 5) }), 400],
      ['a conflict', JSON.stringify({ email: 'ada@example.com', password: apiPassword }), 409],
    ];
    for (const [label, body, status, type] of badBodies) {
      const response = await api(label, '/admin/api/users', 'POST', body, type);
      expectStatus(label, response.status, [status]);
      const answer = (await response.json()) as { error?: unknown; error_description?: unknown };
      if (answer.error !== 'invalid_request' || typeof answer.error_description !== 'string') unexpected.push(`${label}: ${JSON.stringify(answer)}`);
    }
    const clientSecretSent = secret('sent-client-secret');
    for (const [label, body] of [['client, truncated', `{"client_name":"x","client_secret":"${clientSecretSent}"`], ['client, unknown setting', JSON.stringify({ client_name: 'x', [clientSecretSent]: clientSecretSent })]]) {
      expectStatus(label!, (await api(label!, '/admin/api/clients', 'POST', body!)).status, [400]);
    }
    expectStatus('patch unknown client', (await api('patch unknown client', `/admin/api/clients/${secret('unknown-client-id')}`, 'PATCH', JSON.stringify({ client_name: clientSecretSent }))).status, [404]);
    expectStatus('unknown user', (await api('unknown user', `/admin/api/users/${encodeURIComponent(secret('unknown-user'))}/disable`, 'POST', '')).status, [404]);
    expectStatus('admin API query', (await send('admin API query', `/admin/api/users?q=${encodeURIComponent(secret('query'))}&limit=${encodeURIComponent(secret('limit'))}`, { headers: { authorization: `Bearer ${adminToken}` } })).status, [400]);
    expectStatus('invalid token', (await api('invalid token', '/admin/api/users', 'POST', userJson, 'application/json', { token: secret('forged-bearer') })).status, [401]);
    expectStatus('basic to admin API', (await send('basic to admin API', '/admin/api/users', { headers: { authorization: basic(adminClient.client.clientId, adminClientSecret) } })).status, [401]);
    // A database failure in the middle of the write (the audit insert fails): an unexpected error, logged at error.
    const repair = await breakInserts(db, kind, 'AuditEvent');
    expectStatus('database failure', (await api('database failure', '/admin/api/users', 'POST', userJson, 'application/json', { faulty: true })).status, [500]);
    await repair();

    // The sign-in pages: wrong password, wrong content type, oversized, no CSRF, unknown interaction, wrong TOTP codes.
    const wrongPassword = secret('wrong-password');
    const signInPage = async (who = new Browser(gatehouse.issuer)) => {
      const started = await who.navigate(oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGYSE1D7tA', code_challenge_method: 'S256' }));
      return { who, page: expectPage(started) };
    };
    const { who, page: login } = await signInPage();
    const loginAction = new URL(findForm(login.html, /\/login$/).action, login.url);
    const csrf = findForm(login.html, /\/login$/).hidden;
    const pageRequest = (label: string, target: URL | string, body: string, contentType: string, from = who, cookie?: string) =>
      send(label, typeof target === 'string' ? target : target.pathname, { method: 'POST', headers: { 'content-type': contentType, accept: 'text/html', cookie: cookie ?? cookieHeader(from) }, body });
    expect((await who.submit(login, /\/login$/, { login: 'ada@example.com', password: wrongPassword }) as Page).status).toBe(401);
    for (const [label, body, type, status] of [
      ['login as JSON', JSON.stringify({ ...csrf, login: 'ada@example.com', password }), 'application/json', 400],
      ['login, broken JSON', `{"password":"${password}"`, 'application/json', 400],
      ['login as text', `password=${password}`, 'text/plain', 400],
      ['login, oversized', formBody({ ...csrf, login: 'ada@example.com', password, padding: 'x'.repeat(20_000) }), FORM, 413],
      ['login without CSRF', formBody({ login: 'ada@example.com', password }), FORM, 403],
    ] as const) {
      expectStatus(label, (await pageRequest(label, loginAction, body, type)).status, [status]);
    }
    await pageRequest('login, unknown interaction', `/interaction/${secret('interaction-uid')}/login`, formBody({ login: 'ada@example.com', password }), FORM);
    await pageRequest('login with a forged cookie', loginAction, formBody({ ...csrf, login: 'ada@example.com', password }), FORM, who, `gatehouse_interaction=${secret('forged-cookie')}; gatehouse_csrf=${secret('forged-csrf')}`);

    // A user with an authenticator app: the TOTP secret, wrong and right codes, recovery codes.
    const totpUser = await container.accounts.createUser({ email: 'otp@example.com', password });
    const enrolment = await container.mfa.startEnrolment(totpUser.id, totpUser.email);
    const totpSecret = remember('totp-secret', enrolment.secret);
    const recoveryCodes = await container.mfa.activate(totpUser.id, totpCode(totpSecret, container.clock.now()));
    recoveryCodes.forEach((value, i) => remember(`recovery-code ${i}`, value));
    const second = await signInPage();
    const otpPage = expectPage(await second.who.submit(second.page, /\/login$/, { login: 'otp@example.com', password }));
    const wrongCode = remember('wrong-totp', String((Number(totpCode(totpSecret, container.clock.now())) + 1) % 1_000_000).padStart(6, '0'));
    await second.who.submit(otpPage, /\/otp$/, { code: wrongCode });
    await second.who.submit(otpPage, /\/otp$/, { recovery_code: secret('wrong-recovery-code'), code: '' });
    await pageRequest('otp as JSON', new URL(findForm(otpPage.html, /\/otp$/).action, otpPage.url), JSON.stringify({ code: recoveryCodes[0] }), 'application/json', second.who);

    // The account pages: wrong current password, a short new one, wrong confirmation, wrong content type.
    const account = expectPage(await browser.navigate('/account/password'));
    const accountCsrf = findForm(account.html, /\/account\/password$/).hidden;
    const newPassword = secret('new-password');
    await browser.submit(account, /\/account\/password$/, { current_password: wrongPassword, new_password: newPassword, confirm_password: newPassword });
    await browser.submit(account, /\/account\/password$/, { current_password: password, new_password: newPassword.slice(0, 5), confirm_password: newPassword.slice(0, 5) });
    await pageRequest('password as JSON', '/account/password', JSON.stringify({ ...accountCsrf, current_password: password, new_password: newPassword }), 'application/json', browser);
    await pageRequest('password, oversized', '/account/password', formBody({ ...accountCsrf, current_password: password, new_password: newPassword, padding: 'x'.repeat(20_000) }), FORM, browser);
    await pageRequest('confirm, wrong password', '/account/confirm', formBody({ ...accountCsrf, password: wrongPassword }), FORM, browser);

    // The admin console's forms: a new user with a short password, a conflict, no CSRF, JSON.
    const consoleBrowser = new Browser(gatehouse.issuer);
    const consoleLogin = expectPage(await consoleBrowser.navigate('/admin/users/new'));
    const newUserPage = expectPage(await consoleBrowser.submit(consoleLogin, /\/login$/, { login: 'root@example.com', password: adminPassword }));
    const consolePassword = secret('console-password');
    await consoleBrowser.submit(newUserPage, /\/admin\/users$/, { email: 'console@example.com', password: consolePassword.slice(0, 6) });
    await consoleBrowser.submit(newUserPage, /\/admin\/users$/, { email: 'ada@example.com', password: consolePassword });
    await pageRequest('console without CSRF', '/admin/users', formBody({ email: 'c2@example.com', password: consolePassword }), FORM, consoleBrowser);
    await pageRequest('console as JSON', '/admin/users', JSON.stringify({ ...findForm(newUserPage.html, /\/admin\/users$/).hidden, email: 'c3@example.com', password: consolePassword }), 'application/json', consoleBrowser);

    // oidc-provider's endpoints: wrong client secrets, guessed and replayed codes, invalid tokens, malformed bodies.
    const wrongClientSecret = secret('wrong-client-secret');
    const token = (label: string, fields: Record<string, string>, auth = basic(app.client.clientId, appSecret), type = FORM, body?: string) =>
      send(`token ${label}`, '/token', { method: 'POST', headers: { authorization: auth, 'content-type': type, accept: 'application/json' }, body: body ?? formBody(fields) });
    await token('wrong secret', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, basic(app.client.clientId, wrongClientSecret));
    await token('secret in the body', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: app.client.clientId, client_secret: wrongClientSecret }, '');
    await token('guessed code', { grant_type: 'authorization_code', code: secret('guessed-code'), redirect_uri: REDIRECT_URI, code_verifier: verifier });
    await token('replayed code', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
    await token('guessed refresh token', { grant_type: 'refresh_token', refresh_token: secret('guessed-refresh-token') });
    await token('JSON body', {}, basic(app.client.clientId, appSecret), 'application/json', JSON.stringify({ grant_type: 'refresh_token', refresh_token: refreshToken }));
    await token('broken JSON body', {}, basic(app.client.clientId, appSecret), 'application/json', `{"refresh_token":"${refreshToken}"`);
    await token('oversized', { grant_type: 'refresh_token', refresh_token: refreshToken, padding: 'x'.repeat(200_000) });
    await token('a forged Basic header', { grant_type: 'client_credentials' }, `Basic ${secret('forged-basic')}`);
    for (const endpoint of ['/token/introspection', '/token/revocation']) {
      await send(`${endpoint} wrong secret`, endpoint, { method: 'POST', headers: { authorization: basic(app.client.clientId, wrongClientSecret), 'content-type': FORM }, body: formBody({ token: accessToken }) });
      await send(`${endpoint} guessed token`, endpoint, { method: 'POST', headers: { authorization: basic(app.client.clientId, appSecret), 'content-type': FORM }, body: formBody({ token: secret('guessed-token') }) });
      await send(`${endpoint} broken JSON`, endpoint, { method: 'POST', headers: { authorization: basic(app.client.clientId, appSecret), 'content-type': 'application/json' }, body: `{"token":"${accessToken}"` });
    }
    await send('userinfo forged', '/me', { headers: { authorization: `Bearer ${secret('forged-access-token')}` } });
    await send('userinfo in the query', `/me?access_token=${encodeURIComponent(accessToken)}`);
    await send('userinfo in the body', '/me', { method: 'POST', headers: { 'content-type': FORM }, body: formBody({ access_token: accessToken }) });
    await send('auth, unknown client', `/auth?client_id=${encodeURIComponent(secret('unknown-client'))}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`);
    await send('auth, hints', `/auth?client_id=${app.client.clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&id_token_hint=${idToken}&login_hint=${encodeURIComponent(secret('login-hint'))}&code_challenge=${secret('challenge')}&code_challenge_method=plain`, { headers: { cookie: cookieHeader(browser) } });
    if (kind === 'postgresql') {
      // Storing the interaction fails with PostgreSQL's "Failing row contains (...)": its params, the ID token among them.
      const repairRows = await refuseRowsWithDetail(db, 'OidcPayload');
      const refused = await send('auth, the row refused', `/auth?client_id=${app.client.clientId}&response_type=code&scope=openid&prompt=login&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&id_token_hint=${idToken}&login_hint=${encodeURIComponent(secret('login-hint-refused'))}&code_challenge=${verifier.slice(0, 43)}&code_challenge_method=S256`, { faulty: true });
      await repairRows();
      expect(refused.status).toBeGreaterThanOrEqual(400);
    }
    await send('end_session, foreign redirect', `/session/end?id_token_hint=${idToken}&post_logout_redirect_uri=${encodeURIComponent('https://attacker.example/')}`, { headers: { cookie: cookieHeader(browser) } });
    await send('end_session confirm, forged xsrf', '/session/end/confirm', { method: 'POST', headers: { 'content-type': FORM, cookie: cookieHeader(browser) }, body: formBody({ xsrf: secret('forged-xsrf'), logout: 'yes' }) });
    await send('end_session, broken body', '/session/end', { method: 'POST', headers: { 'content-type': 'application/json', cookie: cookieHeader(browser) }, body: `{"id_token_hint":"${idToken}"` });

    // The CLI: every command that reads a secret, under bad input, conflicts, unknown users and a database failure.
    const cli = async (args: string[], stdin = '') => {
      const result = await runCli(gatehouse, gatehouseSecret, args, stdin, { LOG_LEVEL: 'trace' });
      cliOutput.push(result);
      return result;
    };
    const cliPassword = secret('cli-password');
    expect((await cli(['users', 'create', '--email', 'not-an-email', '--password-stdin'], `${cliPassword}\n`)).code).toBe(2);
    expect((await cli(['users', 'create', '--email', 'cli@example.com', '--password-stdin'], `${cliPassword.slice(0, 5)}\n`)).code).toBe(2);
    expect((await cli(['users', 'create', '--email', 'ada@example.com', '--password-stdin'], `${cliPassword}\n`)).code).toBe(4);
    expect((await cli(['users', 'set-password', 'nobody@example.com', '--password-stdin'], `${cliPassword}\n`)).code).toBe(3);
    expect((await cli(['users', 'create', '--email', 'cli@example.com', '--password-stdin', cliPassword], `${cliPassword}\n`)).code).toBe(2);
    expect((await cli(['clients', 'rotate-secret', 'no-such-client'])).code).toBe(3);
    const repairCli = await breakInserts(db, kind, 'AuditEvent');
    expect((await cli(['users', 'create', '--email', 'cli@example.com', '--password-stdin'], `${cliPassword}\n`)).code).toBe(1);
    expect((await cli(['users', 'set-password', 'ada@example.com', '--password-stdin'], `${cliPassword}\n`)).code).toBe(1);
    await repairCli();

    // The scan: every secret, in every form, in the whole log stream and every CLI output.
    expect(gatehouse.logLines.filter((line) => line.level === 'error').length).toBeGreaterThan(0);
    const outputs = [['the log', gatehouse.rawLog()], ...cliOutput.map((r, i) => [`CLI run ${i}`, r.stdout + r.stderr])] as const;
    const found: string[] = [];
    for (const [name, value] of secrets) {
      for (const [where, text] of outputs) {
        for (const form of forms(value)) if (text.includes(form)) found.push(`${name} (as ${form}) in ${where}`);
      }
    }
    expect(found).toEqual([]);
    // What the error lines (the injected database failures) carry is the allow-list, whatever the error held.
    const errorLines = gatehouse.logLines.filter((line) => line.err !== undefined);
    expect(errorLines.length).toBeGreaterThan(0);
    for (const { err } of errorLines) expect(allowListed(err)).toBe(true);
    expect(unexpected).toEqual([]);
    expect(secrets.size).toBeGreaterThan(30);
  }, 120_000);
});

const ALLOWED_ERROR_KEYS = new Set(['type', 'code', 'status', 'error', 'reason', 'stack', 'cause']);

/** An error in a log line holds only allow-listed keys, no message (not a system error here), a stack of frames only. */
function allowListed(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const record = err as Record<string, unknown>;
  if (!Object.keys(record).every((key) => ALLOWED_ERROR_KEYS.has(key))) return false;
  if (record.stack !== undefined && !/^\s+at /.test(String(record.stack))) return false;
  return record.cause === undefined || allowListed(record.cause);
}

function cookieHeader(browser: Browser): string {
  return browser.cookieNames().map((name) => `${name}=${browser.cookie(name)}`).join('; ');
}
