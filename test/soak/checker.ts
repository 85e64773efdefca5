// The soak's invariant checker: pure functions of what the run recorded (the database as it was at the end, what the
// receivers saw, every proxied request, the fault windows, the RSS samples). No I/O here, so a unit test can hand it
// broken histories (test/soak/checker.test.ts) and see each invariant fail.

export type FaultKind = 'receiver-slow' | 'receiver-down' | 'receiver-5xx' | 'process-kill' | 'database-cut';

export interface FaultWindow {
  readonly kind: FaultKind;
  /** The application (by name) whose receiver misbehaves, or the process killed; '*' for the database. */
  readonly target: string;
  readonly start: number;
  readonly end: number;
}

/** Outages excuse 5xx answers: the database cut (every process) and a killed process (its own requests). */
export const OUTAGE_KINDS: readonly FaultKind[] = ['database-cut', 'process-kill'];

export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  readonly endedAt: number | null;
  readonly endReason: string | null;
  readonly clients: readonly { readonly clientId: string; readonly sid: string }[];
}

export interface NotificationRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly clientId: string;
  readonly sid: string;
  readonly reason: string;
  readonly state: string;
  readonly createdAt: number;
  readonly attempts: number;
  readonly deliveredAt: number | null;
  readonly failedAt: number | null;
  readonly lastError: string | null;
}

export interface ClientRecord {
  readonly clientId: string;
  /** The application's name, which receiver faults are recorded by. */
  readonly name: string;
  readonly backchannel: boolean;
  readonly sessionRequired: boolean;
}

/** A logout token one receiver got: its claims when it verified against the JWKS, else why it did not. */
export interface ReceivedToken {
  readonly clientId: string;
  readonly answered: number;
  readonly claims?: { readonly jti: string; readonly sid?: string; readonly sub?: string };
  readonly invalid?: string;
}

export interface AuditRecord {
  readonly type: string;
  readonly sessionId: string | null;
  readonly notificationId: string | null;
}

/** The clients the soak got tokens for in one SSO session, which it knows by the sid `clientId` saw in its ID token. */
export interface ObservedSession {
  readonly clientId: string;
  readonly sid: string;
  readonly clients: readonly string[];
}

/** An ending the soak caused (or, for expiry, waited for): the session must have ended with this reason by `dueBy`. */
export interface ExpectedEnding {
  readonly clientId: string;
  readonly sid: string;
  readonly reason: string;
  readonly dueBy: number;
}

export interface JourneyRecord {
  readonly kind: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly error?: { readonly kind: string; readonly message: string };
}

/** One HTTP request through the front proxy (test/soak/front-proxy.ts). */
export interface HttpRecord {
  readonly method: string;
  /** The path without its query (which may carry codes and tokens). */
  readonly path: string;
  readonly startedAt: number;
  readonly endedAt: number;
  /** The process that answered (or was asked last), by name; undefined when none was up. */
  readonly backend: string | undefined;
  /** The status the client got: the backend's, or 502/504 from the proxy itself (see `proxyError`). */
  readonly status: number;
  /** Set when the proxy answered itself: the backend connection failed or no backend was up. */
  readonly proxyError: string | undefined;
}

export interface RssRecord {
  readonly label: string;
  readonly samples: readonly { readonly at: number; readonly bytes: number }[];
}

export interface ExitRecord {
  readonly label: string;
  readonly at: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly expected: boolean;
}

/** A server process's delivery self-check reporting its worker stalled (the bug guard of issue #12, item 1). */
export interface StallReport {
  readonly process: string;
  readonly at: number;
}

