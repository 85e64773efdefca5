import { Browser, expectPage, type Page } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { throttleStoreEnv, throttleStores } from '../support/redis.js';

const PASSWORD = 'correct horse battery staple';
const WRONG = 'not the password at all';
const USER_AGENT = 'ThrottleTest/1.0';
const THROTTLED = /Too many attempts\. Try again in (\d+) minutes?\./;

describe.each(throttleStores())('password attempt throttling (%s)', (store) => {
  let gatehouse: TestGatehouse;

  // A fresh Gatehouse per test: each starts with no failures counted (in Redis, under keys of its own).
  beforeEach(async () => {
    gatehouse = await startTestGatehouse('sqlite', {
      env: {
        LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
        LOGIN_MAX_FAILURES_PER_IP: '6',
        LOGIN_FAILURE_WINDOW: '600',
        LOGIN_BLOCK_DURATION: '300',
        ...throttleStoreEnv(store),
      },
    });
  });

  afterEach(async () => {
    await gatehouse?.stop();
  });

  const newUser = async (email: string) => gatehouse.container.accounts.createUser({ email, password: PASSWORD, name: null });
  const events = async (userId: string) => gatehouse.container.audit.list({ userId });

  /** The login page, reached as the account pages reach it. */
  async function loginPage(browser: Browser): Promise<Page> {
    const page = expectPage(await browser.navigate('/account'));
    expect(page.url.pathname).toMatch(/^\/interaction\//);
    return page;
  }

  /** One login attempt through the real form; the page it answers with (a signed-in account page, or the login page again). */
  async function attempt(browser: Browser, page: Page, login: string, password: string): Promise<Page> {
    return expectPage(await browser.submit(page, /\/login$/, { login, password }));
  }

  function expectThrottled(page: Page) {
    expect(page.status).toBe(429);
    const retryAfter = Number(page.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(300);
    const minutes = Number(THROTTLED.exec(page.html)?.[1]);
    expect(minutes).toBe(Math.ceil(retryAfter / 60));
    expect(page.html).not.toContain('Invalid email or password.');
  }

  async function failures(browser: Browser, login: string, count: number): Promise<Page> {
    let page = await loginPage(browser);
    for (let i = 0; i < count; i += 1) {
      page = await attempt(browser, page, login, WRONG);
      expect(page.status).toBe(401);
      expect(page.html).toContain('Invalid email or password.');
    }
    return page;
  }

  it('refuses the attempt after the per-account limit, even with the right password, and audits it', async () => {
    const ada = await newUser('ada@example.com');
    const browser = new Browser(gatehouse.issuer, USER_AGENT);
    let page = await failures(browser, 'Ada@Example.com', 3);
    page = await attempt(browser, page, 'ada@example.com', PASSWORD);
    expectThrottled(page);
    expect(await gatehouse.container.sessions.listLive(ada.id)).toEqual([]);

    const audited = await events(ada.id);
    expect(audited.map((e) => e.type).sort()).toEqual(['login.failed', 'login.failed', 'login.failed', 'login.throttled']);
    for (const event of audited) {
      expect(event.ip).toMatch(/127\.0\.0\.1/);
      expect(event.userAgent).toBe(USER_AGENT);
      expect(JSON.stringify(event.details)).not.toContain(WRONG);
      expect(JSON.stringify(event.details)).not.toContain(PASSWORD);
    }
    expect(audited.find((e) => e.type === 'login.throttled')!.details).toMatchObject({ step: 'login' });

    // Another account from the same IP is not held back by Ada's count.
    await newUser('bob@example.com');
    const bobBrowser = new Browser(gatehouse.issuer);
    const bobPage = await attempt(bobBrowser, await loginPage(bobBrowser), 'bob@example.com', PASSWORD);
    expect(bobPage.status).toBe(200);
    expect(bobPage.url.pathname).toBe('/account');
  });

  it('verifies no more passwords than the limit when guesses arrive at once', async () => {
    const ada = await newUser('ada@example.com');
    const browsers = Array.from({ length: 10 }, () => new Browser(gatehouse.issuer, USER_AGENT));
    const pages: Page[] = [];
    for (const browser of browsers) pages.push(await loginPage(browser));
    // Ten wrong passwords posted together: each is counted before it is verified, so three are checked.
    const answers = await Promise.all(browsers.map((browser, i) => attempt(browser, pages[i]!, 'ada@example.com', WRONG)));
    expect(answers.filter((page) => page.status === 401)).toHaveLength(3);
    for (const page of answers.filter((p) => p.status !== 401)) expectThrottled(page);
    const audited = (await events(ada.id)).map((e) => e.type);
    expect(audited.filter((t) => t === 'login.failed')).toHaveLength(3);
    expect(audited.filter((t) => t === 'login.throttled')).toHaveLength(7);
    // And the right password is refused now too.
    const late = new Browser(gatehouse.issuer);
    expectThrottled(await attempt(late, await loginPage(late), 'ada@example.com', PASSWORD));
  });

  it('answers an unknown account exactly as a known one', async () => {
    const browser = new Browser(gatehouse.issuer);
    let page = await failures(browser, 'nobody@example.com', 3);
    page = await attempt(browser, page, 'nobody@example.com', PASSWORD);
    expectThrottled(page);
    const throttled = await gatehouse.container.audit.list({ types: ['login.throttled'] });
    expect(throttled).toHaveLength(1);
    expect(throttled[0]).toMatchObject({ userId: null, details: { step: 'login', knownAccount: false } });
  });

  it('refuses an IP after its limit across accounts', async () => {
    await newUser('carol@example.com');
    const browser = new Browser(gatehouse.issuer);
    let page = await failures(browser, 'one@example.com', 2);
    page = await attempt(browser, page, 'two@example.com', WRONG);
    page = await attempt(browser, page, 'two@example.com', WRONG);
    page = await attempt(browser, page, 'three@example.com', WRONG);
    page = await attempt(browser, page, 'three@example.com', WRONG);
    expect(page.status).toBe(401);
    // Six failures from this IP: Carol, who never failed, is refused from it.
    page = await attempt(browser, page, 'carol@example.com', PASSWORD);
    expectThrottled(page);
  });

  it('clears the account count when the password is proven', async () => {
    const dan = await newUser('dan@example.com');
    const first = new Browser(gatehouse.issuer);
    let page = await failures(first, 'dan@example.com', 2);
    page = await attempt(first, page, 'dan@example.com', PASSWORD);
    expect(page.url.pathname).toBe('/account');

    // Two more failures and the right password: five attempts, never three failures in a row.
    const second = new Browser(gatehouse.issuer);
    page = await failures(second, 'dan@example.com', 2);
    page = await attempt(second, page, 'dan@example.com', PASSWORD);
    expect(page.status).toBe(200);
    expect(page.url.pathname).toBe('/account');
    expect((await events(dan.id)).filter((e) => e.type === 'login.failed')).toHaveLength(4);
  });

  it('throttles the current password of the password change form too', async () => {
    const eve = await newUser('eve@example.com');
    const browser = new Browser(gatehouse.issuer, USER_AGENT);
    const signedIn = await attempt(browser, await loginPage(browser), 'eve@example.com', PASSWORD);
    expect(signedIn.url.pathname).toBe('/account');
    let page = expectPage(await browser.navigate('/account/password'));
    const change = (current: string) =>
      browser.submit(page, /\/account\/password$/, { current_password: current, new_password: 'a brand new passphrase 77', confirm_password: 'a brand new passphrase 77' });
    for (let i = 0; i < 3; i += 1) {
      page = expectPage(await change(WRONG));
      expect(page.status).toBe(400);
      expect(page.html).toContain('The current password is not right.');
    }
    page = expectPage(await change(PASSWORD));
    expectThrottled(page);
    // Refused before the password was checked: it is unchanged.
    await expect(gatehouse.container.accounts.authenticate('eve@example.com', PASSWORD)).resolves.toMatchObject({ id: eve.id });
    const audited = (await events(eve.id)).map((e) => e.type);
    expect(audited.filter((t) => t === 'login.failed')).toHaveLength(3);
    expect(audited).toContain('login.throttled');
    expect(audited).not.toContain('user.password_changed');
  });
});
