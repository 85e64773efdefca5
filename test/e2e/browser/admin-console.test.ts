import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { startRelyingApp, type RunningRelyingApp } from '../../../demo/relying-app.js';
import { cspViolations, describeWithChromium, launchChromium, screenshot, signInAtGatehouse, type Browser, type Page } from '../../support/chromium.js';
import { TestClock } from '../../support/clock.js';
import { startTestGatehouse, type TestGatehouse } from '../../support/gatehouse.js';
import { totpCode } from '../../support/mfa-fakes.js';

const PASSWORD = 'correct horse battery staple';

jest.setTimeout(120_000);

async function listening(): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Whether the page fits the viewport's width (nothing scrolls sideways). */
async function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  // A string, evaluated in the page (the test code is compiled without the DOM's types).
  return page.evaluate<{ scrollWidth: number; innerWidth: number }>('({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })');
}

describeWithChromium('admin console in Chromium', () => {
  let gatehouse: TestGatehouse;
  let chromium: Browser;
  let relyingApp: RunningRelyingApp | undefined;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse('sqlite');
    const { accounts } = gatehouse.container;
    await accounts.createUser({ email: 'admin@example.com', password: PASSWORD, name: 'Ada Admin' });
    await accounts.setAdmin('admin@example.com', true);
    await accounts.createUser({ email: 'user@example.com', password: PASSWORD, name: 'Una User' });
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await relyingApp?.close();
    await gatehouse?.stop();
  });

  async function signedInPage(email: string, path = '/admin'): Promise<{ page: Page; violations: string[] }> {
    const context = await chromium.newContext();
    const page = await context.newPage();
    const violations = cspViolations(page);
    await page.goto(`${gatehouse.issuer}${path}`);
    await page.waitForURL(/\/interaction\//);
    await screenshot(page, 'login');
    await signInAtGatehouse(page, email, PASSWORD);
    return { page, violations };
  }

  it('an admin registers a client in the console, and a user signs in to that very client through its relying party', async () => {
    // The relying party's address is known before it is registered: it listens first.
    const { server, baseUrl } = await listening();
    const { page, violations } = await signedInPage('admin@example.com');
    await page.waitForURL(`${gatehouse.issuer}/admin/clients`);
    await page.getByRole('heading', { name: 'Clients' }).waitFor();
    await screenshot(page, 'admin-clients');

    await page.getByRole('link', { name: 'Register a client' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Browser-registered app');
    await page.getByLabel('Redirect URIs', { exact: true }).fill('not a url');
    await page.getByLabel('Back-channel logout URI').fill(`${baseUrl}/backchannel-logout`);
    await page.getByLabel('First-party (no consent page)').check();
    await page.getByRole('button', { name: 'Register' }).click();

    const redirectField = page.getByLabel('Redirect URIs', { exact: true });
    await expect(redirectField.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.locator('#redirect-uri-error').textContent()).resolves.toContain('not a url is not an absolute URL.');
    // What was typed is still there, and nothing was saved.
    await expect(page.getByLabel('Name', { exact: true }).inputValue()).resolves.toBe('Browser-registered app');
    await expect(page.getByLabel('Back-channel logout URI').inputValue()).resolves.toBe(`${baseUrl}/backchannel-logout`);
    expect((await gatehouse.container.admin.listClients('Browser-registered', { limit: 10, offset: 0 })).items).toHaveLength(0);
    await screenshot(page, 'admin-client-form-error');

    await redirectField.fill(`${baseUrl}/callback`);
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { name: 'Client secret' }).waitFor();
    const clientId = (await page.locator('#client-id').textContent())!;
    const clientSecret = (await page.locator('#client-secret').textContent())!;
    expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await gatehouse.container.clients.get(clientId)).toMatchObject({
      name: 'Browser-registered app',
      redirectUris: [`${baseUrl}/callback`],
      backchannelLogoutUri: `${baseUrl}/backchannel-logout`,
      firstParty: true,
    });
    await screenshot(page, 'admin-client-created');
    expect(violations).toEqual([]);

    // The relying party uses what the console showed: the client id and the secret shown once.
    relyingApp = await startRelyingApp({ name: 'Browser-registered app', cookiePrefix: 'registered', issuer: gatehouse.issuer, clientId, clientSecret, baseUrl, server });
    const userContext = await chromium.newContext();
    const user = await userContext.newPage();
    await user.goto(relyingApp.url);
    await expect(user.locator('#state').getAttribute('data-state')).resolves.toBe('signed-out');
    await user.getByRole('button', { name: 'Sign in with Gatehouse' }).click();
    await user.waitForURL(/\/interaction\//);
    await expect(user.locator('main').textContent()).resolves.toContain('Browser-registered app');
    await signInAtGatehouse(user, 'user@example.com', PASSWORD);
    // First-party, as registered: no consent page, straight back to the application, signed in.
    await user.waitForURL(`${relyingApp.url}/`);
    await expect(user.locator('#state').getAttribute('data-state')).resolves.toBe('signed-in');
    await expect(user.locator('#state').textContent()).resolves.toContain('user@example.com');
    await screenshot(user, 'registered-app-signed-in');
    const userId = (await gatehouse.container.accounts.getByEmail('user@example.com')).id;
    const [session] = await gatehouse.container.sessions.listLive(userId);
    expect(session!.clients.map((c) => c.clientId)).toEqual([clientId]);
    await userContext.close();
  });

  it('shows the other sections, also at phone width, and the delete confirmation and deliveries', async () => {
    // A delivery to show: the user's session with the registered application ends, and Gatehouse tells it.
    const user = await gatehouse.container.accounts.getByEmail('user@example.com');
    await gatehouse.container.sessions.endAllForUser(user.id, 'revoked_by_admin', { type: 'admin', id: 'test' });
    await gatehouse.container.logoutDelivery.drain();
    const { client } = await gatehouse.container.clients.create({ name: 'To be deleted', grantTypes: ['client_credentials'], scope: 'profile' });
    const { page } = await signedInPage('admin@example.com', '/admin/users');
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await screenshot(page, 'admin-users');
    await page.getByRole('link', { name: 'admin@example.com' }).click();
    await screenshot(page, 'admin-user');
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await expect(page.locator('td code', { hasText: 'client.created' }).count()).resolves.toBeGreaterThan(0);
    await screenshot(page, 'admin-audit');
    await page.getByRole('link', { name: 'Logout deliveries' }).click();
    await page.getByRole('heading', { name: 'Back-channel logout deliveries' }).waitFor();
    await screenshot(page, 'admin-deliveries');
    await page.goto(`${gatehouse.issuer}/admin/clients/${client.clientId}`);
    await page.getByRole('link', { name: 'Delete', exact: true }).click();
    await page.getByRole('heading', { name: 'Delete this client?' }).waitFor();
    await screenshot(page, 'admin-client-delete');
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${gatehouse.issuer}/admin/clients`);
    await screenshot(page, 'admin-clients-phone');
  });

  it('fits a 375-pixel-wide phone screen: no page of the console or the account scrolls sideways', async () => {
    const { client } = await gatehouse.container.clients.create({
      name: 'A client with a rather long name for a narrow screen',
      redirectUris: ['https://a-very-long-host-name-for-testing.example.com/oauth2/callback/with/a/long/path'],
      backchannelLogoutUri: 'https://a-very-long-host-name-for-testing.example.com/backchannel-logout',
    });
    const admin = await gatehouse.container.accounts.getByEmail('admin@example.com');
    const context = await chromium.newContext({ viewport: { width: 375, height: 740 } });
    const page = await context.newPage();
    await page.goto(`${gatehouse.issuer}/admin/clients`);
    await page.waitForURL(/\/interaction\//);
    await expect(horizontalOverflow(page).then((o) => o.scrollWidth <= o.innerWidth)).resolves.toBe(true);
    await signInAtGatehouse(page, 'admin@example.com', PASSWORD);
    const pages = [
      '/admin/clients',
      '/admin/clients/new',
      `/admin/clients/${client.clientId}`,
      `/admin/clients/${client.clientId}/edit`,
      `/admin/clients/${client.clientId}/delete`,
      '/admin/users',
      '/admin/users/new',
      `/admin/users/${admin.id}`,
      '/admin/deliveries',
      '/admin/audit',
      '/account',
      '/account/sessions',
      '/account/password',
      '/account/security',
    ];
    const overflowing: string[] = [];
    for (const path of pages) {
      await page.goto(`${gatehouse.issuer}${path}`);
      expect(new URL(page.url()).pathname).toBe(path);
      const { scrollWidth, innerWidth } = await horizontalOverflow(page);
      expect(innerWidth).toBe(375);
      if (scrollWidth > innerWidth) overflowing.push(`${path}: ${scrollWidth}px`);
    }
    expect(overflowing).toEqual([]);
    await screenshot(page, 'account-security-phone');
    await context.close();
  });

  it('can be used with the keyboard: Tab goes email, password, keep me signed in, Sign in; Enter submits', async () => {
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(`${gatehouse.issuer}/account`);
    await page.waitForURL(/\/interaction\//);
    // Start from the top of the page (its first focusable element, the skip link), as a keyboard user arriving does.
    await page.locator('a.skip-link').focus();
    const focused = () =>
      page.evaluate<string>(`(() => {
        const element = document.activeElement;
        if (!element || element === document.body) return 'body';
        return element.id ? '#' + element.id : element.tagName.toLowerCase() + ':' + (element.textContent || '').trim();
      })()`);
    const order: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await focused());
    }
    const start = order.indexOf('#login');
    expect(start).toBeGreaterThanOrEqual(0);
    expect(order.slice(start, start + 4)).toEqual(['#login', '#password', '#remember', 'button:Sign in']);
    // Nothing but the frame comes between the skip link and the form.
    expect(order.slice(0, start).every((f) => !/^#(password|remember)$/.test(f))).toBe(true);

    await page.locator('#login').focus();
    await page.keyboard.type('user@example.com');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await expect(page.locator('#remember').isChecked()).resolves.toBe(true);
    await page.locator('#password').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${gatehouse.issuer}/account`);
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    const userId = (await gatehouse.container.accounts.getByEmail('user@example.com')).id;
    expect((await gatehouse.container.sessions.listLive(userId)).some((s) => s.remember)).toBe(true);
    await page.goto(`${gatehouse.issuer}/account/password`);
    await page.getByRole('heading', { name: 'Change your password' }).waitFor();
    await screenshot(page, 'account-password');
    await page.goto(`${gatehouse.issuer}/account/security`);
    await screenshot(page, 'account-security');
    await context.close();
  });

  it('refuses a signed-in user who is not an admin', async () => {
    const { page } = await signedInPage('user@example.com', '/admin/users');
    await page.getByRole('heading', { name: 'No access to the admin console' }).waitFor();
    await expect(page.locator('body').textContent()).resolves.toContain('Ask an administrator to grant it');
    await expect(page.locator('body').textContent()).resolves.not.toContain('admin@example.com');
    await screenshot(page, 'admin-forbidden');
  });

  it('refuses a form without its CSRF token and changes nothing', async () => {
    const { page } = await signedInPage('admin@example.com', '/admin/users/new');
    await page.getByRole('heading', { name: 'Create a user' }).waitFor();
    await page.getByLabel('Email', { exact: true }).fill('csrf@example.com');
    await page.getByLabel('Initial password').fill(PASSWORD);
    // An attacker's copy of the form: the same fields without the token.
    await page.locator('input[name="csrf"]').evaluateAll((inputs) => inputs.forEach((input) => input.remove()));
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Create user' }).click()]);
    expect(response.status()).toBe(403);
    await expect(page.locator('body').textContent()).resolves.toContain('This form has expired or was not sent by Gatehouse');
    await expect(gatehouse.container.accounts.getByEmail('csrf@example.com')).rejects.toThrow('No user');
  });

  it('signs out from the frame of the console', async () => {
    const { page } = await signedInPage('admin@example.com', '/admin/clients');
    await page.getByRole('heading', { name: 'Clients' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await page.goto(`${gatehouse.issuer}/admin/clients`);
    await page.waitForURL(/\/interaction\//);
  });

  it('serves the pages under a strict CSP with no inline script or style', async () => {
    const context = await chromium.newContext();
    const page = await context.newPage();
    const violations = cspViolations(page);
    await page.goto(`${gatehouse.issuer}/account`);
    await page.waitForURL(/\/interaction\//);
    const response = await page.reload();
    const header = response!.headers()['content-security-policy']!;
    expect(header).toContain("default-src 'none'");
    expect(header).toContain("script-src 'self'");
    expect(header).toContain("style-src 'self'");
    expect(header).not.toContain('unsafe-inline');
    await expect(page.locator('script').count()).resolves.toBe(0);
    await expect(page.locator('style, [style]').count()).resolves.toBe(0);
    // Both stylesheets applied: the brand colour reaches the button.
    const background = await page.getByRole('button', { name: 'Sign in' }).evaluate((button) => button.ownerDocument.defaultView!.getComputedStyle(button).backgroundColor);
    expect(background).toBe('rgb(31, 95, 191)');
    expect(violations).toEqual([]);
  });
});

describeWithChromium('admin console step-up in Chromium', () => {
  let gatehouse: TestGatehouse;
  let chromium: Browser;
  const clock = new TestClock();

  beforeAll(async () => {
    gatehouse = await startTestGatehouse('sqlite', { clock });
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await gatehouse?.stop();
  });

  it('sends an admin with an authenticator app to "Confirm it is you" and back to the page, before a form and after a button', async () => {
    const { accounts, mfa } = gatehouse.container;
    const admin = await accounts.createUser({ email: 'mfa-admin@example.com', password: PASSWORD });
    await accounts.setAdmin(admin.email, true);
    const target = await accounts.createUser({ email: 'someone@example.com', password: PASSWORD });
    const { secret } = await mfa.startEnrolment(admin.id, admin.email);
    await mfa.activate(admin.id, totpCode(secret, clock.now()));
    const code = () => {
      clock.advance(30_000);
      return totpCode(secret, clock.now());
    };

    const context = await chromium.newContext();
    const page = await context.newPage();
    const violations = cspViolations(page);
    await page.goto(`${gatehouse.issuer}/admin/clients`);
    await page.waitForURL(/\/interaction\//);
    await signInAtGatehouse(page, admin.email, PASSWORD);
    await page.locator('#code').fill(code());
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${gatehouse.issuer}/admin/clients`);

    // Later: the form to register a client asks first.
    clock.advance(5 * 60_000 + 1000);
    await page.getByRole('link', { name: 'Register a client' }).click();
    await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/account/confirm');
    await screenshot(page, 'confirm-it-is-you');
    await page.getByLabel('Code from the app').fill(code());
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForURL(`${gatehouse.issuer}/admin/clients/new`);
    await page.getByRole('heading', { name: 'Register a client' }).waitFor();

    // Later again: a button on a user's page (no form to lose) asks, then comes back to that page; the second
    // press does it.
    clock.advance(5 * 60_000 + 1000);
    await page.goto(`${gatehouse.issuer}/admin/users/${target.id}`);
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    expect((await accounts.getByEmail(target.email)).disabledAt).toBeNull();
    await page.getByLabel('Code from the app').fill(code());
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForURL(`${gatehouse.issuer}/admin/users/${target.id}`);
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByText('The user is disabled').waitFor();
    expect((await accounts.getByEmail(target.email)).disabledAt).not.toBeNull();
    expect(violations).toEqual([]);
    await context.close();
  });
});
