import type { Container } from '../src/container.js';
import { ConflictError } from '../src/domain/errors.js';
import { demoClientSettings } from './relying-app.js';

export const DEMO_USER = { email: 'demo@example.com', password: 'demo password 123', name: 'Demo User' } as const;

export interface DemoClient {
  readonly name: string;
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * Registers (or, on a later start, updates) the demo apps as first-party confidential clients with back-channel logout
 * URIs, found again by name so no duplicates pile up; each start issues a fresh secret, which the app then uses. Also
 * the demo user, an administrator, so the admin console can be tried too.
 */
export async function ensureDemoSetup(container: Container, apps: readonly { name: string; baseUrl: string }[]): Promise<DemoClient[]> {
  const { clients, accounts } = container;
  const existing = await clients.list();
  const result: DemoClient[] = [];
  for (const app of apps) {
    const settings = demoClientSettings(app.name, app.baseUrl);
    const found = existing.find((c) => c.name === app.name);
    const clientId = found ? (await clients.update(found.clientId, settings)).client.clientId : (await clients.create(settings)).client.clientId;
    const { secret } = await clients.rotateSecret(clientId);
    result.push({ name: app.name, baseUrl: app.baseUrl, clientId, clientSecret: secret! });
  }
  try {
    await accounts.createUser(DEMO_USER);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    await accounts.setPassword(DEMO_USER.email, DEMO_USER.password);
  }
  await accounts.setAdmin(DEMO_USER.email, true);
  return result;
}
