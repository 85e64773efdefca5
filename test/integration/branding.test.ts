import { Browser, expectPage } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

// Branding is configuration only: the name and logo in every page's frame, the colour through a generated stylesheet
// (the CSP allows no inline style), and the logo's origin added to img-src and nowhere else.
describe('branding from configuration', () => {
  let gatehouse: TestGatehouse;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse('sqlite', {
      env: { BRAND_NAME: 'Acme ID', BRAND_LOGO_URL: 'https://cdn.acme.example/logo.svg', BRAND_PRIMARY_COLOR: '#7a1f5c' },
    });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('shows the product name and logo on the pages, with the colour in /assets/brand.css', async () => {
    const page = expectPage(await new Browser(gatehouse.issuer).navigate('/account'));
    expect(page.html).toContain('<title>Sign in · Acme ID</title>');
    expect(page.html).toContain('<img class="logo" src="https://cdn.acme.example/logo.svg" alt="">Acme ID');
    expect(page.html).toContain('<link rel="stylesheet" href="/assets/brand.css">');
    expect(page.html).not.toMatch(/<script|<style|\sstyle=/i);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("img-src 'self' data: https://cdn.acme.example;");
    expect(csp).toContain("style-src 'self';");

    const css = await fetch(`${gatehouse.issuer}/assets/brand.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    const text = await css.text();
    expect(text).toContain('--brand: #7a1f5c;');
    expect(text).toMatch(/--brand-dark: #[0-9a-f]{6};/);
  });

  it('names the authenticator-app entry after the brand', async () => {
    const user = await gatehouse.container.accounts.createUser({ email: 'brand@example.com', password: 'correct horse battery' });
    const enrolment = await gatehouse.container.mfa.startEnrolment(user.id, user.email);
    expect(decodeURIComponent(enrolment.otpauthUri)).toContain('issuer=Acme ID');
  });
});
