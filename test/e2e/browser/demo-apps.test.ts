import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { startRelyingApp, type RunningRelyingApp } from '../../../demo/relying-app.js';
import { DEMO_USER, ensureDemoSetup } from '../../../demo/setup.js';
import { cspViolations, describeWithChromium, launchChromium, screenshot, signInAtGatehouse, type Browser, type Page } from '../../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../../support/gatehouse.js';
import { totpCode } from '../../support/mfa-fakes.js';

jest.setTimeout(120_000);

async function listening(): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

// The demo's two relying apps (demo/relying-app.ts, the same code `npm run demo` runs), registered the way the demo
// registers them, against a real Gatehouse, driven in Chromium.
describeWithChromium('demo apps in Chromium: SSO, step-up, back-channel logout', () => {
  let gatehouse: TestGatehouse;
  let chromium: Browser;
  let appA: RunningRelyingApp;
  let appB: RunningRelyingApp;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse('sqlite');
    const [a, b] = [await listening(), await listening()];
    const apps = [
      { name: 'Notes (app A)', cookiePrefix: 'demo_notes', baseUrl: a.baseUrl, server: a.server },
      { name: 'Calendar (app B)', cookiePrefix: 'demo_calendar', baseUrl: b.baseUrl, server: b.server },
    ];
    const registered = await ensureDemoSetup(gatehouse.container, apps);
    // Idempotent: a second start finds the same clients and does not add any.
    const again = await ensureDemoSetup(gatehouse.container, apps);
    expect(again.map((c) => c.clientId)).toEqual(registered.map((c) => c.clientId));
    const start = (i: number) => startRelyingApp({ ...apps[i]!, issuer: gatehouse.issuer, clientId: again[i]!.clientId, clientSecret: again[i]!.clientSecret });
    appA = await start(0);
    appB = await start(1);
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await appA?.close();
    await appB?.close();
    await gatehouse?.stop();
  });

  const stateOf = (page: Page) => page.locator('#state').getAttribute('data-state');

  it('signs in to app A, reaches app B without a password, enrols TOTP, steps up, and ending the session at /account/sessions signs both apps out', async () => {
    const context = await chromium.newContext();
    const page = await context.newPage();
    const violations = cspViolations(page);
    const visited: string[] = [];
    page.on('framenavigated', (frame) => visited.push(frame.url()));

    // App A: sign in through Gatehouse.
    await page.goto(appA.url);
    await expect(stateOf(page)).resolves.toBe('signed-out');
    await page.getByRole('button', { name: 'Sign in with Gatehouse' }).click();
    await page.waitForURL(/\/interaction\//);
    await signInAtGatehouse(page, DEMO_USER.email, DEMO_USER.password);
    await page.waitForURL(`${appA.url}/`);
    await expect(stateOf(page)).resolves.toBe('signed-in');
    // The app asked Gatehouse's userinfo endpoint who this is.
    await expect(page.locator('#state').textContent()).resolves.toBe(`Signed in as ${DEMO_USER.email}.`);
    await expect(page.locator('#acr').textContent()).resolves.toBe('urn:gatehouse:loa:1');
    await screenshot(page, 'demo-app-a-signed-in');

    // App B: single sign-on, no password asked.
    visited.length = 0;
    await page.goto(appB.url);
    await page.getByRole('button', { name: 'Sign in with Gatehouse' }).click();
    await page.waitForURL(`${appB.url}/`);
    await expect(stateOf(page)).resolves.toBe('signed-in');
    expect(visited.filter((url) => url.includes('/interaction/'))).toEqual([]);
    await screenshot(page, 'demo-app-b-sso');

    // Enrol an authenticator app at /account/security; the test computes the codes.
    await page.goto(`${gatehouse.issuer}/account/security`);
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = (await page.locator('#totp-secret').textContent())!.replace(/\s+/g, '');
    await screenshot(page, 'account-security-setup');
    // The previous 30-second step (accepted within the drift window), so the current one is still unused for the step-up.
    await page.getByLabel('Code from the app').fill(totpCode(secret, Date.now() - 30_000));
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    await page.waitForLoadState('load');
    await expect(gatehouse.container.mfa.status((await gatehouse.container.accounts.getByEmail(DEMO_USER.email)).id)).resolves.toMatchObject({ enabled: true });

    // Step up in app A: signed in already, so only the code is asked for (no password).
    await page.goto(appA.url);
    await page.getByRole('button', { name: 'Step up to two-step verification' }).click();
    await page.waitForURL(/\/interaction\//);
    await expect(page.locator('#password').count()).resolves.toBe(0);
    await page.locator('#code').fill(totpCode(secret, Date.now()));
    await screenshot(page, 'second-factor');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${appA.url}/`);
    await expect(page.locator('#acr').textContent()).resolves.toBe('urn:gatehouse:loa:2');
    await expect(page.locator('#amr').textContent()).resolves.toBe('pwd + otp');
    await screenshot(page, 'demo-app-a-stepped-up');

    // The account pages in the same frame: the user's details and "your devices", where both apps are listed.
    await page.goto(`${gatehouse.issuer}/account`);
    await screenshot(page, 'account');
    await page.goto(`${gatehouse.issuer}/account/sessions`);
    await expect(page.locator('main').textContent()).resolves.toMatch(/Notes \(app A\)[\s\S]*Calendar \(app B\)|Calendar \(app B\)[\s\S]*Notes \(app A\)/);
    await screenshot(page, 'account-sessions');

    // End the session at "your devices": Gatehouse posts logout tokens to both apps' back-channel endpoints.
    const [logoutsA, logoutsB] = [appA.logouts.length, appB.logouts.length];
    await page.getByRole('button', { name: 'End this session and sign out here' }).click();
    await page.waitForLoadState('load');
    await gatehouse.container.logoutDelivery.drain();
    for (const app of [appB, appA]) {
      await page.goto(app.url);
      await expect(stateOf(page)).resolves.toBe('signed-out-by-back-channel');
    }
    expect(appA.logouts).toHaveLength(logoutsA + 1);
    expect(appB.logouts).toHaveLength(logoutsB + 1);
    expect(appA.logouts.at(-1)!.sid).toEqual(expect.any(String));
    await screenshot(page, 'demo-app-a-signed-out-by-back-channel');
    expect(violations).toEqual([]);
  });

  it('refuses a forged logout token at the back-channel endpoint', async () => {
    const before = appA.logouts.length;
    const forged = await fetch(`${appA.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }).toString(),
    });
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ error: 'invalid_request' });
    expect(appA.logouts).toHaveLength(before);
  });

  it('logging out of app B (RP-initiated) signs app A out through its back-channel endpoint', async () => {
    const user = { email: 'leaver@example.com', password: 'leaver password 123' };
    await gatehouse.container.accounts.createUser(user);
    const context = await chromium.newContext();
    const page = await context.newPage();
    const logoutsA = appA.logouts.length;

    await page.goto(appA.url);
    await page.getByRole('button', { name: 'Sign in with Gatehouse' }).click();
    await page.waitForURL(/\/interaction\//);
    await signInAtGatehouse(page, user.email, user.password);
    await page.waitForURL(`${appA.url}/`);
    await page.goto(appB.url);
    await page.getByRole('button', { name: 'Sign in with Gatehouse' }).click();
    await page.waitForURL(`${appB.url}/`);
    await expect(stateOf(page)).resolves.toBe('signed-in');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${appB.url}/`);
    await expect(stateOf(page)).resolves.toBe('signed-out');
    await gatehouse.container.logoutDelivery.drain();
    await page.goto(appA.url);
    await expect(stateOf(page)).resolves.toBe('signed-out-by-back-channel');
    expect(appA.logouts).toHaveLength(logoutsA + 1);
    await context.close();
  });
});