export interface SoakHistory {
  readonly retryWindowMs: number;
  /** When the database was read for the check. */
  readonly checkedAt: number;
  /** Slack after an outage ends during which its after-effects (a pool reconnecting) are still excused. */
  readonly outageGraceMs: number;
  /** RSS may grow from the warmed-up level to the end by at most max(bytes, ratio × that level). */
  readonly rssGrowth: { readonly bytes: number; readonly ratio: number };
  readonly clients: readonly ClientRecord[];
  readonly sessions: readonly SessionRecord[];
  readonly notifications: readonly NotificationRecord[];
  readonly audit: readonly AuditRecord[];
  /** uids of the oidc-provider Session rows of signed-in users that exist at the end. */
  readonly signedInPayloadUids: readonly string[];
  readonly received: readonly ReceivedToken[];
  readonly observed: readonly ObservedSession[];
  readonly expectedEndings: readonly ExpectedEnding[];
  readonly journeys: readonly JourneyRecord[];
  readonly requests: readonly HttpRecord[];
  readonly faults: readonly FaultWindow[];
  readonly rss: readonly RssRecord[];
  readonly exits: readonly ExitRecord[];
  readonly stalls: readonly StallReport[];
  /** What the run was meant to exercise: a run that ended no session of some kind, or skipped a fault, proves less. */
  readonly coverage: { readonly endReasons: readonly string[]; readonly faultKinds: readonly FaultKind[] };
}

export interface InvariantResult {
  readonly name: string;
  readonly ok: boolean;
  /** How many things it looked at (so "ok" over nothing is visible). */
  readonly checked: number;
  readonly violations: readonly string[];
}

// Written out here rather than imported from src/domain/sessions/session-service.ts: the checker states what each
// ending must be audited as, so a wrong mapping in the code under test fails the soak instead of defining it.
export const END_EVENT: Readonly<Record<string, string>> = {
  logged_out: 'session.logged_out',
  revoked_by_user: 'session.revoked_by_user',
  revoked_by_admin: 'session.revoked_by_admin',
  expired_idle: 'session.expired_idle',
  expired_absolute: 'session.expired_absolute',
  evicted: 'session.evicted',
  password_changed: 'session.ended_by_password_change',
  user_disabled: 'session.ended_by_user_disabled',
  mfa_reset: 'session.ended_by_mfa_reset',
};

const SUCCESS = new Set([200, 204]);

function result(name: string, checked: number, violations: string[]): InvariantResult {
  return { name, ok: violations.length === 0, checked, violations };
}

const pairKey = (sessionId: string, clientId: string) => `${sessionId} ${clientId}`;

function overlaps(a: { startedAt: number; endedAt: number }, window: FaultWindow, graceMs: number): boolean {
  return a.startedAt <= window.end + graceMs && a.endedAt >= window.start;
}

function indexes(history: SoakHistory) {
  const clients = new Map(history.clients.map((c) => [c.clientId, c]));
  const sessions = new Map(history.sessions.map((s) => [s.id, s]));
  const bySid = new Map(history.sessions.flatMap((s) => s.clients.map((c) => [pairKey(c.sid, c.clientId), s] as const)));
  const notificationsByPair = new Map<string, NotificationRecord[]>();
  for (const n of history.notifications) {
    const key = pairKey(n.sessionId, n.clientId);
    notificationsByPair.set(key, [...(notificationsByPair.get(key) ?? []), n]);
  }
  return { clients, sessions, bySid, notificationsByPair };
}

/** Every client of every ended session that takes back-channel logout has exactly one notification, of that ending. */
function everyEndedSessionQueued(history: SoakHistory, ix: ReturnType<typeof indexes>): InvariantResult {
  const violations: string[] = [];
  let checked = 0;
  for (const session of history.sessions) {
    if (session.endedAt === null) continue;
    for (const { clientId } of session.clients) {
      if (!ix.clients.get(clientId)?.backchannel) continue;
      checked += 1;
      const rows = ix.notificationsByPair.get(pairKey(session.id, clientId)) ?? [];
      if (rows.length !== 1) violations.push(`session ${session.id} (${session.endReason}) has ${rows.length} notifications for client ${clientId}, not 1`);
      for (const row of rows) {
        if (row.reason !== session.endReason) violations.push(`notification ${row.id} says ${row.reason}, its session ended ${session.endReason}`);
      }
    }
  }
  return result('every ended session queued a logout for each participating client', checked, violations);
}

