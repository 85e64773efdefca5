import { jest } from '@jest/globals';
import { cspViolations, describeWithChromium, launchChromium, screenshot, signInAtGatehouse, type Browser, type Page } from '../../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../../support/gatehouse.js';

const PASSWORD = 'correct horse battery staple';

jest.setTimeout(90_000);

describeWithChromium('admin console in Chromium', () => {
  let gatehouse: TestGatehouse;
  let chromium: Browser;

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

  it('lets an admin register a client: a field error first, then the secret shown once', async () => {
    const { page, violations } = await signedInPage('admin@example.com');
    await page.waitForURL(`${gatehouse.issuer}/admin/clients`);
    await page.getByRole('heading', { name: 'Clients' }).waitFor();
    await screenshot(page, 'admin-clients');

    await page.getByRole('link', { name: 'Register a client' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Browser-registered app');
    await page.getByLabel('Redirect URIs', { exact: true }).fill('not a url');
    await page.getByLabel('Back-channel logout URI').fill('https://app.example/backchannel');
    await page.getByLabel('First-party (no consent page)').check();
    await page.getByRole('button', { name: 'Register' }).click();

    const redirectField = page.getByLabel('Redirect URIs', { exact: true });
    await expect(redirectField.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.locator('#redirect-uri-error').textContent()).resolves.toContain('not a url is not an absolute URL.');
    // What was typed is still there, and nothing was saved.
    await expect(page.getByLabel('Name', { exact: true }).inputValue()).resolves.toBe('Browser-registered app');
    await expect(page.getByLabel('Back-channel logout URI').inputValue()).resolves.toBe('https://app.example/backchannel');
    expect((await gatehouse.container.admin.listClients('Browser-registered', { limit: 10, offset: 0 })).items).toHaveLength(0);
    await screenshot(page, 'admin-client-form-error');

    await redirectField.fill('https://app.example/callback');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { name: 'Client secret' }).waitFor();
    const clientId = (await page.locator('#client-id').textContent())!;
    const secret = (await page.locator('#client-secret').textContent())!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await gatehouse.container.clients.get(clientId)).toMatchObject({
      name: 'Browser-registered app',
      redirectUris: ['https://app.example/callback'],
      backchannelLogoutUri: 'https://app.example/backchannel',
      firstParty: true,
    });
    await screenshot(page, 'admin-client-created');

    // The console at phone width, and the other sections.
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${gatehouse.issuer}/admin/clients`);
    await screenshot(page, 'admin-clients-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await screenshot(page, 'admin-users');
    await page.getByRole('link', { name: 'admin@example.com' }).click();
    await screenshot(page, 'admin-user');
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await expect(page.locator('td code', { hasText: 'client.created' }).count()).resolves.toBeGreaterThan(0);
    await screenshot(page, 'admin-audit');
    expect(violations).toEqual([]);
  });

  it('refuses a signed-in user who is not an admin', async () => {
    const { page } = await signedInPage('user@example.com', '/admin/users');
    await page.getByRole('heading', { name: 'No access to the admin console' }).waitFor();
    await expect(page.locator('body').textContent()).resolves.toContain('Ask an administrator to grant it');
    await expect(page.locator('body').textContent()).resolves.not.toContain('admin@example.com');
    await screenshot(page, 'admin-forbidden');
  });

  it('refuses a form without its CSRF token and changes nothing', async () => {
    const { page } = await signedInPage('admin@example.com', '/admin/users');
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByLabel('Email', { exact: true }).fill('csrf@example.com');
    await page.getByLabel('Initial password').fill(PASSWORD);
    // An attacker's copy of the form: the same fields without the token.
    await page.locator('input[name="csrf"]').evaluateAll((inputs) => inputs.forEach((input) => input.remove()));
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Create user' }).click()]);
    expect(response.status()).toBe(403);
    await expect(page.locator('body').textContent()).resolves.toContain('This form has expired or was not sent by Gatehouse');
    await expect(gatehouse.container.accounts.getByEmail('csrf@example.com')).rejects.toThrow('No user');
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
