import * as oidc from 'openid-client';
import { Browser, expectPage, expectRedirect, findForm, isPage, type Page } from '../support/browser.js';
import { TestClock } from '../support/clock.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { totpCode } from '../support/mfa-fakes.js';
import { registerRelyingParty, type RelyingParty } from '../support/relying-party.js';

const PASSWORD = 'correct horse battery staple';
/** Who removes Ada's authenticator app where a test needs her without one (before she has any session). */
const ADMIN = { type: 'admin' as const, id: 'test' };
const STEP = 30_000;

describe.each(databaseKinds())('signing in with a second factor (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let clock: TestClock;
  let app: RelyingParty;
  let secret: string;
  let recoveryCodes: string[];
  let userId: string;

  beforeEach(async () => {
    clock = new TestClock();
    gatehouse = await startTestGatehouse(kind, { clock });
    userId = (await gatehouse.container.accounts.createUser({ email: 'ada@example.com', password: PASSWORD })).id;
    await gatehouse.container.accounts.createUser({ email: 'bob@example.com', password: PASSWORD });
    app = await registerRelyingParty(gatehouse, 'Notebook');
    const enrolment = await gatehouse.container.mfa.startEnrolment(userId, 'ada@example.com');
    secret = enrolment.secret;
    recoveryCodes = await gatehouse.container.mfa.activate(userId, totpCode(secret, clock.now()));
    // The activation used this time step's code: sign-ins below use later steps.
    clock.advance(STEP);
  });

  afterEach(async () => {
    await gatehouse?.stop();
  });

  async function passwordStep(browser: Browser, email = 'ada@example.com', extra: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(app.config, {
      redirect_uri: app.redirectUri, scope: 'openid', state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
    });
    const login = expectPage(await browser.navigate(url));
    const next = await browser.submit(login, /\/login$/, { login: email, password: PASSWORD });
    return { next, verifier, state };
  }

  async function tokensFrom(redirect: URL, verifier: string, state: string) {
    return oidc.authorizationCodeGrant(app.config, redirect, { pkceCodeVerifier: verifier, expectedState: state });
  }

  it('asks a user with an authenticator app for a code after the password, and issues acr loa:2 with amr otp', async () => {
    const browser = new Browser(gatehouse.issuer);
    const { next, verifier, state } = await passwordStep(browser);
    const otpPage = expectPage(next);
    expect(otpPage.html).toContain('Two-step verification');
    // No session yet: the password alone signs nobody in.
    expect(await gatehouse.container.sessions.listLive(userId)).toHaveLength(0);

    const wrong = expectPage(await browser.submit(otpPage, /\/otp$/, { code: '000000' === totpCode(secret, clock.now()) ? '111111' : '000000' }));
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('That code is not right.');

    const redirect = expectRedirect(await browser.submit(wrong, /\/otp$/, { code: totpCode(secret, clock.now()) }));
    const claims = (await tokensFrom(redirect, verifier, state)).claims()!;
    expect(claims.acr).toBe('urn:gatehouse:loa:2');
    expect(claims.amr).toEqual(['pwd', 'otp']);
    const [session] = await gatehouse.container.sessions.listLive(userId);
    expect(session).toMatchObject({ acr: 'urn:gatehouse:loa:2', amr: ['pwd', 'otp'] });
    expect(app.config.serverMetadata().acr_values_supported).toEqual(['urn:gatehouse:loa:1', 'urn:gatehouse:loa:2']);
  });

  it('refuses a code used once already', async () => {
    const first = new Browser(gatehouse.issuer);
    const code = totpCode(secret, clock.now());
    const one = await passwordStep(first);
    expectRedirect(await first.submit(expectPage(one.next), /\/otp$/, { code }));
    const second = new Browser(gatehouse.issuer);
    const two = await passwordStep(second);
    const replayed = expectPage(await second.submit(expectPage(two.next), /\/otp$/, { code }));
    expect(replayed.status).toBe(401);
    expect(replayed.html).toContain('already used');
  });

  it('accepts each recovery code once, with amr recovery', async () => {
    const browser = new Browser(gatehouse.issuer);
    const { next, verifier, state } = await passwordStep(browser);
    const redirect = expectRedirect(await browser.submit(expectPage(next), /\/otp$/, { recovery_code: recoveryCodes[0]! }));
    expect((await tokensFrom(redirect, verifier, state)).claims()!.amr).toEqual(['pwd', 'otp', 'recovery']);

    const again = new Browser(gatehouse.issuer);
    const retry = await passwordStep(again);
    const refused = expectPage(await again.submit(expectPage(retry.next), /\/otp$/, { recovery_code: recoveryCodes[0]! }));
    expect(refused.status).toBe(401);
    expect(refused.html).toContain('That recovery code is not valid.');
  });

  /** The text of the page's alert. */
  const alertOf = (page: Page) => /role="alert"[^>]*>([^<]*)</.exec(page.html)?.[1]?.replace(/&#39;/g, "'");

  /** The second-factor page of a new sign-in, with this time step's right code and a wrong one. */
  async function secondStep(browser: Browser) {
    const page = expectPage((await passwordStep(browser)).next);
    const right = totpCode(secret, clock.now());
    return { page, right, wrongCode: right === '123456' ? '654321' : '123456' };
  }

  it('locks the factor after five wrong codes in a row, for fifteen minutes', async () => {
    const browser = new Browser(gatehouse.issuer);
    const { page: first, right, wrongCode } = await secondStep(browser);
    let page = first;
    for (let i = 0; i < 5; i += 1) page = expectPage(await browser.submit(page, /\/otp$/, { code: wrongCode }));
    const locked = expectPage(await browser.submit(page, /\/otp$/, { code: right }));
    expect(locked.status).toBe(429);
    expect(locked.html).toContain('Too many wrong codes');
    expect(locked.html).not.toContain('or use a recovery code');
    expect(await gatehouse.container.audit.list({ userId, types: ['mfa.locked'] })).toHaveLength(1);

    // While locked, the password step answers the same whether the password is right or wrong.
    const answers = [];
    for (const password of [PASSWORD, 'not the password']) {
      const probe = new Browser(gatehouse.issuer);
      const url = oidc.buildAuthorizationUrl(app.config, { redirect_uri: app.redirectUri, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
      const loginPage = expectPage(await probe.navigate(url));
      const answer = expectPage(await probe.submit(loginPage, /\/login$/, { login: 'ada@example.com', password }));
      answers.push({ status: answer.status, message: alertOf(answer) });
    }
    expect(answers[0]).toEqual({ status: 429, message: expect.stringContaining('locked') });
    expect(answers[1]).toEqual(answers[0]);

    clock.advance(15 * 60_000 + STEP);
    const later = new Browser(gatehouse.issuer);
    const { next } = await passwordStep(later);
    expectRedirect(await later.submit(expectPage(next), /\/otp$/, { code: totpCode(secret, clock.now()) }));
  });

  it('counts wrong recovery codes toward the same lock as wrong codes, and refuses recovery codes while locked', async () => {
    const browser = new Browser(gatehouse.issuer);
    const { page: first, wrongCode } = await secondStep(browser);
    let page = first;
    for (let i = 0; i < 3; i += 1) page = expectPage(await browser.submit(page, /\/otp$/, { code: wrongCode }));
    page = expectPage(await browser.submit(page, /\/otp$/, { recovery_code: 'aaaaa-aaaaa' }));
    expect(page.status).toBe(401);
    expect(alertOf(page)).toBe('That recovery code is not valid.');
    // The fifth wrong attempt in a row, a recovery code, locks the factor.
    page = expectPage(await browser.submit(page, /\/otp$/, { recovery_code: 'bbbbb-bbbbb' }));
    expect(page.status).toBe(429);
    expect(await gatehouse.container.audit.list({ userId, types: ['mfa.locked'] })).toHaveLength(1);
    const failed = await gatehouse.container.audit.list({ userId, types: ['mfa.failed'] });
    expect(failed.map((e) => (e.details as { method: string }).method).sort()).toEqual(['recovery', 'recovery', 'totp', 'totp', 'totp']);
    expect(failed.every((e) => e.ip !== null)).toBe(true);

    // Locked: a right recovery code is refused too, and stays unused. The page says what really helps.
    const refused = expectPage(await browser.submit(page, /\/otp$/, { recovery_code: recoveryCodes[0]! }));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBe(15 * 60);
    expect(alertOf(refused)).toBe(
      'Too many wrong codes: two-step verification for this account is locked. Try again in 15 minutes. If you cannot wait, an administrator can reset it (gatehouse users reset-mfa).',
    );
    expect(await gatehouse.container.mfa.status(userId)).toEqual({ enabled: true, recoveryCodesLeft: 10 });
    expect(await gatehouse.container.sessions.listLive(userId)).toHaveLength(0);
    expect(await gatehouse.container.audit.list({ userId, types: ['mfa.failed'] })).toHaveLength(5);
  });

  it('counts wrong codes at a step-up toward the lock', async () => {
    await gatehouse.container.mfa.reset(userId, ADMIN);
    const browser = new Browser(gatehouse.issuer);
    expectRedirect((await passwordStep(browser)).next);
    const factor = await newFactorFor(userId, 'ada@example.com');
    const { url } = await authorizationRequest(app, { acr_values: 'urn:gatehouse:loa:2' });
    let page = expectPage(await browser.navigate(url));
    expect(page.html).not.toContain('name="password"');
    const right = totpCode(factor, clock.now());
    for (let i = 0; i < 5; i += 1) page = expectPage(await browser.submit(page, /\/otp$/, i % 2 ? { recovery_code: 'ccccc-ccccc' } : { code: right === '123456' ? '654321' : '123456' }));
    expect(page.status).toBe(429);
    const refused = expectPage(await browser.submit(page, /\/otp$/, { code: right }));
    expect(refused.status).toBe(429);
    expect(alertOf(refused)).toContain('Try again in 15 minutes.');
    expect(await gatehouse.container.audit.list({ userId, types: ['mfa.locked'] })).toHaveLength(1);
    expect((await gatehouse.container.sessions.listLive(userId))[0]).toMatchObject({ acr: 'urn:gatehouse:loa:1' });
  });

  it('accepts the second step for five minutes after the password, on the injected clock, and not a moment longer', async () => {
    const onTime = new Browser(gatehouse.issuer);
    const { page: inTime } = await secondStep(onTime);
    clock.advance(5 * 60_000);
    expectRedirect(await onTime.submit(inTime, /\/otp$/, { code: totpCode(secret, clock.now()) }));

    clock.advance(STEP);
    const late = new Browser(gatehouse.issuer);
    const { page: tooLate } = await secondStep(late);
    clock.advance(5 * 60_000 + 1);
    const expired = expectPage(await late.submit(tooLate, /\/otp$/, { code: totpCode(secret, clock.now()) }));
    expect(expired.status).toBe(403);
    expect(expired.html).toContain('This page has expired. Sign in again.');
    expect(await gatehouse.container.sessions.listLive(userId)).toHaveLength(1);
  });

  it('refuses a second-factor page altered to name another user', async () => {
    const browser = new Browser(gatehouse.issuer);
    const page = expectPage((await passwordStep(browser)).next);
    const form = findForm(page.html, /\/otp$/);
    const other = await gatehouse.container.accounts.getByEmail('bob@example.com');
    const response = await browser.request(new URL(form.action, page.url), { form: { ...form.hidden, user: other.id, code: totpCode(secret, clock.now()) } });
    expect(response.status).toBe(403);
  });

  it('signs a user without an authenticator app in with the password alone, at loa:1', async () => {
    const browser = new Browser(gatehouse.issuer);
    const { next, verifier, state } = await passwordStep(browser, 'bob@example.com');
    expect(isPage(next)).toBe(false);
    const claims = (await tokensFrom(expectRedirect(next), verifier, state)).claims()!;
    expect(claims.acr).toBe('urn:gatehouse:loa:1');
    expect(claims.amr).toEqual(['pwd']);
  });

  it('records a step-up when a second factor is added to a session signed in with the password alone', async () => {
    await gatehouse.container.mfa.reset(userId, ADMIN);
    const browser = new Browser(gatehouse.issuer);
    const first = await passwordStep(browser);
    expectRedirect(first.next);
    const enrolment = await gatehouse.container.mfa.startEnrolment(userId, 'ada@example.com');
    await gatehouse.container.mfa.activate(userId, totpCode(enrolment.secret, clock.now()));
    clock.advance(STEP);
    const again = await passwordStep(browser, 'ada@example.com', { prompt: 'login' });
    const redirect = expectRedirect(await browser.submit(expectPage(again.next), /\/otp$/, { code: totpCode(enrolment.secret, clock.now()) }));
    expect((await tokensFrom(redirect, again.verifier, again.state)).claims()!.acr).toBe('urn:gatehouse:loa:2');
    const sessions = await gatehouse.container.sessions.listLive(userId);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ acr: 'urn:gatehouse:loa:2', amr: ['pwd', 'otp'] });
    expect(await gatehouse.container.audit.list({ userId, types: ['session.step_up'] })).toHaveLength(1);
  });

  /** An authorization request of `rp` (PKCE), with its verifier and state. */
  async function authorizationRequest(rp: RelyingParty, extra: Record<string, string>) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp.config, {
      redirect_uri: rp.redirectUri, scope: 'openid', state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
    });
    return { url, verifier, state };
  }

  async function newFactorFor(id: string, email: string): Promise<string> {
    const enrolment = await gatehouse.container.mfa.startEnrolment(id, email);
    await gatehouse.container.mfa.activate(id, totpCode(enrolment.secret, clock.now()));
    clock.advance(STEP);
    return enrolment.secret;
  }

  const SESSION_COOKIE = 'gatehouse_session';
  const LOA2 = { acr_values: 'urn:gatehouse:loa:2' };

  it('steps up a password-only session with the second factor alone: new level and amr, same auth_time, new cookie value', async () => {
    await gatehouse.container.mfa.reset(userId, ADMIN);
    const browser = new Browser(gatehouse.issuer);
    const first = await passwordStep(browser);
    const signedIn = (await tokensFrom(expectRedirect(first.next), first.verifier, first.state)).claims()!;
    expect(signedIn.acr).toBe('urn:gatehouse:loa:1');
    const factor = await newFactorFor(userId, 'ada@example.com');
    clock.advance(60_000);

    // Silently, a loa:1 session cannot answer a loa:2 request.
    expect(await app.authorize(browser, { ...LOA2, prompt: 'none', scope: 'openid' })).toEqual({ error: 'login_required' });

    const cookieBefore = browser.cookie(SESSION_COOKIE)!;
    const { url, verifier, state } = await authorizationRequest(app, LOA2);
    const otp = expectPage(await browser.navigate(url));
    // Only the second factor is asked for: no password field, no login form.
    expect(otp.html).toContain('asks you to confirm it is you');
    expect(otp.html).not.toMatch(/name="password"|\/login"/);
    const redirect = expectRedirect(await browser.submit(otp, /\/otp$/, { code: totpCode(factor, clock.now()) }));
    const claims = (await tokensFrom(redirect, verifier, state)).claims()!;
    expect(claims).toMatchObject({ acr: 'urn:gatehouse:loa:2', amr: ['pwd', 'otp'], auth_time: signedIn.auth_time });

    // The session cookie has a new value and the old one no longer signs anybody in.
    expect(browser.cookie(SESSION_COOKIE)).toBeDefined();
    expect(browser.cookie(SESSION_COOKIE)).not.toBe(cookieBefore);
    const stale = new Browser(gatehouse.issuer);
    stale.setCookie(SESSION_COOKIE, cookieBefore);
    expect(await app.authorize(stale, { prompt: 'none', scope: 'openid' })).toEqual({ error: 'login_required' });

    // One session, now at loa:2, with the time of the second-factor check recorded and the step-up audited.
    const sessions = await gatehouse.container.sessions.listLive(userId);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ acr: 'urn:gatehouse:loa:2', amr: ['pwd', 'otp'], secondFactorAt: clock.now(), passwordAt: new Date(signedIn.auth_time! * 1000) });
    expect(await gatehouse.container.audit.list({ userId, types: ['session.step_up'] })).toHaveLength(1);
    // Now the session answers loa:2 requests silently.
    expect(await app.authorize(browser, { ...LOA2, prompt: 'none', scope: 'openid' })).toHaveProperty('tokens');
  });

  it('steps up for an essential acr claim (claims parameter) as for acr_values', async () => {
    await gatehouse.container.mfa.reset(userId, ADMIN);
    const browser = new Browser(gatehouse.issuer);
    expectRedirect((await passwordStep(browser)).next);
    const factor = await newFactorFor(userId, 'ada@example.com');
    const claimsRequest = JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:gatehouse:loa:2' } } });
    const { url, verifier, state } = await authorizationRequest(app, { claims: claimsRequest });
    const otp = expectPage(await browser.navigate(url));
    expect(otp.html).not.toContain('name="password"');
    const redirect = expectRedirect(await browser.submit(otp, /\/otp$/, { code: totpCode(factor, clock.now()) }));
    expect((await tokensFrom(redirect, verifier, state)).claims()!.acr).toBe('urn:gatehouse:loa:2');
  });

  it('lets a higher level satisfy a lower request: an essential acr of loa:1, or acr_values naming both levels, for a loa:2 session', async () => {
    const loa1 = { id_token: { acr: { essential: true, value: 'urn:gatehouse:loa:1' } } };
    const loa1Values = { id_token: { acr: { essential: true, values: ['urn:gatehouse:loa:1'] } } };
    // A new sign-in asked for loa:1 by a user with an authenticator app: password and code once, no endless loop.
    const browser = new Browser(gatehouse.issuer);
    const { url, verifier, state } = await authorizationRequest(app, { claims: JSON.stringify(loa1) });
    const login = expectPage(await browser.navigate(url));
    const otp = expectPage(await browser.submit(login, /\/login$/, { login: 'ada@example.com', password: PASSWORD }));
    const redirect = expectRedirect(await browser.submit(otp, /\/otp$/, { code: totpCode(secret, clock.now()) }));
    expect((await tokensFrom(redirect, verifier, state)).claims()!).toMatchObject({ acr: 'urn:gatehouse:loa:2', amr: ['pwd', 'otp'] });

    // Within that loa:2 session, loa:1 requests of every form are answered silently, at loa:2.
    const requests: Record<string, string>[] = [
      { claims: JSON.stringify(loa1) },
      { claims: JSON.stringify(loa1Values) },
      { acr_values: 'urn:gatehouse:loa:1 urn:gatehouse:loa:2' },
      { acr_values: 'urn:gatehouse:loa:1' },
    ];
    for (const extra of requests) {
      const answer = await app.authorize(browser, { ...extra, prompt: 'none', scope: 'openid' });
      expect(answer).toHaveProperty('tokens');
      expect((answer as { tokens: oidc.TokenEndpointResponseHelpers }).tokens.claims()!.acr).toBe('urn:gatehouse:loa:2');
    }
  });

  it('accepts a loa:1 session for acr_values naming both levels, steps it up for an essential loa:2 among unknown values, refuses an unknown one', async () => {
    const browser = new Browser(gatehouse.issuer);
    expectRedirect((await passwordStep(browser, 'bob@example.com')).next);
    const both = await app.authorize(browser, { acr_values: 'urn:gatehouse:loa:1 urn:gatehouse:loa:2', prompt: 'none', scope: 'openid' });
    expect((both as { tokens: oidc.TokenEndpointResponseHelpers }).tokens.claims()!.acr).toBe('urn:gatehouse:loa:1');
    const essential = JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:example:unknown', 'urn:gatehouse:loa:2'] } } });
    expect(await app.authorize(browser, { claims: essential, prompt: 'none', scope: 'openid' })).toEqual({ error: 'login_required' });
    // An essential acr no level of Gatehouse can meet is an error for the application, not a sign-in that never ends.
    const unknown = JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:example:unknown' } } });
    expect(await app.authorize(browser, { claims: unknown, scope: 'openid' })).toEqual({ error: 'invalid_request' });
  });

  it('leads a user without an authenticator app through enrolment when the app requires loa:2, then on to the app', async () => {
    const bob = (await gatehouse.container.accounts.getByEmail('bob@example.com')).id;
    const browser = new Browser(gatehouse.issuer);
    const { next, verifier, state } = await passwordStep(browser, 'bob@example.com', LOA2);
    const setup = expectPage(next);
    expect(setup.status).toBe(200);
    expect(setup.html).toContain('requires two-step verification');
    expect(setup.html).toMatch(/<img id="totp-qr" src="data:image\/svg\+xml;base64,/);
    const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(setup.html)![1]!.replace(/ /g, '');

    const right = totpCode(secret, clock.now());
    const wrong = expectPage(await browser.submit(setup, /\/enrol$/, { code: right === '000000' ? '111111' : '000000' }));
    expect(wrong.status).toBe(400);
    expect(wrong.html).toContain('That code is not right');
    expect(await gatehouse.container.mfa.status(bob)).toEqual({ enabled: false, recoveryCodesLeft: 0 });
    // No session until every step is done.
    expect(await gatehouse.container.sessions.listLive(bob)).toHaveLength(0);

    const codes = expectPage(await browser.submit(wrong, /\/enrol$/, { code: right }));
    expect([...codes.html.matchAll(/<li><code>[a-z2-9]{5}-[a-z2-9]{5}<\/code><\/li>/g)]).toHaveLength(10);
    expect(await gatehouse.container.mfa.status(bob)).toEqual({ enabled: true, recoveryCodesLeft: 10 });
    const redirect = expectRedirect(await browser.submit(codes, /\/continue$/));
    const claims = (await tokensFrom(redirect, verifier, state)).claims()!;
    expect(claims).toMatchObject({ acr: 'urn:gatehouse:loa:2', amr: ['pwd', 'otp'] });
    // A new sign-in's checks carry its auth_time (whole seconds).
    const authTime = new Date(claims.auth_time! * 1000);
    expect(await gatehouse.container.sessions.listLive(bob)).toEqual([expect.objectContaining({ acr: 'urn:gatehouse:loa:2', passwordAt: authTime, secondFactorAt: authTime })]);
  });

  it('enforces a client registered with a minimum level: a password-only session steps up (enrolling first) for it', async () => {
    const strict = await registerRelyingParty(gatehouse, 'Payroll', { minAcr: 'urn:gatehouse:loa:2' });
    const browser = new Browser(gatehouse.issuer);
    expectRedirect((await passwordStep(browser, 'bob@example.com')).next);
    // The other app accepts the password-only session; the strict one does not, even without acr_values.
    expect(await app.authorize(browser, { prompt: 'none', scope: 'openid' })).toHaveProperty('tokens');
    expect(await strict.authorize(browser, { prompt: 'none', scope: 'openid' })).toEqual({ error: 'login_required' });

    const { url, verifier, state } = await authorizationRequest(strict, {});
    const setup = expectPage(await browser.navigate(url));
    expect(setup.html).not.toContain('name="password"');
    const secret = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(setup.html)![1]!.replace(/ /g, '');
    const codes = expectPage(await browser.submit(setup, /\/enrol$/, { code: totpCode(secret, clock.now()) }));
    const redirect = expectRedirect(await browser.submit(codes, /\/continue$/));
    const tokens = await oidc.authorizationCodeGrant(strict.config, redirect, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()!).toMatchObject({ acr: 'urn:gatehouse:loa:2', amr: ['pwd', 'otp'] });
  });

  it('makes max_age force a fresh sign-in once the last one is older', async () => {
    // oidc-provider measures max_age against the real time: the sign-in happens ten minutes back on the test clock.
    await gatehouse.container.mfa.reset(userId, ADMIN);
    clock.advance(-10 * 60_000);
    const browser = new Browser(gatehouse.issuer);
    const first = await passwordStep(browser);
    const before = (await tokensFrom(expectRedirect(first.next), first.verifier, first.state)).claims()!;
    clock.advance(10 * 60_000);

    // Within max_age the session answers silently; past it, silently is impossible.
    expect(await app.authorize(browser, { max_age: '3600', prompt: 'none', scope: 'openid' })).toHaveProperty('tokens');
    expect(await app.authorize(browser, { max_age: '60', prompt: 'none', scope: 'openid' })).toEqual({ error: 'login_required' });

    const { url, verifier, state } = await authorizationRequest(app, { max_age: '60' });
    const login = expectPage(await browser.navigate(url));
    expect(login.html).toContain('name="password"');
    const again = expectRedirect(await browser.submit(login, /\/login$/, { login: 'ada@example.com', password: PASSWORD }));
    const after = (await tokensFrom(again, verifier, state)).claims()!;
    expect(after.auth_time).toBe(Math.floor(clock.now().getTime() / 1000));
    expect(after.auth_time! - before.auth_time!).toBeGreaterThanOrEqual(600);
  });

  it('makes max_age ask a user with an authenticator app for the password and the code again, with a new auth_time', async () => {
    // As above, the first sign-in happens ten minutes back (with an app set up then, so its codes are not "used").
    await gatehouse.container.mfa.reset(userId, ADMIN);
    clock.advance(-10 * 60_000);
    const factor = await newFactorFor(userId, 'ada@example.com');
    const browser = new Browser(gatehouse.issuer);
    const first = await passwordStep(browser);
    const firstRedirect = expectRedirect(await browser.submit(expectPage(first.next), /\/otp$/, { code: totpCode(factor, clock.now()) }));
    const before = (await tokensFrom(firstRedirect, first.verifier, first.state)).claims()!;
    expect(before.acr).toBe('urn:gatehouse:loa:2');
    clock.advance(10 * 60_000 - STEP);

    expect(await app.authorize(browser, { max_age: '60', prompt: 'none', scope: 'openid' })).toEqual({ error: 'login_required' });
    const { url, verifier, state } = await authorizationRequest(app, { max_age: '60' });
    const login = expectPage(await browser.navigate(url));
    expect(login.html).toContain('name="password"');
    // The password alone is not the end of it: the code is asked again too.
    const otp = expectPage(await browser.submit(login, /\/login$/, { login: 'ada@example.com', password: PASSWORD }));
    expect(otp.html).toContain('name="code"');
    expect(otp.html).not.toContain('asks you to confirm it is you');
    const again = expectRedirect(await browser.submit(otp, /\/otp$/, { code: totpCode(factor, clock.now()) }));
    const after = (await tokensFrom(again, verifier, state)).claims()!;
    expect(after).toMatchObject({ acr: 'urn:gatehouse:loa:2', amr: ['pwd', 'otp'] });
    expect(after.auth_time).toBe(Math.floor(clock.now().getTime() / 1000));
    expect(after.auth_time! - before.auth_time!).toBeGreaterThanOrEqual(540);
    const authTime = new Date(after.auth_time! * 1000);
    expect(await gatehouse.container.sessions.listLive(userId)).toEqual([expect.objectContaining({ authTime, passwordAt: authTime, secondFactorAt: authTime })]);
  });
});
