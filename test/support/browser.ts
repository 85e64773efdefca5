// A minimal browser for protocol tests: a cookie jar, manual redirects and form posts, over real HTTP.

interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
}

export interface Page {
  readonly url: URL;
  readonly status: number;
  readonly html: string;
  readonly headers: Headers;
}

export interface LeftIssuer {
  /** The redirect that left the identity provider's origin (to a relying party). */
  readonly redirect: URL;
}

export class Browser {
  private readonly jar = new Map<string, StoredCookie>();
  /** Every Set-Cookie header line received, in order. */
  readonly setCookieLines: string[] = [];

  constructor(private readonly origin: string, private readonly userAgent?: string) {}

  cookieNames(): string[] {
    return [...this.jar.values()].map((c) => c.name);
  }

  cookie(name: string): string | undefined {
    return [...this.jar.values()].find((c) => c.name === name)?.value;
  }

  setCookie(name: string, value: string, path = '/'): void {
    this.jar.set(`${name};${path}`, { name, value, path });
  }

  private cookieHeader(url: URL): string {
    return [...this.jar.values()]
      .filter((c) => url.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(response: Response, url: URL): void {
    for (const line of response.headers.getSetCookie()) {
      this.setCookieLines.push(line);
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      let path = url.pathname;
      let expired = value === '';
      for (const attribute of attributes) {
        const [key, attrValue = ''] = attribute.split('=');
        const lower = key!.toLowerCase();
        if (lower === 'path') path = attrValue;
        if (lower === 'max-age' && Number(attrValue) <= 0) expired = true;
        if (lower === 'expires' && new Date(attrValue).getTime() <= Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.jar.delete(key);
      else this.jar.set(key, { name, value, path });
    }
  }

  async request(
    url: URL | string,
    init: { method?: string; form?: Record<string, string | string[]>; json?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const target = new URL(url, this.origin);
    const headers: Record<string, string> = { accept: init.json === undefined ? 'text/html' : 'application/json' };
    if (this.userAgent) headers['user-agent'] = this.userAgent;
    const cookie = this.cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    Object.assign(headers, init.headers);
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(init.form)) for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
      body = params.toString();
    } else if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    const response = await fetch(target, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.store(response, target);
    return response;
  }

  /** Follows redirects within the issuer; stops at a page, or at the first redirect that leaves the issuer. */
  async navigate(url: URL | string, init: { form?: Record<string, string | string[]> } = {}): Promise<Page | LeftIssuer> {
    let target = new URL(url, this.origin);
    let response = await this.request(target, init);
    for (let hops = 0; hops < 20; hops += 1) {
      if (response.status < 300 || response.status >= 400) {
        return { url: target, status: response.status, html: await response.text(), headers: response.headers };
      }
      const location = new URL(response.headers.get('location')!, target);
      await response.arrayBuffer();
      if (location.origin !== this.origin) return { redirect: location };
      target = location;
      response = await this.request(target);
    }
    throw new Error('too many redirects');
  }

  /** Submits the form whose action matches, with its hidden fields plus the given values. */
  async submit(page: Page, actionPattern: RegExp, values: Record<string, string | string[]> = {}): Promise<Page | LeftIssuer> {
    const form = findForm(page.html, actionPattern);
    return this.navigate(new URL(form.action, page.url), { form: { ...form.hidden, ...values } });
  }
}

export function isPage(result: Page | LeftIssuer): result is Page {
  return 'html' in result;
}

export function expectPage(result: Page | LeftIssuer): Page {
  if (!isPage(result)) throw new Error(`expected a page, got a redirect to ${result.redirect.href}`);
  return result;
}

export function expectRedirect(result: Page | LeftIssuer): URL {
  if (isPage(result)) throw new Error(`expected a redirect out of the issuer, got HTTP ${result.status} at ${result.url.pathname}: ${result.html.slice(0, 500)}`);
  return result.redirect;
}

function decodeEntities(value: string): string {
  return value.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&quot;/g, '"');
}

export function findForm(html: string, actionPattern: RegExp): { action: string; hidden: Record<string, string> } {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  for (const [, attributes, inner] of forms) {
    const action = decodeEntities(/action="([^"]*)"/.exec(attributes!)?.[1] ?? '');
    if (!actionPattern.test(action)) continue;
    const hidden: Record<string, string> = {};
    for (const [input] of inner!.matchAll(/<input\b[^>]*>/g)) {
      if (!/type="hidden"/.test(input)) continue;
      const name = /name="([^"]*)"/.exec(input)?.[1];
      const value = /value="([^"]*)"/.exec(input)?.[1] ?? '';
      if (name) hidden[decodeEntities(name)] = decodeEntities(value);
    }
    return { action, hidden };
  }
  throw new Error(`no form with action matching ${actionPattern} in:\n${html.slice(0, 1000)}`);
}

/**
 * Signs in through the real login form (then the second-factor form, given `otp`, and the consent page when shown);
 * returns the redirect to the relying party. A
 * browser that is signed in already goes straight to consent or back to the relying party (single sign-on).
 */
export async function signIn(
  browser: Browser,
  authorizationUrl: URL,
  credentials: { login: string; password: string; remember?: 'yes' },
  /** A code for the second-factor step, when the user has an authenticator app. */
  otp?: () => string,
): Promise<URL> {
  let result = await browser.navigate(authorizationUrl);
  if (isPage(result) && /name="password"/.test(result.html)) result = await browser.submit(result, /\/login$/, credentials);
  if (otp && isPage(result) && /\/otp"/.test(result.html)) result = await browser.submit(result, /\/otp$/, { code: otp() });
  for (let step = 0; step < 3 && isPage(result); step += 1) {
    if (!/\/confirm"/.test(result.html)) break;
    result = await browser.submit(result, /\/confirm$/);
  }
  return expectRedirect(result);
}