/** No notification for a session that has not ended, for a client that never took part or cannot be told. */
function noStrayNotifications(history: SoakHistory, ix: ReturnType<typeof indexes>): InvariantResult {
  const violations: string[] = [];
  for (const n of history.notifications) {
    const session = ix.sessions.get(n.sessionId);
    if (!session) violations.push(`notification ${n.id} names session ${n.sessionId}, which does not exist`);
    else if (session.endedAt === null) violations.push(`notification ${n.id} is for session ${n.sessionId}, which has not ended`);
    else if (!session.clients.some((c) => c.clientId === n.clientId && c.sid === n.sid)) violations.push(`notification ${n.id} is for client ${n.clientId}, which never took part in session ${n.sessionId} (with sid ${n.sid})`);
    if (!ix.clients.get(n.clientId)?.backchannel) violations.push(`notification ${n.id} is for client ${n.clientId}, which has no back-channel logout URI`);
    if (session && n.userId !== session.userId) violations.push(`notification ${n.id} names user ${n.userId}, its session is ${session.userId}'s`);
  }
  return result('no notification without an ended session it belongs to', history.notifications.length, violations);
}

/** After the drain nothing is pending: each was delivered, or given up only once its retry window had passed. */
function everyNotificationSettled(history: SoakHistory): InvariantResult {
  const violations: string[] = [];
  const pending = history.notifications.filter((n) => n.state === 'pending');
  if (pending.length) {
    const untried = pending.filter((n) => n.attempts === 0).length;
    const oldest = Math.max(...pending.map((n) => history.checkedAt - n.createdAt));
    violations.push(`${pending.length} notifications still pending after the drain (${untried} never attempted; oldest queued ${(oldest / 1000).toFixed(0)} s before the check): ${pending.slice(0, 3).map((n) => `${n.id} (${n.clientId}, ${n.attempts} attempts)`).join(', ')}`);
  }
  for (const n of history.notifications) {
    if (n.state === 'failed') {
      if (n.failedAt === null) violations.push(`notification ${n.id} is failed without failedAt`);
      else if (n.failedAt - n.createdAt < history.retryWindowMs) violations.push(`notification ${n.id} was given up ${((n.failedAt - n.createdAt) / 1000).toFixed(1)} s after the session ended, before its ${history.retryWindowMs / 1000} s retry window (${n.lastError})`);
    } else if (n.state === 'delivered') {
      if (n.deliveredAt === null) violations.push(`notification ${n.id} is delivered without deliveredAt`);
    } else if (n.state !== 'pending') violations.push(`notification ${n.id} has unknown state ${n.state}`);
    if (n.state !== 'pending' && n.attempts < 1) violations.push(`notification ${n.id} is ${n.state} after ${n.attempts} attempts`);
  }
  return result('every notification delivered, or failed only after its retry window', history.notifications.length, violations);
}

/** A failed notification's receiver was misbehaving when it was given up (a healthy one must have been reached). */
function failedOnlyAgainstFaultyReceivers(history: SoakHistory, ix: ReturnType<typeof indexes>): InvariantResult {
  const violations: string[] = [];
  const failed = history.notifications.filter((n) => n.state === 'failed');
  for (const n of failed) {
    const name = ix.clients.get(n.clientId)?.name;
    const faulty = history.faults.some((f) => f.target === name && f.kind.startsWith('receiver-') && f.start <= (n.failedAt ?? 0) && (n.failedAt ?? 0) <= f.end);
    if (!faulty) violations.push(`notification ${n.id} failed (${n.lastError}) while ${name ?? n.clientId}'s receiver was healthy`);
  }
  for (const event of history.audit.filter((e) => e.type === 'logout.delivery_failed')) {
    if (!failed.some((n) => n.id === event.notificationId)) violations.push(`audit logout.delivery_failed for ${event.notificationId}, which is not failed`);
  }
  for (const n of failed) {
    if (!history.audit.some((e) => e.type === 'logout.delivery_failed' && e.notificationId === n.id)) violations.push(`failed notification ${n.id} has no logout.delivery_failed audit event`);
  }
  return result('a notification fails only against a misbehaving receiver, and is audited', failed.length, violations);
}

