import { checkInvariants, type InvariantResult, type NotificationRecord, type SoakHistory } from './checker.js';

// The soak's checker must be able to fail: a healthy history passes every invariant, and each kind of broken history
// (a stalled worker, a logout never queued, a forged token, a 500 outside an outage, a leak, ...) fails the invariant
// that is about it, and only that one.

const T0 = Date.parse('2026-01-01T10:00:00Z');
const MIB = 2 ** 20;

function healthy(): SoakHistory {
  const notification = (id: string, sessionId: string, clientId: string, sid: string, reason: string, at: number): NotificationRecord => ({
    id, sessionId, userId: 'user-1', clientId, sid, reason, state: 'delivered', createdAt: at, attempts: 1, deliveredAt: at + 300, failedAt: null, lastError: null,
  });
  return {
    retryWindowMs: 30_000,
    checkedAt: T0 + 120_000,
    outageGraceMs: 2000,
    rssGrowth: { bytes: 64 * MIB, ratio: 0.5 },
    clients: [
      { clientId: 'NOTES', name: 'notes', backchannel: true, sessionRequired: true },
      { clientId: 'MAIL', name: 'mail', backchannel: true, sessionRequired: false },
      { clientId: 'WIKI', name: 'wiki', backchannel: false, sessionRequired: true },
    ],
    sessions: [
      { id: 's1', userId: 'user-1', endedAt: T0 + 10_000, endReason: 'logged_out', clients: [{ clientId: 'NOTES', sid: 'sid-n1' }, { clientId: 'MAIL', sid: 'sid-m1' }, { clientId: 'WIKI', sid: 'sid-w1' }] },
      { id: 's2', userId: 'user-1', endedAt: null, endReason: null, clients: [{ clientId: 'NOTES', sid: 'sid-n2' }] },
    ],
    notifications: [
      notification('n1', 's1', 'NOTES', 'sid-n1', 'logged_out', T0 + 10_000),
      notification('n2', 's1', 'MAIL', 'sid-m1', 'logged_out', T0 + 10_000),
    ],
    audit: [{ type: 'session.logged_out', sessionId: 's1', notificationId: null }],
    signedInPayloadUids: ['s2'],
    received: [
      { clientId: 'NOTES', answered: 200, claims: { jti: 'n1', sid: 'sid-n1', sub: 'user-1' } },
      { clientId: 'MAIL', answered: 200, claims: { jti: 'n2', sub: 'user-1' } },
    ],
    observed: [
      { clientId: 'NOTES', sid: 'sid-n1', clients: ['NOTES', 'MAIL', 'WIKI'] },
      { clientId: 'NOTES', sid: 'sid-n2', clients: ['NOTES'] },
    ],
    expectedEndings: [{ clientId: 'NOTES', sid: 'sid-n1', reason: 'logged_out', dueBy: T0 + 10_000 }],
    journeys: [{ kind: 'rpLogout', startedAt: T0 + 5000, endedAt: T0 + 10_500 }],
    requests: [
      { method: 'GET', path: '/auth', startedAt: T0 + 5000, endedAt: T0 + 5050, backend: 'a', status: 303, proxyError: undefined },
      { method: 'POST', path: '/token', startedAt: T0 + 41_000, endedAt: T0 + 41_100, backend: 'a', status: 503, proxyError: undefined },
      { method: 'POST', path: '/token', startedAt: T0 + 50_500, endedAt: T0 + 51_000, backend: 'b', status: 502, proxyError: 'backend ECONNRESET' },
    ],
    faults: [
      { kind: 'database-cut', target: '*', start: T0 + 40_000, end: T0 + 44_000 },
      { kind: 'process-kill', target: 'b', start: T0 + 50_000, end: T0 + 53_000 },
      { kind: 'receiver-down', target: 'mail', start: T0 + 60_000, end: T0 + 75_000 },
    ],
    rss: [{ label: 'a#1', samples: Array.from({ length: 100 }, (_, i) => ({ at: T0 + i * 1000, bytes: (150 + (i % 7)) * MIB })) }],
    exits: [{ label: 'b#1', at: T0 + 50_000, code: null, signal: 'SIGKILL', expected: true }],
    stalls: [],
    coverage: { endReasons: ['logged_out'], faultKinds: ['database-cut', 'process-kill', 'receiver-down'] },
  };
}

