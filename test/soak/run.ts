// npm run soak [-- --minutes N]: the reliability suite. Two Gatehouse processes on a PostgreSQL database of its own,
// mixed traffic for N minutes (SOAK_MINUTES, default 2) while faults are injected, a bounded drain, then the invariant
// checker. Loopback only; it stops by itself (a hard deadline kills whatever is left) and exits 1 when an invariant
// fails, 2 for bad options, 3 when the run itself broke down. See docs/testing.md.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { packageRoot } from '../../src/config/paths.js';
import { adminApi } from '../support/backchannel.js';
import { checkInvariants, type FaultWindow, type SoakHistory } from './checker.js';
import { GatehouseCluster } from './cluster.js';
import { createSoakDatabase, SoakSetupError, type SoakDatabase } from './database.js';
import { faultPlan, quietStarts, runFaults, type PlannedFault } from './faults.js';
import { FrontProxy } from './front-proxy.js';
import { clientRecords, countPending, readDatabase, receivedTokens } from './history.js';
import { formatReport } from './report.js';
import { parseOptions, UsageError, type Options } from './options.js';
import { createFixture, enrolTotp, type SoakFixture } from './setup.js';
import { CuttableTcpProxy } from './tcp-proxy.js';
import { runSteadySessions, runTraffic, TrafficLog, type TrafficContext } from './traffic.js';

/** The servers' settings: short enough that retries, expiries and evictions all happen within a run. */
const SERVER_ENV = {
  BACKCHANNEL_TIMEOUT: '2',
  BACKCHANNEL_RETRY_WINDOW: '30',
  BACKCHANNEL_RETRY_BASE_DELAY: '1',
  BACKCHANNEL_RETRY_MAX_DELAY: '4',
  BACKCHANNEL_POLL_INTERVAL: '1',
  // Small, so that the modest traffic of a shared CI machine fills every slot (as a burst does in production).
  BACKCHANNEL_CONCURRENCY: '4',
  SESSION_IDLE_TIMEOUT: '20',
  SESSION_ABSOLUTE_LIFETIME: '45',
  SESSION_SWEEP_INTERVAL: '2',
  SESSION_LIMIT: '4',
  CLIENT_CREDENTIALS_TTL: '3600',
};
/** A claim of a killed process is taken over when its lease runs out: max(4 × timeout, 60 s), as src/container.ts sets it. */
const LEASE_MS = Math.max(4 * Number(SERVER_ENV.BACKCHANNEL_TIMEOUT), 60) * 1000;
const PROCESSES = ['gatehouse-a', 'gatehouse-b'];
const SETUP_BUDGET_MS = 120_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (line: string) => process.stderr.write(`soak: ${line}\n`);

/** Everything the run started, in the order it is taken down. */
class Resources {
  database: SoakDatabase | undefined;
  pgProxy: CuttableTcpProxy | undefined;
  front: FrontProxy | undefined;
  cluster: GatehouseCluster | undefined;
  fixture: SoakFixture | undefined;
  private released: Promise<void> | undefined;

  release(): Promise<void> {
    this.released ??= (async () => {
      const quietly = async (what: string, step: () => Promise<unknown> | undefined) => {
        try {
          await step();
        } catch (error) {
          say(`cleanup: ${what}: ${(error as Error).message}`);
        }
      };
      await quietly('servers', () => this.cluster?.stopAll());
      await quietly('receivers', () => Promise.all((this.fixture?.apps ?? []).map((a) => a.receiver?.down())));
      await quietly('setup connection', () => this.fixture?.container.close());
      await quietly('front proxy', () => this.front?.close());
      await quietly('database proxy', () => this.pgProxy?.close());
      await quietly(`database ${this.database?.name}`, () => this.database?.drop());
    })();
    return this.released;
  }
}

/** A server setting as a number. */
const setting = (name: keyof typeof SERVER_ENV) => Number(SERVER_ENV[name]);

interface Stack {
  readonly database: SoakDatabase;
  readonly pgProxy: CuttableTcpProxy;
  readonly front: FrontProxy;
  readonly cluster: GatehouseCluster;
  readonly fixture: SoakFixture;
  readonly ctx: TrafficContext;
}

