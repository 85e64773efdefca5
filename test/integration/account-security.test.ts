import { ReauthenticationRequiredError } from '../../src/domain/errors.js';
import { Browser, expectPage, findForm, type Page } from '../support/browser.js';
import { TestClock } from '../support/clock.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { totpCode } from '../support/mfa-fakes.js';

const PASSWORD = 'correct horse battery staple';

/** The key shown for manual entry, without its spaces. */
function shownSecret(page: Page): string {
  const match = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.html);
  if (!match) throw new Error(`no secret on the page:\n${page.html.slice(0, 1000)}`);
  return match[1]!.replace(/ /g, '');
}

function shownRecoveryCodes(page: Page): string[] {
  return [...page.html.matchAll(/<li><code>([a-z2-9]{5}-[a-z2-9]{5})<\/code><\/li>/g)].map((m) => m[1]!);
}

describe.each(databaseKinds())('account security page (%s)', (kind) => {
  let gatehouse: TestGatehouse;
  let users = 0;
  const clock = new TestClock();
  const STEP = 30_000;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse(kind, { clock });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  async function signedIn(): Promise<{ browser: Browser; userId: string; page: Page }> {
    users += 1;
    const login = `mfa${users}@example.com`;
    const user = await gatehouse.container.accounts.createUser({ email: login, password: PASSWORD });
    const browser = new Browser(gatehouse.issuer);
    const loginPage = expectPage(await browser.navigate('/account/security'));
    expect(loginPage.url.pathname).toMatch(/^\/interaction\//);
    const page = expectPage(await browser.submit(loginPage, /\/login$/, { login, password: PASSWORD }));
    expect(page.url.pathname).toBe('/account/security');
    return { browser, userId: user.id, page };
  }

  const status = (userId: string) => gatehouse.container.mfa.status(userId);

  it('enrols an authenticator app: wrong code keeps it off, the right one turns it on and shows 10 codes once', async () => {
    const { browser, userId, page } = await signedIn();
    expect(page.status).toBe(200);
    expect(page.html).toContain('Two-step verification is <strong>off</strong>');

    const setup = expectPage(await browser.submit(page, /\/account\/security\/setup$/));
    expect(setup.url.pathname).toBe('/account/security/setup');
    expect(setup.status).toBe(200);
    // The QR code is drawn by the server as an SVG data: URI; no script and no third-party address on the page.
    const qr = /<img id="totp-qr" src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)"/.exec(setup.html);
    expect(qr).not.toBeNull();
    expect(Buffer.from(qr![1]!, 'base64').toString('utf8')).toMatch(/^<svg [\s\S]*<\/svg>\s*$/);
    expect(setup.html).not.toMatch(/<script|style=|https?:\/\/(?!127\.0\.0\.1)/);
    expect(setup.headers.get('content-security-policy')).toContain("img-src 'self' data:");
    const secret = shownSecret(setup);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);

    const now = clock.now().getTime();
    const valid = new Set([-1, 0, 1].map((d) => totpCode(secret, now + d * 30_000)));
    const wrongCode = ['000000', '111111', '222222', '333333'].find((c) => !valid.has(c))!;
    const wrong = expectPage(await browser.submit(setup, /\/activate$/, { code: wrongCode }));
    expect(wrong.status).toBe(400);
    expect(wrong.html).toMatch(/aria-invalid="true" aria-describedby="code-error"[\s\S]*<p class="field-error" id="code-error">That code is not right/);
    expect(shownSecret(wrong)).toBe(secret);
    expect(await status(userId)).toEqual({ enabled: false, recoveryCodesLeft: 0 });

    const done = expectPage(await browser.submit(wrong, /\/activate$/, { code: totpCode(secret, clock.now()) }));
    expect(done.status).toBe(200);
    const codes = shownRecoveryCodes(done);
    expect(codes).toHaveLength(10);
    expect(await status(userId)).toEqual({ enabled: true, recoveryCodesLeft: 10 });
    expect((await gatehouse.container.audit.list({ userId })).map((e) => e.type)).toContain('mfa.enrolled');
    // Shown once: the status page and a second look at the set-up page do not show them.
    const after = expectPage(await browser.navigate('/account/security'));
    expect(after.html).toContain('Two-step verification is <strong>on</strong>');
    expect(after.html).toContain('<strong id="recovery-codes-left">10</strong>');
    for (const code of codes) expect(after.html).not.toContain(code);
    expect(expectPage(await browser.navigate('/account/security/setup')).url.pathname).toBe('/account/security');
    // A recovery code works once.
    expect(await gatehouse.container.mfa.useRecoveryCode(userId, codes[0]!)).toEqual({ result: 'ok' });
    expect(await gatehouse.container.mfa.useRecoveryCode(userId, codes[0]!)).toEqual({ result: 'invalid' });
  });

  /** Signs in, turns the authenticator app on at /account/security; the session itself was signed in with the password alone. */
  async function withFactor() {
    const { browser, userId, page } = await signedIn();
    const setup = expectPage(await browser.submit(page, /\/setup$/));
    const secret = shownSecret(setup);
    const codes = shownRecoveryCodes(expectPage(await browser.submit(setup, /\/activate$/, { code: totpCode(secret, clock.now()) })));
    clock.advance(STEP);
    return { browser, userId, secret, codes };
  }

  const wrongCodeFor = (secret: string) => {
    const valid = new Set([-1, 0, 1].map((d) => totpCode(secret, clock.now().getTime() + d * STEP)));
    return ['000000', '111111', '222222', '333333'].find((c) => !valid.has(c))!;
  };

  it('renews recovery codes and turns the factor off only after a second-factor check of the last five minutes', async () => {
    const { browser, userId, secret, codes: first } = await withFactor();
    let security = expectPage(await browser.navigate('/account/security'));
    expect(security.html).not.toContain('current_password');

    // The session proved the password only: renewing the codes asks for a code from the app first, changing nothing.
    const asked = expectPage(await browser.submit(security, /\/recovery-codes$/));
    expect(asked.status).toBe(403);
    expect(asked.html).toContain('Confirm it is you');
    expect(asked.html).toContain('name="code"');
    expect(asked.html).not.toContain('name="password"');
    expect(await gatehouse.container.mfa.useRecoveryCode(userId, first[9]!)).toEqual({ result: 'ok' });

    const wrong = expectPage(await browser.submit(asked, /\/account\/confirm$/, { code: wrongCodeFor(secret) }));
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('That code is not right.');
    const cookieBefore = browser.cookie('gatehouse_session');
    const back = expectPage(await browser.submit(wrong, /\/account\/confirm$/, { code: totpCode(secret, clock.now()) }));
    expect(back.url.pathname).toBe('/account/security');
    // Confirming is an authentication: the session cookie takes a new value.
    expect(browser.cookie('gatehouse_session')).not.toBe(cookieBefore);
    const [session] = await gatehouse.container.sessions.listLive(userId);
    expect(session!.secondFactorAt).toEqual(clock.now());
    expect(await gatehouse.container.audit.list({ userId, types: ['session.reauthenticated'] })).toEqual([
      expect.objectContaining({ sessionId: session!.id, details: { method: 'second_factor' } }),
    ]);

    const fresh = shownRecoveryCodes(expectPage(await browser.submit(back, /\/recovery-codes$/)));
    expect(fresh).toHaveLength(10);
    expect(await gatehouse.container.mfa.useRecoveryCode(userId, first[1]!)).toEqual({ result: 'invalid' });

    // Five minutes on, the check is stale again: turning the factor off asks again (a recovery code also does).
    clock.advance(5 * 60_000 + 1000);
    security = expectPage(await browser.navigate('/account/security'));
    const again = expectPage(await browser.submit(security, /\/disable$/));
    expect(again.status).toBe(403);
    expect((await status(userId)).enabled).toBe(true);
    const confirmed = expectPage(await browser.submit(again, /\/account\/confirm$/, { recovery_code: fresh[0]! }));
    const disabled = expectPage(await browser.submit(confirmed, /\/disable$/));
    expect(disabled.url.search).toBe('?done=disabled');
    expect(disabled.html).toContain('Two-step verification is <strong>off</strong>');
    expect(await status(userId)).toEqual({ enabled: false, recoveryCodesLeft: 0 });
    const types = (await gatehouse.container.audit.list({ userId })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['mfa.enrolled', 'mfa.recovery_codes_regenerated', 'mfa.disabled']));
  });

  it('counts wrong recovery codes and codes at "Confirm it is you" toward the lock, and refuses both while locked', async () => {
    const { browser, userId, secret, codes } = await withFactor();
    const security = expectPage(await browser.navigate('/account/security'));
    let page = expectPage(await browser.submit(security, /\/recovery-codes$/));
    expect(page.status).toBe(403);
    for (let i = 0; i < 4; i += 1) {
      page = expectPage(await browser.submit(page, /\/account\/confirm$/, { recovery_code: `zzzzz-zzzz${2 + i}` }));
      expect(page.status).toBe(401);
      expect(page.html).toContain('That recovery code is not valid.');
    }
    page = expectPage(await browser.submit(page, /\/account\/confirm$/, { code: wrongCodeFor(secret) }));
    expect(page.status).toBe(429);
    expect(await gatehouse.container.audit.list({ userId, types: ['mfa.failed'] })).toHaveLength(5);
    expect(await gatehouse.container.audit.list({ userId, types: ['mfa.locked'] })).toHaveLength(1);
    for (const attempt of [{ code: totpCode(secret, clock.now()) }, { recovery_code: codes[0]! }] as Record<string, string>[]) {
      const refused = expectPage(await browser.submit(page, /\/account\/confirm$/, attempt));
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe(String(15 * 60));
      expect(refused.html).toContain('Try again in 15 minutes.');
      expect(refused.html).toContain('gatehouse users reset-mfa');
    }
    // Nothing was confirmed and no recovery code was spent.
    const [session] = await gatehouse.container.sessions.listLive(userId);
    expect(session!.secondFactorAt).toBeNull();
    expect(await status(userId)).toEqual({ enabled: true, recoveryCodesLeft: 10 });
  });

  it('changes the password of a user with two-step verification after a fresh code, without asking for the password', async () => {
    const { browser, userId, secret } = await withFactor();
    const asked = expectPage(await browser.navigate('/account/password'));
    expect(asked.status).toBe(403);
    expect(asked.html).toContain('Confirm it is you');
    // A wrong code on the confirmation page lets nothing through.
    const wrong = expectPage(await browser.submit(asked, /\/account\/confirm$/, { code: wrongCodeFor(secret) }));
    expect(wrong.status).toBe(401);
    const form = expectPage(await browser.submit(wrong, /\/account\/confirm$/, { code: totpCode(secret, clock.now()) }));
    expect(form.url.pathname).toBe('/account/password');
    expect(form.html).not.toContain('current_password');
    const changed = expectPage(await browser.submit(form, /\/account\/password$/, { new_password: 'a completely new passphrase', confirm_password: 'a completely new passphrase' }));
    expect(changed.url.search).toBe('?done=changed');
    const user = await gatehouse.container.accounts.findActiveById(userId);
    await expect(gatehouse.container.accounts.authenticate(user!.email, 'a completely new passphrase')).resolves.toMatchObject({ id: userId });
  });

  it('refuses a password change posted straight to the form without a recent code, leaving the password unchanged', async () => {
    const { browser, userId } = await withFactor();
    const { email } = (await gatehouse.container.accounts.findActiveById(userId))!;
    // A valid CSRF token of this session (any account form has one); even the right current password does not help.
    const { hidden } = findForm(expectPage(await browser.navigate('/account')).html, /\/account\/profile$/);
    const next = 'a completely new passphrase';
    const response = await browser.request('/account/password', { form: { ...hidden, current_password: PASSWORD, new_password: next, confirm_password: next } });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('Confirm it is you');
    await expect(gatehouse.container.accounts.authenticate(email, PASSWORD)).resolves.toMatchObject({ id: userId });
    await expect(gatehouse.container.accounts.authenticate(email, next)).rejects.toThrow();
    expect(await gatehouse.container.audit.list({ userId, types: ['user.password_changed'] })).toEqual([]);
  });

  it('enforces the rule in the services themselves: a stale session cannot change the password, the codes or the factor', async () => {
    const { userId } = await withFactor();
    const { container } = gatehouse;
    const [session] = await container.sessions.listLive(userId);
    const actor = { type: 'user' as const, id: userId };
    // Started one at a time: a rejection must not wait unobserved while an earlier attempt is awaited.
    const attempts = [
      () => container.accounts.changeOwnPassword(userId, { currentPassword: PASSWORD }, 'a completely new passphrase', session!.id, actor),
      () => container.mfa.regenerateRecoveryCodes(userId, session!.id, actor),
      () => container.mfa.disable(userId, session!.id, actor),
      () => container.accounts.endOwnSessions(userId, session!.id, { keepCurrent: false }, actor),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toThrow(ReauthenticationRequiredError);
    // A recent password check is not enough for a user with a second factor; another user's session counts for nothing.
    await container.sessions.recordReauthentication({ id: session!.id, userId }, 'password', actor);
    for (const attempt of attempts) await expect(attempt()).rejects.toThrow(ReauthenticationRequiredError);
    const other = await signedIn();
    const [otherSession] = await container.sessions.listLive(other.userId);
    await container.sessions.recordReauthentication({ id: otherSession!.id, userId: other.userId }, 'second_factor', { type: 'user', id: other.userId });
    await expect(container.mfa.disable(userId, otherSession!.id, actor)).rejects.toThrow(ReauthenticationRequiredError);
    expect(await status(userId)).toEqual({ enabled: true, recoveryCodesLeft: 10 });
    expect(await container.sessions.listLive(userId)).toHaveLength(1);

    await container.sessions.recordReauthentication({ id: session!.id, userId }, 'second_factor', actor);
    await expect(container.mfa.regenerateRecoveryCodes(userId, session!.id, actor)).resolves.toHaveLength(10);
  });

  it('logs a user with two-step verification out everywhere only after a recent code', async () => {
    const { browser, userId, secret } = await withFactor();
    const { email } = (await gatehouse.container.accounts.findActiveById(userId))!;
    const elsewhere = new Browser(gatehouse.issuer);
    const otp = expectPage(await elsewhere.submit(expectPage(await elsewhere.navigate('/account')), /\/login$/, { login: email, password: PASSWORD }));
    expect(expectPage(await elsewhere.submit(otp, /\/otp$/, { code: totpCode(secret, clock.now()) })).url.pathname).toBe('/account');
    clock.advance(STEP);
    const live = async () => (await gatehouse.container.sessions.listLive(userId)).length;
    expect(await live()).toBe(2);

    // This session was signed in with the password alone: no second-factor check, so both ways are refused.
    const sessionsPage = expectPage(await browser.navigate('/account/sessions'));
    let asked: Page | undefined;
    for (const action of [/\/end-others$/, /\/end-all$/]) {
      asked = expectPage(await browser.submit(sessionsPage, action));
      expect(asked.status).toBe(403);
      expect(asked.html).toContain('name="code"');
      expect(asked.html).not.toContain('name="password"');
    }
    expect(await live()).toBe(2);

    // A fresh code: logging out everywhere else ends the other session.
    const back = expectPage(await browser.submit(asked!, /\/account\/confirm$/, { code: totpCode(secret, clock.now()) }));
    expect(back.url.pathname).toBe('/account/sessions');
    const others = expectPage(await browser.submit(back, /\/end-others$/));
    expect(others.url.search).toBe('?done=others-ended');
    expect(await live()).toBe(1);

    // Five minutes on the check is stale again: logging out everywhere is refused until a new code.
    clock.advance(5 * 60_000 + 1000);
    const stale = expectPage(await browser.submit(others, /\/end-all$/));
    expect(stale.status).toBe(403);
    expect(await live()).toBe(1);
    const confirmed = expectPage(await browser.submit(stale, /\/account\/confirm$/, { code: totpCode(secret, clock.now()) }));
    const out = expectPage(await browser.submit(confirmed, /\/end-all$/));
    expect(out.status).toBe(200);
    expect(await live()).toBe(0);
  });

  it('asks a user without two-step verification for the password again before logging out everywhere, after five minutes', async () => {
    const { browser, userId } = await signedIn();
    const { email } = (await gatehouse.container.accounts.findActiveById(userId))!;
    const elsewhere = new Browser(gatehouse.issuer);
    expectPage(await elsewhere.submit(expectPage(await elsewhere.navigate('/account')), /\/login$/, { login: email, password: PASSWORD }));
    expect(await gatehouse.container.sessions.listLive(userId)).toHaveLength(2);
    // Just signed in with the password: logging out everywhere else is allowed at once.
    const sessionsPage = expectPage(await browser.navigate('/account/sessions'));
    expect(expectPage(await browser.submit(sessionsPage, /\/end-others$/)).url.search).toBe('?done=others-ended');

    clock.advance(5 * 60_000 + 1000);
    const later = expectPage(await browser.navigate('/account/sessions'));
    const asked = expectPage(await browser.submit(later, /\/end-all$/));
    expect(asked.status).toBe(403);
    expect(asked.html).toContain('name="password"');
    expect(await gatehouse.container.sessions.listLive(userId)).toHaveLength(1);
    const wrong = expectPage(await browser.submit(asked, /\/account\/confirm$/, { password: 'not my password' }));
    expect(wrong.status).toBe(401);
    const back = expectPage(await browser.submit(wrong, /\/account\/confirm$/, { password: PASSWORD }));
    expect(back.url.pathname).toBe('/account/sessions');
    const [session] = await gatehouse.container.sessions.listLive(userId);
    expect(session!.passwordAt).toEqual(clock.now());
    const out = expectPage(await browser.submit(back, /\/end-all$/));
    expect(out.status).toBe(200);
    expect(await gatehouse.container.sessions.listLive(userId)).toHaveLength(0);
  });

  it('refuses every form without the CSRF token, changing nothing', async () => {
    const { browser, userId, page } = await signedIn();
    const setupForm = findForm(page.html, /\/setup$/);
    const noToken = await browser.request('/account/security/setup', { form: {} });
    expect(noToken.status).toBe(403);
    const forged = await browser.request('/account/security/setup', { form: { csrf: 'x'.repeat(43) } });
    expect(forged.status).toBe(403);
    expect(await gatehouse.container.mfa.pendingEnrolment(userId, 'x')).toBeUndefined();

    const setup = expectPage(await browser.navigate('/account/security/setup', { form: setupForm.hidden }));
    const secret = shownSecret(setup);
    for (const path of ['/account/security/activate', '/account/security/recovery-codes', '/account/security/disable']) {
      const response = await browser.request(path, { form: { code: totpCode(secret, clock.now()), current_password: PASSWORD } });
      expect(response.status).toBe(403);
    }
    expect(await status(userId)).toEqual({ enabled: false, recoveryCodesLeft: 0 });
  });

  it('sends a signed-out browser to sign in', async () => {
    const browser = new Browser(gatehouse.issuer);
    const response = await browser.request('/account/security');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/\/auth\?/);
  });
});