/** Each delivered notification reached its receiver: a valid token with its jti, sub and (if registered) sid, answered 2xx. */
function everyDeliveryReceived(history: SoakHistory, ix: ReturnType<typeof indexes>): InvariantResult {
  const violations: string[] = [];
  const delivered = history.notifications.filter((n) => n.state === 'delivered');
  const byJti = new Map<string, ReceivedToken[]>();
  for (const token of history.received) {
    if (!token.claims) continue;
    byJti.set(token.claims.jti, [...(byJti.get(token.claims.jti) ?? []), token]);
  }
  for (const n of delivered) {
    const client = ix.clients.get(n.clientId);
    const tokens = (byJti.get(n.id) ?? []).filter((t) => t.clientId === n.clientId);
    const accepted = tokens.filter((t) => SUCCESS.has(t.answered));
    if (accepted.length === 0) {
      violations.push(`notification ${n.id} is delivered, but ${n.clientId}'s receiver accepted no token with that jti (${tokens.length} arrived)`);
      continue;
    }
    for (const t of tokens) {
      if (t.claims!.sub !== n.userId) violations.push(`token ${n.id} to ${n.clientId} has sub ${t.claims!.sub}, not ${n.userId}`);
      const expectedSid = client?.sessionRequired ? n.sid : undefined;
      if (t.claims!.sid !== expectedSid) violations.push(`token ${n.id} to ${n.clientId} has sid ${t.claims!.sid ?? '(none)'}, not ${expectedSid ?? '(none)'}`);
    }
  }
  return result('every delivered notification reached its receiver with the right jti, sub and sid', delivered.length, violations);
}

/** Every token any receiver got verified against the JWKS and is one of that client's notifications. */
function everyTokenGenuine(history: SoakHistory): InvariantResult {
  const violations: string[] = [];
  const known = new Map(history.notifications.map((n) => [n.id, n]));
  for (const token of history.received) {
    if (!token.claims) {
      violations.push(`${token.clientId}'s receiver got a token that does not verify: ${token.invalid}`);
      continue;
    }
    const row = known.get(token.claims.jti);
    if (!row) violations.push(`${token.clientId}'s receiver got jti ${token.claims.jti}, which is no notification`);
    else if (row.clientId !== token.clientId) violations.push(`${token.clientId}'s receiver got jti ${token.claims.jti}, which is ${row.clientId}'s`);
  }
  return result('every logout token received verifies and is a queued notification', history.received.length, violations);
}

/** The session index knows every client the soak got tokens for, and every ending the soak caused took effect. */
function indexMatchesTraffic(history: SoakHistory, ix: ReturnType<typeof indexes>): InvariantResult {
  const violations: string[] = [];
  for (const seen of history.observed) {
    const session = ix.bySid.get(pairKey(seen.sid, seen.clientId));
    if (!session) {
      violations.push(`no session in the index has sid ${seen.sid} for ${seen.clientId} (an ID token carried it)`);
      continue;
    }
    for (const clientId of seen.clients) {
      if (!session.clients.some((c) => c.clientId === clientId)) violations.push(`session ${session.id} does not list client ${clientId}, which got tokens in it`);
    }
  }
  const due = history.expectedEndings.filter((e) => e.dueBy <= history.checkedAt);
  for (const expected of due) {
    const session = ix.bySid.get(pairKey(expected.sid, expected.clientId));
    if (!session) continue;
    if (session.endedAt === null) violations.push(`session ${session.id} should have ended (${expected.reason}) but is live`);
    else if (session.endReason !== expected.reason) violations.push(`session ${session.id} ended ${session.endReason}, expected ${expected.reason}`);
  }
  return result('the session index has every client that got tokens, and every ending took effect', history.observed.length + due.length, violations);
}

