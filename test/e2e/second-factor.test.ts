import * as oidc from 'openid-client';
import { Browser, expectPage, expectRedirect, findForm, isPage, type Page } from '../support/browser.js';
import { TestClock } from '../support/clock.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { totpCode } from '../support/mfa-fakes.js';
import { registerRelyingParty, type RelyingParty } from '../support/relying-party.js';

const PASSWORD = 'correct horse battery staple';
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

  it('locks the factor after five wrong codes in a row, for fifteen minutes', async () => {
    const browser = new Browser(gatehouse.issuer);
    let page: Page = expectPage((await passwordStep(browser)).next);
    const right = totpCode(secret, clock.now());
    const wrongCode = right === '123456' ? '654321' : '123456';
    for (let i = 0; i < 5; i += 1) page = expectPage(await browser.submit(page, /\/otp$/, { code: wrongCode }));
    const locked = expectPage(await browser.submit(page, /\/otp$/, { code: right }));
    expect(locked.status).toBe(429);
    expect(locked.html).toContain('Too many wrong codes');
    expect(await gatehouse.container.audit.list({ userId, types: ['mfa.locked'] })).toHaveLength(1);

    // While locked, the password step answers the same whether the password is right or wrong.
    const answers = [];
    for (const password of [PASSWORD, 'not the password']) {
      const probe = new Browser(gatehouse.issuer);
      const url = oidc.buildAuthorizationUrl(app.config, { redirect_uri: app.redirectUri, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
      const loginPage = expectPage(await probe.navigate(url));
      const answer = expectPage(await probe.submit(loginPage, /\/login$/, { login: 'ada@example.com', password }));
      answers.push({ status: answer.status, message: /role="alert"[^>]*>([^<]*)</.exec(answer.html)?.[1] });
    }
    expect(answers[0]).toEqual({ status: 429, message: expect.stringContaining('locked') });
    expect(answers[1]).toEqual(answers[0]);

    clock.advance(15 * 60_000 + STEP);
    const later = new Browser(gatehouse.issuer);
    const { next } = await passwordStep(later);
    expectRedirect(await later.submit(expectPage(next), /\/otp$/, { code: totpCode(secret, clock.now()) }));
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
    await gatehouse.container.mfa.disable(userId);
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

  it('honours acr_values=urn:gatehouse:loa:2: a password-only session must step up before the app gets its tokens', async () => {
    await gatehouse.container.mfa.disable(userId);
    const browser = new Browser(gatehouse.issuer);
    expectRedirect((await passwordStep(browser)).next);
    const enrolment = await gatehouse.container.mfa.startEnrolment(userId, 'ada@example.com');
    await gatehouse.container.mfa.activate(userId, totpCode(enrolment.secret, clock.now()));
    clock.advance(STEP);

    const loa2 = { acr_values: 'urn:gatehouse:loa:2' };
    // Silently, a loa:1 session cannot answer a loa:2 request.
    const silent = await app.authorize(browser, { ...loa2, prompt: 'none', scope: 'openid' });
    expect(silent).toEqual({ error: 'login_required' });

    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(app.config, {
      redirect_uri: app.redirectUri, scope: 'openid', state, ...loa2,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const login = expectPage(await browser.navigate(url));
    const otp = expectPage(await browser.submit(login, /\/login$/, { login: 'ada@example.com', password: PASSWORD }));
    const redirect = expectRedirect(await browser.submit(otp, /\/otp$/, { code: totpCode(enrolment.secret, clock.now()) }));
    const claims = (await tokensFrom(redirect, verifier, state)).claims()!;
    expect(claims.acr).toBe('urn:gatehouse:loa:2');
    expect(claims.amr).toContain('otp');
    // Now the session is at loa:2 and answers such requests silently.
    expect(await app.authorize(browser, { ...loa2, prompt: 'none', scope: 'openid' })).toHaveProperty('tokens');
  });

  it('tells a user without an authenticator app that the application requires one', async () => {
    const browser = new Browser(gatehouse.issuer);
    const { next } = await passwordStep(browser, 'bob@example.com', { acr_values: 'urn:gatehouse:loa:2' });
    const page = expectPage(next);
    expect(page.status).toBe(403);
    expect(page.html).toContain('requires two-step verification');
    expect(page.html).toContain('/account/security');
  });
});