function failing(history: SoakHistory): InvariantResult[] {
  return checkInvariants(history).filter((r) => !r.ok);
}

/** The one invariant a broken history fails, with its violations. */
function onlyFailure(history: SoakHistory): InvariantResult {
  const failed = failing(history);
  expect(failed.map((r) => r.name)).toHaveLength(1);
  return failed[0]!;
}

const h = healthy();
const withNotification = (id: string, change: Partial<NotificationRecord>): NotificationRecord[] => h.notifications.map((n) => (n.id === id ? { ...n, ...change } : n));

describe('the soak invariant checker', () => {
  it('passes a healthy history, having looked at something for every invariant but the unused ones', () => {
    const results = checkInvariants(h);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.filter((r) => r.checked === 0).map((r) => r.name)).toEqual(['a notification fails only against a misbehaving receiver, and is audited']);
  });

  it('fails on a stalled worker: notifications still pending, never attempted', () => {
    const result = onlyFailure({ ...h, notifications: withNotification('n2', { state: 'pending', attempts: 0, deliveredAt: null }), received: h.received.slice(0, 1) });
    expect(result.name).toBe('every notification delivered, or failed only after its retry window');
    expect(result.violations[0]).toMatch(/^1 notifications still pending after the drain \(1 never attempted/);
  });

  it('fails on a run that did not exercise what it should (an ending or a fault missing, nothing delivered)', () => {
    const result = onlyFailure({ ...h, coverage: { endReasons: ['logged_out', 'mfa_reset'], faultKinds: [...h.coverage.faultKinds, 'receiver-slow'] } });
    expect(result.violations).toEqual(['no session ended mfa_reset', 'no receiver-slow fault was injected']);
    const nothing = { ...h, sessions: [], notifications: [], received: [], observed: [], expectedEndings: [], audit: [], signedInPayloadUids: [] };
    expect(failing(nothing).map((r) => r.name)).toEqual(['the run exercised every ending and every fault']);
    expect(failing(nothing)[0]!.violations).toEqual(['no session ended logged_out', 'no notification was delivered']);
  });

  it('fails when a worker reported itself stalled, right after a database cut too', () => {
    const result = onlyFailure({ ...h, stalls: [{ process: 'a#1', at: T0 + 45_000 }, { process: 'b#2', at: T0 + 80_000 }] });
    expect(result.violations).toEqual([
      `a#1 reported its worker stalled at ${new Date(T0 + 45_000).toISOString()}`,
      `b#2 reported its worker stalled at ${new Date(T0 + 80_000).toISOString()}`,
    ]);
  });

  it('fails on a notification given up before its retry window', () => {
    const early = { state: 'failed', deliveredAt: null, failedAt: T0 + 20_000, lastError: 'HTTP 503', attempts: 4 };
    const result = failing({ ...h, notifications: withNotification('n2', early), audit: [...h.audit, { type: 'logout.delivery_failed', sessionId: 's1', notificationId: 'n2' }] });
    expect(result.map((r) => r.name)).toEqual(['every notification delivered, or failed only after its retry window', 'a notification fails only against a misbehaving receiver, and is audited']);
    expect(result[0]!.violations[0]).toMatch(/given up 10\.0 s after the session ended, before its 30 s retry window/);
  });

  it('accepts a failure after the retry window against a receiver that was down, and only with its audit event', () => {
    const late = withNotification('n2', { state: 'failed', deliveredAt: null, failedAt: T0 + 70_000, lastError: 'ECONNREFUSED', attempts: 9 });
    const audited = [...h.audit, { type: 'logout.delivery_failed', sessionId: 's1', notificationId: 'n2' }];
    expect(failing({ ...h, notifications: late, audit: audited })).toEqual([]);
    expect(onlyFailure({ ...h, notifications: late }).violations).toEqual(['failed notification n2 has no logout.delivery_failed audit event']);
  });

  it('fails on an ended session whose participating client was never queued (a half-written end)', () => {
    const result = onlyFailure({ ...h, notifications: h.notifications.slice(0, 1), received: h.received.slice(0, 1) });
    expect(result.violations).toEqual(['session s1 (logged_out) has 0 notifications for client MAIL, not 1']);
  });

  it('fails on a notification for a client that never took part, or for a session that has not ended', () => {
    const stray = { ...h.notifications[0]!, id: 'n3', sessionId: 's2', sid: 'sid-n2' };
    const itsToken = { clientId: 'NOTES', answered: 200, claims: { jti: 'n3', sid: 'sid-n2', sub: 'user-1' } };
    expect(onlyFailure({ ...h, notifications: [...h.notifications, stray], received: [...h.received, itsToken] }).violations).toEqual(['notification n3 is for session s2, which has not ended']);
    const wiki = { ...h.notifications[0]!, id: 'n4', clientId: 'WIKI', sid: 'sid-w1' };
    expect(failing({ ...h, notifications: [...h.notifications, wiki] }).flatMap((r) => r.violations)).toContain('notification n4 is for client WIKI, which has no back-channel logout URI');
  });

  it('fails when a delivered notification never reached its receiver, or reached it with the wrong sid', () => {
    expect(onlyFailure({ ...h, received: h.received.slice(0, 1) }).violations).toEqual(["notification n2 is delivered, but MAIL's receiver accepted no token with that jti (0 arrived)"]);
    const rejected = h.received.map((t) => (t.clientId === 'MAIL' ? { ...t, answered: 503 } : t));
    expect(onlyFailure({ ...h, received: rejected }).violations[0]).toMatch(/accepted no token with that jti \(1 arrived\)/);
    const wrongSid = h.received.map((t) => (t.clientId === 'NOTES' ? { ...t, claims: { ...t.claims!, sid: 'sid-n2' } } : t));
    expect(onlyFailure({ ...h, received: wrongSid }).violations).toEqual(['token n1 to NOTES has sid sid-n2, not sid-n1']);
    const sidForSubOnly = h.received.map((t) => (t.clientId === 'MAIL' ? { ...t, claims: { ...t.claims!, sid: 'sid-m1' } } : t));
    expect(onlyFailure({ ...h, received: sidForSubOnly }).violations).toEqual(['token n2 to MAIL has sid sid-m1, not (none)']);
  });

  it('fails on a token that does not verify or is no notification', () => {
    const forged = [...h.received, { clientId: 'NOTES', answered: 200, invalid: 'signature verification failed' }];
    expect(onlyFailure({ ...h, received: forged }).violations).toEqual(["NOTES's receiver got a token that does not verify: signature verification failed"]);
    const unknown = [...h.received, { clientId: 'NOTES', answered: 200, claims: { jti: 'n9', sid: 'sid-n1', sub: 'user-1' } }];
    expect(onlyFailure({ ...h, received: unknown }).violations).toEqual(["NOTES's receiver got jti n9, which is no notification"]);
  });

  it('fails when the index misses a client that got tokens, or an ending the soak caused did not take effect', () => {
    const observed = [...h.observed.slice(0, 1), { clientId: 'NOTES', sid: 'sid-n2', clients: ['NOTES', 'MAIL'] }];
    expect(onlyFailure({ ...h, observed }).violations).toEqual(['session s2 does not list client MAIL, which got tokens in it']);
    const ending = [...h.expectedEndings, { clientId: 'NOTES', sid: 'sid-n2', reason: 'revoked_by_admin', dueBy: T0 + 20_000 }];
    expect(onlyFailure({ ...h, expectedEndings: ending }).violations).toEqual(['session s2 should have ended (revoked_by_admin) but is live']);
    // An expiry that is not due yet at the check is not held against the run.
    expect(failing({ ...h, expectedEndings: [...h.expectedEndings, { clientId: 'NOTES', sid: 'sid-n2', reason: 'expired_idle', dueBy: h.checkedAt + 1 }] })).toEqual([]);
  });

  it('fails on half-written sessions: no end event, an oidc Session left behind, a Session without its index row', () => {
    expect(onlyFailure({ ...h, audit: [] }).violations).toEqual(['session s1 ended logged_out with audit events [], expected [session.logged_out]']);
    expect(onlyFailure({ ...h, signedInPayloadUids: ['s1', 's2'] }).violations).toEqual(['session s1 ended (logged_out) but its oidc Session is still stored']);
    expect(onlyFailure({ ...h, signedInPayloadUids: ['s2', 's3'] }).violations).toEqual(['oidc Session s3 of a signed-in user has no row in the session index']);
  });

  it('fails on a 5xx outside the outage windows, and on a 500 inside one', () => {
    const outside = [...h.requests, { method: 'GET', path: '/me', startedAt: T0 + 30_000, endedAt: T0 + 30_010, backend: 'a', status: 500, proxyError: undefined }];
    expect(onlyFailure({ ...h, requests: outside }).violations).toEqual(['1 × 500 GET /me on a']);
    // The killed process's outage does not excuse the other process.
    const survivor = [...h.requests, { method: 'GET', path: '/me', startedAt: T0 + 51_000, endedAt: T0 + 51_010, backend: 'a', status: 502, proxyError: 'backend ECONNRESET' }];
    expect(onlyFailure({ ...h, requests: survivor }).name).toBe('no 5xx outside the injected outage windows');
    const inside = [...h.requests, { method: 'POST', path: '/token', startedAt: T0 + 42_000, endedAt: T0 + 42_010, backend: 'b', status: 500, proxyError: undefined }];
    expect(onlyFailure({ ...h, requests: inside })).toMatchObject({ name: 'during an outage the database-backed endpoints answer 503', violations: ['1 × 500 POST /token on b'] });
  });

  it('fails on a journey that failed outside the outage windows, not on one that overlapped an outage', () => {
    const broken = { kind: 'rpLogout', startedAt: T0 + 20_000, endedAt: T0 + 21_000, error: { kind: 'http 500', message: 'boom' } };
    expect(onlyFailure({ ...h, journeys: [...h.journeys, broken] }).violations).toEqual(['1 × rpLogout: http 500: boom']);
    expect(failing({ ...h, journeys: [...h.journeys, { ...broken, startedAt: T0 + 43_000, endedAt: T0 + 45_000 }] })).toEqual([]);
  });

  it('fails when a process grows past the bound, or died by itself', () => {
    const leaking = [{ label: 'a#1', samples: Array.from({ length: 100 }, (_, i) => ({ at: T0 + i * 1000, bytes: (150 + 2 * i) * MIB })) }];
    expect(onlyFailure({ ...h, rss: leaking }).violations[0]).toMatch(/^a#1 grew from 2\d\d MB to 348 MB/);
    // A process killed early is not judged by its start-up growth, but some process must have lived long enough.
    const killedEarly = { label: 'b#1', samples: leaking[0]!.samples.slice(0, 20) };
    expect(failing({ ...h, rss: [...h.rss, killedEarly] })).toEqual([]);
    expect(onlyFailure({ ...h, rss: [killedEarly] }).violations).toEqual(['no process lived the 45 s it takes to judge its RSS']);
    expect(onlyFailure({ ...h, exits: [...h.exits, { label: 'a#1', at: T0 + 41_000, code: 1, signal: null, expected: false }] }).violations).toEqual(['a#1 exited by itself (code 1, signal null)']);
  });
});
