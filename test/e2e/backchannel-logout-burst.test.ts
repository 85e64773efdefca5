import { randomBytes } from 'node:crypto';
import { adminApi, app, appsDown, expectNotified, newUser, QUIET, signInEverywhere, type App, type SignedIn, type TestUser } from '../support/backchannel.js';
import { Browser } from '../support/browser.js';
import { TestClock } from '../support/clock.js';
import { databaseKinds } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

const METRICS_TOKEN = randomBytes(32).toString('base64url');

/** A gate the receiver waits at before answering, opened by the test. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => opened, open };
}

// The reported stall: with every delivery slot held by a slow receiver, sessions ending meanwhile woke the worker while
// it was saturated, and from then on it claimed nothing: those notifications, and every later one on that process,
// stayed pending until a restart. Here nothing runs on a timer (QUIET: the poll is an hour away), so only the wakes
// can deliver, and the receiver holds its answers until the test lets it answer. Both reported settings: one slot
// (three sessions ended while the first one's answer is held), and the default 16 slots (four more ended while 16
// answers are held).
const cases: { slots: number; sessions: number; env: Record<string, string> }[] = [
  { slots: 1, sessions: 4, env: { BACKCHANNEL_CONCURRENCY: '1' } },
  { slots: 16, sessions: 20, env: {} },
];

describe.each(databaseKinds())('back-channel logout of a burst of sessions on one slow client (%s)', (kind) => {
  let gatehouse: TestGatehouse | undefined;
  let clock: TestClock;
  let notebook: App | undefined;
  let user: TestUser;

  afterEach(async () => {
    if (notebook) await appsDown([notebook]);
    await gatehouse?.stop();
    notebook = gatehouse = undefined;
  });

  async function start(env: Record<string, string>): Promise<TestGatehouse> {
    clock = new TestClock();
    // The attempt timeout is real time: long enough that a held answer is never abandoned while the test works.
    gatehouse = await startTestGatehouse(kind, { clock, env: { ...QUIET, BACKCHANNEL_TIMEOUT: '120', METRICS_TOKEN, ...env } });
    notebook = await app(gatehouse, 'Notebook');
    user = await newUser(gatehouse);
    return gatehouse;
  }

  async function metric(name: string): Promise<number> {
    const response = await fetch(`${gatehouse!.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(await response.text());
    if (!line) throw new Error(`no ${name} in /metrics`);
    return Number(line[1]);
  }

  it.each(cases)('with $slots slot(s): delivers every notification of $sessions sessions ended while the slots are busy, and later logouts too', async ({ slots, sessions: count, env }) => {
    const gh = await start(env);
    const receiver = notebook!.receiver;
    const signIn = () => signInEverywhere(gh, new Browser(gh.issuer), [notebook!], user);
    const sessions: SignedIn[] = [];
    for (let i = 0; i < count; i += 1) sessions.push(await signIn());
    const held = gate();
    receiver.gate = held.wait;

    // The first endings take every slot, one each, and the receiver holds their answers.
    for (const session of sessions.slice(0, slots)) await gh.container.sessions.revokeByAdmin(session.id, { type: 'admin', id: 'cli' });
    await receiver.waitFor(slots);
    // The rest end while every slot is busy (their ending wakes the worker), by an administrator's revoke-all.
    const api = await adminApi(gh);
    expect(await api('DELETE', `/admin/api/users/${user.id}/sessions`)).toEqual({ status: 200, body: { user_id: user.id, ended: count - slots } });
    clock.advance(30_000);
    expect(receiver.received).toHaveLength(slots);
    expect(await metric('gatehouse_logout_oldest_due_seconds')).toBe(30);

    // Once the receiver answers, each freed slot takes the next one at once: no poll, no restart.
    held.open();
    await receiver.waitFor(count, { closed: true });
    await gh.container.logoutDelivery.drain();
    await expectNotified(gh, [notebook!], sessions.map((s) => [s, notebook!] as const));
    const rows = await gh.container.logoutDeliveries.list({ clientId: notebook!.rp.clientId });
    expect(rows.map((row) => [row.state, row.attempts])).toEqual(sessions.map(() => ['delivered', 1]));

    // The worker is still alive: a later logout on this process goes out on its wake.
    const later = await signIn();
    await gh.container.sessions.revokeByAdmin(later.id, { type: 'admin', id: 'cli' });
    await receiver.waitFor(count + 1, { closed: true });
    await gh.container.logoutDelivery.drain();
    await expectNotified(gh, [notebook!], [...sessions, later].map((s) => [s, notebook!] as const));
    expect(await metric('gatehouse_logout_oldest_due_seconds')).toBe(0);
    expect(await metric('gatehouse_logout_delivery_stalls_total')).toBe(0);
    expect(gh.logLines.filter((line) => line.component === 'logout-delivery' && line.level !== 'info')).toEqual([]);
  });
});
