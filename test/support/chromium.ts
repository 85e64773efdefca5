import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
export type { Browser, BrowserContext, Page } from 'playwright-core';
import { packageRoot } from '../../src/config/paths.js';

// Real-browser tests drive Debian's Chromium with playwright-core (never a downloaded browser). Locally they are
// skipped, with one printed line, when Chromium is not installed; in CI (CI=true) a missing Chromium is a failure.

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(packageRoot, 'test-output');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function chromiumAvailable(): boolean {
  const present = existsSync(CHROMIUM_PATH);
  if (!present && process.env.CI === 'true') {
    throw new Error(`${CHROMIUM_PATH} is missing; CI must run the browser tests (.ci/run installs it with apt-get install -y chromium).`);
  }
  return present;
}

/** `describe` when Chromium is installed; otherwise `describe.skip` after saying why. */
export function describeWithChromium(name: string, body: () => void): void {
  if (chromiumAvailable()) {
    describe(name, body);
    return;
  }
  process.stdout.write(`Browser tests skipped (${name}): ${CHROMIUM_PATH} not found; install it with apt-get install -y chromium.\n`);
  describe.skip(name, body);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, headless: true });
}

/** Saves a full-page screenshot as test-output/<name>.png (the folder is git-ignored). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** On Gatehouse's sign-in page: fills in the credentials and signs in. */
export async function signInAtGatehouse(page: Page, email: string, password: string): Promise<void> {
  await page.locator('#login').fill(email);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState('load');
}

/** Collects the Content-Security-Policy violations Chromium reports on the console. */
export function cspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}