/** The soak's database, its two proxies, the two servers and what the traffic needs (users, applications, admin API). */
async function startStack(options: Options, resources: Resources): Promise<Stack> {
  const database = (resources.database = await createSoakDatabase());
  say(`database ${database.name} created and migrated`);
  const pgProxy = (resources.pgProxy = await new CuttableTcpProxy({ host: new URL(database.url).hostname, port: Number(new URL(database.url).port || 5432) }).listen());
  const front = (resources.front = await new FrontProxy().listen());
  const issuer = front.origin;
  const secret = randomBytes(48).toString('base64url');
  const cluster = (resources.cluster = new GatehouseCluster({ database: { ...database, url: database.urlVia(pgProxy.port) }, secret, issuer, env: SERVER_ENV, front }, PROCESSES));
  await cluster.startAll();
  say(`${PROCESSES.join(' and ')} listening behind ${issuer}`);
  const fixture = (resources.fixture = await createFixture({ database, secret, issuer, workers: options.workers }));
  const byName = new Map(fixture.apps.map((a) => [a.name, a]));
  const ctx: TrafficContext = {
    issuer,
    admin: await adminApi({ container: fixture.container, issuer }),
    service: await oidc.discovery(new URL(issuer), fixture.service.clientId, fixture.service.secret, undefined, { execute: [oidc.allowInsecureRequests] }),
    log: new TrafficLog(),
    apps: { notes: byName.get('notes')!, calendar: byName.get('calendar')!, mail: byName.get('mail')!, wiki: byName.get('wiki')! },
    enrolTotp: (user) => enrolTotp(fixture.container, user),
    idleTimeout: setting('SESSION_IDLE_TIMEOUT'), sweepInterval: setting('SESSION_SWEEP_INTERVAL'), sessionLimit: setting('SESSION_LIMIT'), absoluteLifetime: setting('SESSION_ABSOLUTE_LIFETIME'),
  };
  return { database, pgProxy, front, cluster, fixture, ctx };
}

/**
 * Waits until nothing is pending, bounded: retries finish within the retry window, a killed process's claims wait
 * for their lease, abandoned sessions end by the idle timeout. What is still pending after this is a finding.
 */
async function drain(stack: Stack, windows: readonly FaultWindow[], trafficEnd: number): Promise<void> {
  const retryMs = (setting('BACKCHANNEL_RETRY_WINDOW') + setting('BACKCHANNEL_RETRY_MAX_DELAY') + setting('BACKCHANNEL_TIMEOUT') + 5) * 1000;
  const lastOutage = Math.max(0, ...windows.filter((w) => w.kind === 'process-kill' || w.kind === 'database-cut').map((w) => w.end));
  const expiriesDue = Math.max(0, ...stack.ctx.log.expectedEndings.map((e) => e.dueBy));
  const until = Math.max(trafficEnd + retryMs, lastOutage + LEASE_MS + 10_000);
  say(`traffic done; draining (at most ${((until - Date.now()) / 1000).toFixed(0)} s)`);
  await sleep(Math.max(0, Math.min(expiriesDue, until) - Date.now()));
  while (Date.now() < until && (await countPending(stack.database.url)) > 0) await sleep(1000);
}

/** What the checker gets: the database as it is now, the tokens received, and everything the run recorded. */
async function history(stack: Stack, received: SoakHistory['received'], windows: readonly FaultWindow[], plan: readonly PlannedFault[]): Promise<SoakHistory> {
  const { cluster, ctx } = stack;
  return {
    retryWindowMs: setting('BACKCHANNEL_RETRY_WINDOW') * 1000,
    checkedAt: Date.now(),
    outageGraceMs: 2000,
    rssGrowth: { bytes: 64 * 2 ** 20, ratio: 0.5 },
    clients: clientRecords(stack.fixture.apps),
    ...(await readDatabase(stack.database.url)),
    received,
    observed: ctx.log.observed,
    expectedEndings: ctx.log.expectedEndings,
    journeys: ctx.log.journeys,
    requests: stack.front.requests,
    faults: windows,
    rss: cluster.rss,
    exits: cluster.exits,
    // The worker's bug guard (src/domain/logout/delivery-worker.ts) says so in its log.
    stalls: cluster.logLines().filter((line) => String(line.msg).startsWith('logout delivery stalled')).map((line) => ({ process: line.process, at: Date.parse(String(line.time)) })),
    coverage: {
      endReasons: ['logged_out', 'revoked_by_user', 'revoked_by_admin', 'password_changed', 'user_disabled', 'mfa_reset', 'evicted', 'expired_idle', 'expired_absolute'],
      faultKinds: [...new Set(plan.map((f) => f.kind))],
    },
  };
}

