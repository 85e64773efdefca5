import { jest } from '@jest/globals';
import { startPurgeJob } from '../../src/domain/sessions/background-jobs.js';
import { createDb, type Db } from '../../src/store/prisma/database.js';
import { runCli } from '../support/cli.js';
import { TestClock } from '../support/clock.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';
import { throttleStoreEnv, throttleStores } from '../support/redis.js';

const LIMIT = 3;
const SECRET = 'token-rate-limit-test-secret-0123456789abcdef';

interface TokenResponse {
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

describe.each(throttleStores())('the token endpoint rate limit (%s)', (store) => {
  let gatehouse: TestGatehouse;
  let db: Db | undefined;
  const clock = new TestClock();

  // A fresh Gatehouse per test: each starts with nothing counted (in Redis, under keys of its own).
  beforeEach(async () => {
    gatehouse = await startTestGatehouse('sqlite', { clock, secret: SECRET, env: { TOKEN_RATE_LIMIT: String(LIMIT), ...throttleStoreEnv(store) } });
    db = createDb(gatehouse.database);
  });

  afterEach(async () => {
    await db?.$disconnect();
    db = undefined;
    await gatehouse?.stop();
  });

  async function machineClient(input: { tokenRateLimited?: boolean; tokenEndpointAuthMethod?: string } = {}) {
    const { client, secret } = await gatehouse.container.clients.create({ name: 'Job', grantTypes: ['client_credentials'], scope: 'profile', ...input });
    return { clientId: client.clientId, secret: secret! };
  }

  async function token(client: { clientId: string; secret: string }, how: 'basic' | 'post' = 'basic'): Promise<TokenResponse> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (how === 'basic') headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
    else {
      form.set('client_id', client.clientId);
      form.set('client_secret', client.secret);
    }
    const response = await fetch(`${gatehouse.issuer}/token`, { method: 'POST', headers, body: form });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> };
  }

  const storedTokens = (clientId?: string) =>
    db!.oidcPayload.count({ where: { model: 'ClientCredentials', ...(clientId ? { payload: { contains: `"clientId":"${clientId}"` } } : {}) } });

  it('issues LIMIT tokens a minute to a client, then answers 429 with Retry-After and OAuth JSON, storing nothing', async () => {
    const job = await machineClient();
    for (let i = 0; i < LIMIT; i += 1) expect((await token(job)).status).toBe(200);
    const refused = await token(job);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringMatching(/too many tokens in the last minute; try again in \d+ seconds/) });
    expect(await storedTokens()).toBe(LIMIT);
    // Another client has a budget of its own.
    expect((await token(await machineClient())).status).toBe(200);
  });

  it('counts the client named in the body (client_secret_post) like the one of Basic authentication', async () => {
    const job = await machineClient({ tokenEndpointAuthMethod: 'client_secret_post' });
    for (let i = 0; i < LIMIT; i += 1) expect((await token(job, 'post')).status).toBe(200);
    expect((await token(job, 'post')).status).toBe(429);
  });

  it('counts only tokens issued: wrong credentials naming a client do not use up its budget', async () => {
    const victim = await machineClient();
    const postVictim = await machineClient({ tokenEndpointAuthMethod: 'client_secret_post' });
    for (let i = 0; i < 3 * LIMIT; i += 1) {
      expect((await token({ ...victim, secret: 'wrong' })).status).toBe(401);
      expect((await token({ ...postVictim, secret: 'wrong' }, 'post')).status).toBe(401);
    }
    for (let i = 0; i < LIMIT; i += 1) {
      expect((await token(victim)).status).toBe(200);
      expect((await token(postVictim, 'post')).status).toBe(200);
    }
  });

  it('leaves out a client an administrator exempted with the CLI, and shows it', async () => {
    const job = await machineClient();
    const exempted = await runCli(gatehouse, SECRET, ['clients', 'update', job.clientId, '--no-token-rate-limit', '--json']);
    expect(exempted.code).toBe(0);
    expect(JSON.parse(exempted.stdout)).toMatchObject({ token_rate_limit: false });
    expect((await runCli(gatehouse, SECRET, ['clients', 'show', job.clientId])).stdout).toMatch(/^token rate limit:\s+no \(exempted\)$/m);
    for (let i = 0; i < 2 * LIMIT; i += 1) expect((await token(job)).status).toBe(200);

    // Back under the limit: its budget is used up already.
    expect((await runCli(gatehouse, SECRET, ['clients', 'update', job.clientId, '--token-rate-limit'])).code).toBe(0);
    expect((await token(job)).status).toBe(429);

    const created = await runCli(gatehouse, SECRET, ['clients', 'create', '--name', 'Bulk job', '--grant-type', 'client_credentials', '--scope', 'profile', '--no-token-rate-limit', '--json']);
    expect(JSON.parse(created.stdout)).toMatchObject({ token_rate_limit: false });
    expect((await runCli(gatehouse, SECRET, ['clients', 'update', job.clientId, '--token-rate-limit', '--no-token-rate-limit'])).code).toBe(2);
  });

  it('stores expired client_credentials tokens no longer after the purge job runs (injected clock, no sleep)', async () => {
    const job = await machineClient();
    for (let i = 0; i < LIMIT; i += 1) expect((await token(job)).status).toBe(200);
    expect(await storedTokens(job.clientId)).toBe(LIMIT);

    jest.useFakeTimers({ doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout'] });
    const purged = new Promise<object>((resolve, reject) => {
      const stop = startPurgeJob({
        payloads: gatehouse.container.payloads,
        clock,
        intervalSeconds: 600,
        log: { info: (fields) => { stop(); resolve(fields); }, error: (fields) => { stop(); reject(new Error(JSON.stringify(fields))); } },
      });
    });
    try {
      // Past CLIENT_CREDENTIALS_TTL (600 s), then the job's next run.
      clock.advance(601_000);
      jest.advanceTimersByTime(600_000);
      expect(await purged).toEqual({ purged: expect.any(Number) });
    } finally {
      jest.useRealTimers();
    }
    expect(await storedTokens(job.clientId)).toBe(0);
  });
});

describe('the token endpoint without a rate limit (TOKEN_RATE_LIMIT=0)', () => {
  it('issues every token asked for', async () => {
    const gatehouse = await startTestGatehouse('sqlite', { env: { TOKEN_RATE_LIMIT: '0' } });
    try {
      expect(gatehouse.container.tokenRateLimit).toBeUndefined();
      const { client, secret } = await gatehouse.container.clients.create({ name: 'Job', grantTypes: ['client_credentials'], scope: 'profile' });
      const authorization = `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`;
      for (let i = 0; i < 10; i += 1) {
        const response = await fetch(`${gatehouse.issuer}/token`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
        expect(response.status).toBe(200);
      }
    } finally {
      await gatehouse.stop();
    }
  });
});
