import fc from 'fast-check';
import { SessionService } from '../../../../src/domain/sessions/session-service.js';
import { ACTIVITY_WRITE_INTERVAL_MS, activityWriteDue, type EndSession, type SessionActivity, type SessionIndex, type SsoSession } from '../../../../src/domain/sessions/session.js';
import { TestClock } from '../../../support/clock.js';
import { InMemoryAuditLog } from '../../../support/fakes.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const IDLE = 30 * MINUTE;
const ABSOLUTE = 12 * HOUR;
const META = { ip: '192.0.2.7', userAgent: null };

/** One session in memory, and every activity write made to it. */
class OneSessionIndex implements Partial<SessionIndex> {
  readonly writes: SessionActivity[] = [];

  constructor(public session: SsoSession) {}

  async find(id: string): Promise<SsoSession | undefined> {
    return id === this.session.id ? this.session : undefined;
  }

  async findLiveness(id: string): Promise<SsoSession | undefined> {
    return this.find(id);
  }

  async recordActivity(id: string, activity: SessionActivity): Promise<boolean> {
    if (id !== this.session.id || this.session.endedAt) return false;
    this.writes.push(activity);
    this.session = { ...this.session, ...activity };
    return true;
  }

  async end(command: EndSession): Promise<boolean> {
    if (this.session.endedAt) return false;
    this.session = { ...this.session, endedAt: command.at, endReason: command.reason };
    return true;
  }
}

function world(start = new Date('2026-06-01T08:00:00Z')) {
  const clock = new TestClock(start);
  const now = clock.now();
  const index = new OneSessionIndex({
    id: 's1', userId: 'u1', createdAt: now, lastSeenAt: now, idleExpiresAt: new Date(now.getTime() + IDLE), absoluteExpiresAt: new Date(now.getTime() + ABSOLUTE),
    ipCreated: null, ipLastSeen: null, userAgent: null, deviceLabel: 'test', amr: ['pwd'], acr: null, authTime: now, passwordAt: now, secondFactorAt: null,
    remember: false, endedAt: null, endReason: null, clients: [],
  });
  const sessions = new SessionService({
    index: index as unknown as SessionIndex,
    audit: new InMemoryAuditLog(),
    clock,
    policy: { idleTimeoutMs: IDLE, absoluteLifetimeMs: ABSOLUTE, rememberIdleTimeoutMs: 7 * 24 * HOUR, rememberAbsoluteLifetimeMs: 30 * 24 * HOUR, limit: 0, limitPolicy: 'evict-oldest', reauthenticationMaxAgeMs: 5 * MINUTE },
    deviceLabel: () => 'test',
  });
  return { clock, index, sessions };
}

describe('activity on Gatehouse\'s own pages (SessionService.recordActivity)', () => {
  it('writes at most once a minute: a burst of page loads costs one write', async () => {
    const { clock, index, sessions } = world();
    clock.advance(5 * MINUTE);
    for (let i = 0; i < 12; i += 1) {
      expect(await sessions.recordActivity('s1', META)).toBeDefined();
      clock.advance(5 * SECOND);
    }
    expect(index.writes).toHaveLength(1);
    expect(index.writes[0]).toEqual({ lastSeenAt: new Date('2026-06-01T08:05:00Z'), idleExpiresAt: new Date('2026-06-01T08:35:00Z'), ipLastSeen: '192.0.2.7' });
  });

  it('keeps a session in use alive past the idle timeout, and idleness still ends it', async () => {
    const { clock, index, sessions } = world();
    for (let elapsed = 0; elapsed < 3 * HOUR; elapsed += 7 * MINUTE) {
      clock.advance(7 * MINUTE);
      expect(await sessions.recordActivity('s1', META)).toEqual({ idleExpiresAt: new Date(clock.now().getTime() + IDLE), extended: true });
    }
    expect(index.writes.length).toBe(Math.ceil((3 * HOUR) / (7 * MINUTE)));
    clock.advance(IDLE);
    expect(await sessions.recordActivity('s1', META)).toBeUndefined();
    expect(index.session.endReason).toBe('expired_idle');
  });

  it('never extends past the absolute lifetime, which still ends the session', async () => {
    const { clock, index, sessions } = world();
    clock.advance(ABSOLUTE - 10 * MINUTE);
    index.session = { ...index.session, lastSeenAt: clock.now(), idleExpiresAt: new Date(clock.now().getTime() + 5 * MINUTE) };
    clock.advance(2 * MINUTE);
    expect(await sessions.recordActivity('s1', META)).toEqual({ idleExpiresAt: index.session.absoluteExpiresAt, extended: true });
    clock.advance(8 * MINUTE);
    expect(await sessions.recordActivity('s1', META)).toBeUndefined();
    expect(index.session.endReason).toBe('expired_absolute');
  });

  it('does nothing for an ended session', async () => {
    const { clock, index, sessions } = world();
    index.session = { ...index.session, endedAt: clock.now(), endReason: 'logged_out' };
    clock.advance(5 * MINUTE);
    expect(await sessions.recordActivity('s1', META)).toBeUndefined();
    expect(await sessions.recordActivity('nope', META)).toBeUndefined();
    expect(index.writes).toEqual([]);
  });

  it('for any pattern of use with pauses shorter than the idle timeout: always live, writes a minute apart or more, the deadline never lags by more than that', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: IDLE - ACTIVITY_WRITE_INTERVAL_MS - 1 }), { minLength: 1, maxLength: 80 }), async (pauses) => {
        const { clock, index, sessions } = world();
        for (const pause of pauses) {
          clock.advance(pause);
          const activity = await sessions.recordActivity('s1', META);
          if (clock.now().getTime() >= index.session.absoluteExpiresAt.getTime()) return;
          expect(activity).toBeDefined();
          expect(activity!.idleExpiresAt.getTime()).toBeGreaterThan(clock.now().getTime() + IDLE - ACTIVITY_WRITE_INTERVAL_MS);
        }
        const times = index.writes.map((w) => w.lastSeenAt.getTime());
        for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(ACTIVITY_WRITE_INTERVAL_MS);
      }),
      { numRuns: 200 },
    );
  });

  it('writes twice per idle timeout when that is shorter than two minutes', () => {
    const seen = new Date('2026-06-01T08:00:00Z');
    expect(activityWriteDue(seen, 60 * SECOND, new Date(seen.getTime() + 29 * SECOND))).toBe(false);
    expect(activityWriteDue(seen, 60 * SECOND, new Date(seen.getTime() + 30 * SECOND))).toBe(true);
    expect(activityWriteDue(seen, IDLE, new Date(seen.getTime() + 59 * SECOND))).toBe(false);
    expect(activityWriteDue(seen, IDLE, new Date(seen.getTime() + 60 * SECOND))).toBe(true);
  });
});