async function soak(options: Options, resources: Resources): Promise<boolean> {
  const loadBefore = loadavg();
  const startedAt = Date.now();
  const trafficMs = options.minutes * 60_000;
  say(`building dist/ (incremental)`);
  execFileSync(process.execPath, [join(packageRoot, 'node_modules/typescript/bin/tsc'), '-p', join(packageRoot, 'tsconfig.build.json')], { stdio: 'inherit' });
  const stack = await startStack(options, resources);

  const trafficStart = Date.now();
  const plan = faultPlan(trafficMs, PROCESSES);
  const windows: FaultWindow[] = [];
  say(`traffic for ${options.minutes} min (${options.workers} workers, at most ${options.perSecond} journeys/s), ${plan.length} faults`);
  const receivers = new Map(stack.fixture.apps.filter((a) => a.receiver).map((a) => [a.name, a.receiver!]));
  await Promise.all([
    runTraffic(stack.ctx, stack.fixture.workers, { until: trafficStart + trafficMs, perSecond: options.perSecond }),
    runSteadySessions(stack.ctx, stack.fixture.steady, quietStarts(trafficMs).map((at) => trafficStart + at)),
    runFaults(plan, { receivers, slowAnswerMs: (setting('BACKCHANNEL_TIMEOUT') + 1) * 1000, cluster: stack.cluster, database: stack.pgProxy }, trafficStart, windows),
  ]);
  const trafficEnd = Date.now();
  await drain(stack, windows, trafficEnd);
  const drainMs = Date.now() - trafficEnd;

  const received = await receivedTokens(stack.fixture.apps, stack.ctx.issuer);
  await stack.cluster.stopAll();
  const checked = await history(stack, received, windows, plan);
  const results = checkInvariants(checked);
  const serverLog = stack.cluster.logLines();
  // Everything the checker saw, for a closer look at a failure (no secrets: tokens are reduced to their claims).
  if (process.env.SOAK_HISTORY) {
    const warnings = serverLog.filter((line) => ['warn', 'error', 'fatal'].includes(String(line.level)));
    writeFileSync(process.env.SOAK_HISTORY, JSON.stringify({ history: checked, results, serverWarnings: warnings }, null, 1));
  }
  process.stdout.write(formatReport(checked, results, {
    minutes: options.minutes, startedAt: trafficStart, trafficMs, drainMs, loadBefore, loadAfter: loadavg(), cores: cpus().length,
    operations: stack.ctx.log.operations, database: stack.database.name, serverLog,
  }) + '\n');
  say(`whole run ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  return results.every((r) => r.ok);
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`soak: ${error.message}\n`);
    process.exit(2);
  }
  const resources = new Resources();
  // Whatever happens, no server process outlives the run.
  process.on('exit', () => resources.cluster?.killAllNow());
  let aborting = false;
  const abort = (why: string, code: number) => {
    // Listening with on(), not once(): under tsx a Ctrl-C arrives twice (from the terminal and relayed by tsx), and a
    // signal nobody listens to any more would end the process before it has dropped its database.
    if (aborting) return;
    aborting = true;
    say(why);
    process.exitCode = code;
    const forced = setTimeout(() => process.exit(code), 15_000);
    forced.unref();
    void resources.release().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => abort('interrupted; stopping everything it started', 130));
  process.on('SIGTERM', () => abort('terminated; stopping everything it started', 143));
  // The hard deadline: setup, traffic, the longest drain and the checks, with room to spare.
  const deadlineMs = SETUP_BUDGET_MS + options.minutes * 60_000 + LEASE_MS + 2 * 45_000 + 60_000;
  const deadline = setTimeout(() => abort(`hard deadline of ${(deadlineMs / 1000).toFixed(0)} s reached`, 3), deadlineMs);
  deadline.unref();
  try {
    const passed = await soak(options, resources);
    process.exitCode = passed ? 0 : 1;
  } catch (error) {
    say(error instanceof SoakSetupError ? error.message : `the run broke down: ${(error as Error)?.stack ?? String(error)}`);
    process.exitCode = 3;
  } finally {
    clearTimeout(deadline);
    await resources.release();
  }
}

await main();