/** No half-written session: an end has its reason, its audit event and no oidc Session left; a signed-in Session has its index row. */
function noHalfWrittenSessions(history: SoakHistory, ix: ReturnType<typeof indexes>): InvariantResult {
  const violations: string[] = [];
  const endEvents = new Map<string, string[]>();
  for (const e of history.audit) {
    if (e.sessionId && Object.values(END_EVENT).includes(e.type)) endEvents.set(e.sessionId, [...(endEvents.get(e.sessionId) ?? []), e.type]);
  }
  for (const session of history.sessions) {
    const events = endEvents.get(session.id) ?? [];
    if ((session.endedAt === null) !== (session.endReason === null)) violations.push(`session ${session.id} has endedAt ${session.endedAt} but endReason ${session.endReason}`);
    if (session.endedAt === null) {
      if (events.length) violations.push(`live session ${session.id} has end events ${events.join(', ')}`);
      continue;
    }
    const expected = END_EVENT[session.endReason ?? ''];
    if (!expected) violations.push(`session ${session.id} ended with unknown reason ${session.endReason}`);
    else if (events.length !== 1 || events[0] !== expected) violations.push(`session ${session.id} ended ${session.endReason} with audit events [${events.join(', ')}], expected [${expected}]`);
  }
  for (const uid of history.signedInPayloadUids) {
    const session = ix.sessions.get(uid);
    if (!session) violations.push(`oidc Session ${uid} of a signed-in user has no row in the session index`);
    else if (session.endedAt !== null) violations.push(`session ${uid} ended (${session.endReason}) but its oidc Session is still stored`);
  }
  return result('no half-written session rows', history.sessions.length + history.signedInPayloadUids.length, violations);
}

function excusedOutages(history: SoakHistory, request: HttpRecord): FaultWindow[] {
  return history.faults.filter((f) => OUTAGE_KINDS.includes(f.kind) && (f.kind === 'database-cut' || f.target === request.backend) && overlaps(request, f, history.outageGraceMs));
}

/** No 5xx outside an injected outage (the database cut, or the killed process's own requests). */
function no5xxOutsideOutages(history: SoakHistory): InvariantResult {
  const failures = history.requests.filter((r) => r.status >= 500 && excusedOutages(history, r).length === 0);
  return result('no 5xx outside the injected outage windows', history.requests.length, summarise(failures));
}

/** Inside an outage, a live process answers 503 (temporarily unavailable), never another 5xx; the proxy's 502 for a dead one is fine. */
function outagesAnswer503(history: SoakHistory): InvariantResult {
  const inside = history.requests.filter((r) => r.status >= 500 && excusedOutages(history, r).length > 0);
  const wrong = inside.filter((r) => {
    const killed = excusedOutages(history, r).some((f) => f.kind === 'process-kill');
    return !(r.status === 503 || (killed && r.proxyError !== undefined));
  });
  return result('during an outage the database-backed endpoints answer 503', inside.length, summarise(wrong));
}

