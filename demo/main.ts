import { loadConfig } from '../src/config/env.js';
import { createLogger } from '../src/infra/logger.js';
import { startGatehouse } from '../src/server.js';
import { startRelyingApp, type RunningRelyingApp } from './relying-app.js';
import { DEMO_USER, ensureDemoSetup } from './setup.js';

// `npm run demo`: Gatehouse on http://127.0.0.1:3000 (SQLite in ./data-demo) and two relying apps on 3001 and 3002,
// registered automatically with back-channel logout URIs. Development only: it publishes an administrator's password,
// so everything listens on the loopback interface only (127.0.0.1), and every URL names that address.

const HOST = '127.0.0.1';
const GATEHOUSE_PORT = 3000;
const APPS = [
  { name: 'Notes (app A)', cookiePrefix: 'demo_notes', baseUrl: `http://${HOST}:3001` },
  { name: 'Calendar (app B)', cookiePrefix: 'demo_calendar', baseUrl: `http://${HOST}:3002` },
];

const config = loadConfig({ NODE_ENV: 'development', HOST, PORT: String(GATEHOUSE_PORT), DATA_DIR: './data-demo', LOG_LEVEL: 'warn', ISSUER: `http://${HOST}:${GATEHOUSE_PORT}` });
const gatehouse = await startGatehouse({ config, logger: createLogger(config.logLevel) });
const registered = await ensureDemoSetup(gatehouse.container, APPS);
const apps: RunningRelyingApp[] = [];
for (const [i, app] of APPS.entries()) {
  const client = registered[i]!;
  apps.push(await startRelyingApp({ ...app, issuer: config.issuer, clientId: client.clientId, clientSecret: client.clientSecret }));
}

process.stdout.write(`
  Gatehouse demo
    Gatehouse         ${config.issuer}            (admin console: ${config.issuer}/admin)
    ${APPS[0]!.name.padEnd(17)} ${APPS[0]!.baseUrl}
    ${APPS[1]!.name.padEnd(17)} ${APPS[1]!.baseUrl}
    Sign in as        ${DEMO_USER.email} / ${DEMO_USER.password}   (an administrator too)

  Open app A and sign in, then open app B and sign in: no password the second time (SSO).
  Step up in one app (it asks for an authenticator-app code; set one up at ${config.issuer}/account/security).
  Log out in one app, or end the session at ${config.issuer}/account/sessions: Gatehouse posts a logout token to
  both apps, and both show they were signed out. Everything listens on ${HOST} only. Ctrl-C stops.

`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.all(apps.map((a) => a.close()));
  await gatehouse.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