describe('REAUTHENTICATION_MAX_AGE', () => {
  let gatehouse: TestGatehouse;
  const clock = new TestClock();

  beforeAll(async () => {
    gatehouse = await startTestGatehouse('sqlite', { clock, env: { REAUTHENTICATION_MAX_AGE: '60' } });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('is the window of a recent check: allowed at exactly its age, refused a moment later', async () => {
    const user = await gatehouse.container.accounts.createUser({ email: 'window@example.com', password: PASSWORD });
    const browser = new Browser(gatehouse.issuer);
    const signedIn = expectPage(await browser.submit(expectPage(await browser.navigate('/account')), /\/login$/, { login: 'window@example.com', password: PASSWORD }));
    expect(signedIn.url.pathname).toBe('/account');
    // "Log out everywhere else", posted with this session's CSRF token: 303 when allowed, the confirmation page when not.
    const { hidden } = findForm(signedIn.html, /\/account\/profile$/);
    const endOthers = () => browser.request('/account/sessions/end-others', { form: hidden });
    // 61 seconds after signing in: inside the default five minutes, but past this configuration's minute.
    clock.advance(61_000);
    const asked = await endOthers();
    expect(asked.status).toBe(403);
    expect(await asked.text()).toContain('name="password"');
    const confirm = await browser.request('/account/confirm', { form: { ...hidden, return_to: '/account/sessions', password: PASSWORD } });
    expect(confirm.status).toBe(303);
    const [session] = await gatehouse.container.sessions.listLive(user.id);
    expect(session!.passwordAt).toEqual(clock.now());

    clock.advance(60_000);
    const allowed = await endOthers();
    expect(allowed.status).toBe(303);
    expect(allowed.headers.get('location')).toBe('/account/sessions?done=others-ended');
    clock.advance(1);
    expect((await endOthers()).status).toBe(403);
  });
});