function summarise(requests: readonly HttpRecord[]): string[] {
  const groups = new Map<string, number>();
  for (const r of requests) {
    const key = `${r.status} ${r.method} ${r.path.replace(/[A-Za-z0-9_-]{16,}/g, ':id')} on ${r.backend ?? 'no backend'}${r.proxyError ? ` (${r.proxyError})` : ''}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, n]) => `${n} × ${key}`);
}

/** Journeys that overlapped no outage all succeeded (sign-in, tokens, endings: what users and applications rely on). */
function journeysSucceed(history: SoakHistory): InvariantResult {
  const outages = history.faults.filter((f) => OUTAGE_KINDS.includes(f.kind));
  const clear = history.journeys.filter((j) => !outages.some((f) => overlaps(j, f, history.outageGraceMs)));
  const failed = clear.filter((j) => j.error);
  const groups = new Map<string, number>();
  for (const j of failed) {
    const key = `${j.kind}: ${j.error!.kind}: ${j.error!.message.slice(0, 160)}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return result('every journey outside the outage windows succeeded', clear.length, [...groups].map(([key, n]) => `${n} × ${key}`));
}

/** A process must have lived this long (samples are a second apart) for its growth to say anything. */
export const RSS_MIN_SAMPLES = 45;

/**
 * The warmed-up RSS of a process: the median of the samples of the second fifth of its life (the first is start-up:
 * modules, keys, the first argon2 hashes); undefined for a process that lived too briefly (one killed early).
 */
export function warmRss(samples: RssRecord['samples']): number | undefined {
  if (samples.length < RSS_MIN_SAMPLES) return undefined;
  const from = Math.floor(samples.length / 5);
  const window = samples.slice(from, Math.max(from + 1, Math.floor((2 * samples.length) / 5))).map((s) => s.bytes).sort((a, b) => a - b);
  return window[Math.floor(window.length / 2)];
}

/** RSS flat: from the warmed-up level to the end, each process grew at most by the bound. */
function rssFlat(history: SoakHistory): InvariantResult {
  const violations: string[] = [];
  let checked = 0;
  for (const series of history.rss) {
    const warm = warmRss(series.samples);
    if (warm === undefined) continue;
    checked += 1;
    const end = series.samples.at(-1)!.bytes;
    const allowed = Math.max(history.rssGrowth.bytes, history.rssGrowth.ratio * warm);
    if (end - warm > allowed) violations.push(`${series.label} grew from ${mb(warm)} to ${mb(end)} (more than ${mb(allowed)})`);
  }
  if (checked === 0) violations.push(`no process lived the ${RSS_MIN_SAMPLES} s it takes to judge its RSS`);
  return result('RSS flat (each process, warmed-up level to the end)', checked, violations);
}

export const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

/** No server process died except the ones the soak killed. */
function noUnexpectedExits(history: SoakHistory): InvariantResult {
  const violations = history.exits.filter((e) => !e.expected).map((e) => `${e.label} exited by itself (code ${e.code}, signal ${e.signal})`);
  return result('no server process died on its own', history.exits.length, violations);
}

/**
 * No worker stalled: its self-check never found it claiming nothing while notifications waited, not even during a
 * database cut (claims that fail are an outage, which the worker logs as such, not a stuck claim loop).
 */
function noWorkerStalled(history: SoakHistory): InvariantResult {
  const stuck = history.stalls.map((s) => `${s.process} reported its worker stalled at ${new Date(s.at).toISOString()}`);
  // Checked: every server process, whose log lines were all read.
  return result('no delivery worker stalled (its self-check never fired)', history.rss.length, stuck);
}

/** The run did what it is meant to: every kind of ending, every kind of fault, deliveries, journeys that succeeded. */
function exercisedEverything(history: SoakHistory): InvariantResult {
  const violations: string[] = [];
  const reasons = new Set(history.sessions.map((s) => s.endReason));
  const missingReasons = history.coverage.endReasons.filter((r) => !reasons.has(r));
  if (missingReasons.length) violations.push(`no session ended ${missingReasons.join(', ')}`);
  const kinds = new Set(history.faults.map((f) => f.kind));
  const missingFaults = history.coverage.faultKinds.filter((k) => !kinds.has(k));
  if (missingFaults.length) violations.push(`no ${missingFaults.join(', ')} fault was injected`);
  if (!history.notifications.some((n) => n.state === 'delivered')) violations.push('no notification was delivered');
  if (!history.journeys.some((j) => !j.error)) violations.push('no journey succeeded');
  return result('the run exercised every ending and every fault', history.coverage.endReasons.length + history.coverage.faultKinds.length, violations);
}

export function checkInvariants(history: SoakHistory): InvariantResult[] {
  const ix = indexes(history);
  return [
    exercisedEverything(history),
    everyEndedSessionQueued(history, ix),
    noStrayNotifications(history, ix),
    everyNotificationSettled(history),
    noWorkerStalled(history),
    failedOnlyAgainstFaultyReceivers(history, ix),
    everyDeliveryReceived(history, ix),
    everyTokenGenuine(history),
    indexMatchesTraffic(history, ix),
    noHalfWrittenSessions(history, ix),
    no5xxOutsideOutages(history),
    outagesAnswer503(history),
    journeysSucceed(history),
    rssFlat(history),
    noUnexpectedExits(history),
  ];
}
