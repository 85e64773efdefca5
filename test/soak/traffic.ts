import * as oidc from 'openid-client';
import { Browser, expectPage, findForm, isPage, type LeftIssuer, type Page } from '../support/browser.js';
import type { ExpectedEnding, JourneyRecord, ObservedSession } from './checker.js';
import { newPassword, nextTotpCode, type SoakApp, type SoakUser, type WorkerUsers } from './setup.js';

type Tokens = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
export type AdminCall = (method: string, path: string, bearer?: string | null, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

/** A journey step that did not get what a user or an application relies on. */
export class JourneyError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

/** What the traffic did, for the report and the checker. */
export class TrafficLog {
  readonly journeys: JourneyRecord[] = [];
  readonly observed: ObservedSession[] = [];
  readonly expectedEndings: ExpectedEnding[] = [];
  /** Operations by kind (sign-in, refresh, userinfo, ...), counted when they succeeded. */
  readonly operations = new Map<string, number>();

  count(kind: string): void {
    this.operations.set(kind, (this.operations.get(kind) ?? 0) + 1);
  }
}

export interface TrafficContext {
  readonly issuer: string;
  readonly apps: { readonly notes: SoakApp; readonly calendar: SoakApp; readonly mail: SoakApp; readonly wiki: SoakApp };
  readonly service: oidc.Configuration;
  readonly admin: AdminCall;
  readonly log: TrafficLog;
  /** Seconds: SESSION_IDLE_TIMEOUT and SESSION_SWEEP_INTERVAL of the servers (when an abandoned session must have ended). */
  readonly idleTimeout: number;
  readonly sweepInterval: number;
  readonly sessionLimit: number;
  readonly absoluteLifetime: number;
  /** Gives a user a new authenticator app (after an administrator's reset), with Gatehouse's own services. */
  readonly enrolTotp: (user: SoakUser) => Promise<void>;
}

/** One SSO session (one browser) signed in to some applications. */
interface SignedIn {
  readonly user: SoakUser;
  readonly browser: Browser;
  /** The first application, whose ID token's sid names the session. */
  readonly first: SoakApp;
  readonly sid: string;
  /** The first application's ID token (the hint of an RP-initiated logout). */
  readonly idToken: string;
  /** The latest refresh token each application holds. */
  readonly refreshTokens: Map<SoakApp, string>;
}

function classify(error: unknown): JourneyError {
  if (error instanceof JourneyError) return error;
  if (error instanceof oidc.ResponseBodyError) return new JourneyError(`oauth ${error.status} ${error.error}`, error.error_description ?? error.error);
  // First line only: a page's HTML may follow.
  const message = ((error as Error)?.message ?? String(error)).split('\n')[0]!;
  const status = /got HTTP (\d{3})/.exec(message)?.[1];
  if (status) return new JourneyError(`http ${status}`, message);
  const cause = (error as { cause?: { code?: string } })?.cause?.code;
  if (cause || /fetch failed/.test(message)) return new JourneyError('network', `${message} ${cause ?? ''}`.trim());
  return new JourneyError('unexpected', message);
}

function pageOrFail(result: Page | LeftIssuer, what: string): Page {
  if (!isPage(result)) throw new JourneyError('unexpected redirect', `${what}: redirected to ${result.redirect.origin}${result.redirect.pathname}`);
  if (result.status >= 400) throw new JourneyError(`http ${result.status}`, `${what}: HTTP ${result.status} at ${result.url.pathname}`);
  return result;
}

function expectStatus(response: Response, allowed: readonly number[], what: string): void {
  if (!allowed.includes(response.status)) throw new JourneyError(`http ${response.status}`, `${what}: HTTP ${response.status}`);
}

export class Journeys {
  constructor(private readonly ctx: TrafficContext) {}

  /** Signs a browser in to `apps` (the first through the form, the others silently), with code exchange, userinfo and a refresh. */
  private async signIn(user: SoakUser, apps: readonly SoakApp[], browser = new Browser(this.ctx.issuer)): Promise<SignedIn> {
    const { log } = this.ctx;
    const [first, ...others] = apps as [SoakApp, ...SoakApp[]];
    const otp = user.totpSecret ? () => nextTotpCode(user) ?? '' : undefined;
    const tokens = await first.rp.login(browser, { login: user.email, password: user.password }, {}, otp);
    log.count(otp ? 'sign-in with TOTP' : 'sign-in with password');
    log.count('code exchange');
    const claims = tokens.claims()!;
    if (typeof claims.sid !== 'string') throw new JourneyError('protocol', `${first.name} got no sid`);
    await oidc.fetchUserInfo(first.rp.config, tokens.access_token, claims.sub);
    log.count('userinfo');
    const refreshed = await oidc.refreshTokenGrant(first.rp.config, tokens.refresh_token!);
    log.count('refresh');
    const refreshTokens = new Map<SoakApp, string>([[first, refreshed.refresh_token ?? tokens.refresh_token!]]);
    // Recorded before the silent sign-ins: a client that got tokens is in the session from then on.
    const seen = { clientId: first.clientId, sid: claims.sid, clients: [first.clientId] };
    log.observed.push(seen);
    for (const other of others) {
      const result = await other.rp.authorize(browser, { scope: 'openid offline_access' });
      if (!('tokens' in result)) throw new JourneyError('protocol', `silent sign-in to ${other.name} failed: ${'error' in result ? result.error : 'a page'}`);
      seen.clients.push(other.clientId);
      refreshTokens.set(other, result.tokens.refresh_token!);
      log.count('silent sign-in');
    }
    return { user, browser, first, sid: claims.sid, idToken: tokens.id_token!, refreshTokens };
  }

  private expectEnded(session: SignedIn, reason: string, dueBy = Date.now()): void {
    this.ctx.log.expectedEndings.push({ clientId: session.first.clientId, sid: session.sid, reason, dueBy });
  }

  /** After an ending: the applications' refresh tokens of that session no longer work. */
  private async expectRevoked(session: SignedIn): Promise<void> {
    for (const [app, token] of session.refreshTokens) {
      try {
        await oidc.refreshTokenGrant(app.rp.config, token);
      } catch (error) {
        if (error instanceof oidc.ResponseBodyError && error.error === 'invalid_grant') {
          this.ctx.log.count('refresh refused after the end');
          continue;
        }
        throw error;
      }
      throw new JourneyError('token outlived its session', `${app.name}'s refresh token still works after the session ended`);
    }
  }

  /** The session's id in the index, from the admin API (by the sid its first application got). */
  private async sessionId(session: SignedIn): Promise<string> {
    const listed = await this.ctx.admin('GET', `/admin/api/users/${session.user.id}/sessions`);
    if (listed.status !== 200) throw new JourneyError(`http ${listed.status}`, 'listing sessions (admin API)');
    const sessions = listed.body.sessions as { id: string; clients: { client_id: string; sid: string }[] }[];
    const found = sessions.find((s) => s.clients.some((c) => c.client_id === session.first.clientId && c.sid === session.sid));
    if (!found) throw new JourneyError('protocol', 'the session is not among the live sessions');
    return found.id;
  }

  private async accountForm(session: SignedIn, path: string, action: RegExp, values: Record<string, string> = {}): Promise<Response> {
    const page = pageOrFail(await session.browser.navigate(path), path);
    const form = findForm(page.html, action);
    return session.browser.request(new URL(form.action, page.url), { form: { ...form.hidden, ...values } });
  }

  /** The user with an authenticator app when it has an unused code for each of the journey's sign-ins, else the plain one. */
  private user(users: WorkerUsers, signIns = 1): SoakUser {
    const probe = { ...users.totp };
    for (let i = 0; i < signIns; i += 1) if (!nextTotpCode(probe)) return users.plain;
    return users.totp;
  }

  /** RP-initiated logout at /session/end (with the confirmation). */
  async rpLogout(users: WorkerUsers): Promise<void> {
    const { notes, mail } = this.ctx.apps;
    const session = await this.signIn(this.user(users), [notes, mail]);
    const confirm = pageOrFail(await session.browser.navigate(oidc.buildEndSessionUrl(notes.rp.config, { id_token_hint: session.idToken }).href), '/session/end');
    const done = await session.browser.submit(confirm, /\/session\/end\/confirm$/, { logout: 'yes' });
    if (isPage(done)) pageOrFail(done, '/session/end/confirm');
    this.ctx.log.count('end: RP-initiated logout');
    this.expectEnded(session, 'logged_out');
    await this.expectRevoked(session);
  }

  /** "Sign out" on the account pages. */
  async accountLogout(users: WorkerUsers): Promise<void> {
    const { calendar, mail, wiki } = this.ctx.apps;
    const session = await this.signIn(this.user(users), [calendar, mail, wiki]);
    expectStatus(await this.accountForm(session, '/account', /\/account\/logout$/), [200, 302, 303], '/account/logout');
    this.ctx.log.count('end: account sign-out');
    this.expectEnded(session, 'logged_out');
    await this.expectRevoked(session);
  }

  /** Two devices: one ends the other at /account/sessions, then an administrator revokes the first. */
  async endOneThenAdminRevoke(users: WorkerUsers): Promise<void> {
    const { notes, calendar, mail } = this.ctx.apps;
    const user = users.plain;
    const here = await this.signIn(user, [notes, calendar]);
    const there = await this.signIn(user, [calendar, mail]);
    const thereId = await this.sessionId(there);
    expectStatus(await this.accountForm(here, '/account/sessions', new RegExp(`/account/sessions/${thereId}/end$`)), [200, 302, 303], 'ending one session');
    this.ctx.log.count('end: account, one session');
    this.expectEnded(there, 'revoked_by_user');
    await this.expectRevoked(there);
    const hereId = await this.sessionId(here);
    const revoked = await this.ctx.admin('DELETE', `/admin/api/users/${user.id}/sessions/${hereId}`);
    if (revoked.status !== 200 || revoked.body.ended !== true) throw new JourneyError(`http ${revoked.status}`, 'admin API revoke of one session');
    this.ctx.log.count('end: admin API revoke');
    this.expectEnded(here, 'revoked_by_admin');
    await this.expectRevoked(here);
  }

  /** Two devices: "end the others", then "log out everywhere" (both sensitive: the fresh sign-in counts). */
  async endOthersThenAll(users: WorkerUsers): Promise<void> {
    const { notes, mail, wiki } = this.ctx.apps;
    const user = this.user(users, 2);
    const here = await this.signIn(user, [notes, wiki]);
    const there = await this.signIn(user, [notes, mail]);
    expectStatus(await this.accountForm(here, '/account/sessions', /\/account\/sessions\/end-others$/), [200, 302, 303], 'ending the other sessions');
    this.ctx.log.count('end: account, the others');
    this.expectEnded(there, 'revoked_by_user');
    await this.expectRevoked(there);
    expectStatus(await this.accountForm(here, '/account/sessions', /\/account\/sessions\/end-all$/), [200, 302, 303], 'ending every session');
    this.ctx.log.count('end: account, all');
    this.expectEnded(here, 'revoked_by_user');
    await this.expectRevoked(here);
  }

  /** A password change at /account/password ends the other device's session; this one then signs out at /session/end. */
  async passwordChange(users: WorkerUsers): Promise<void> {
    const { notes, calendar, mail } = this.ctx.apps;
    const user = users.plain;
    const here = await this.signIn(user, [calendar, mail]);
    const there = await this.signIn(user, [notes]);
    const next = newPassword();
    const changed = await this.accountForm(here, '/account/password', /\/account\/password$/, { current_password: user.password, new_password: next, confirm_password: next });
    expectStatus(changed, [303], 'changing the password');
    user.password = next;
    this.ctx.log.count('end: password change');
    this.expectEnded(there, 'password_changed');
    await this.expectRevoked(there);
    expectStatus(await this.accountForm(here, '/account', /\/account\/logout$/), [200, 302, 303], '/account/logout');
    this.expectEnded(here, 'logged_out');
  }

  /** An administrator disables the user (every session ends), then enables it again. */
  async disableUser(users: WorkerUsers): Promise<void> {
    const { notes, calendar, mail } = this.ctx.apps;
    const user = users.plain;
    const session = await this.signIn(user, [notes, calendar, mail]);
    const disabled = await this.ctx.admin('POST', `/admin/api/users/${user.id}/disable`);
    if (disabled.status !== 200) throw new JourneyError(`http ${disabled.status}`, 'admin API disable');
    this.ctx.log.count('end: user disabled');
    this.expectEnded(session, 'user_disabled');
    try {
      await this.expectRevoked(session);
    } finally {
      const enabled = await this.ctx.admin('POST', `/admin/api/users/${user.id}/enable`);
      if (enabled.status !== 200) throw new JourneyError(`http ${enabled.status}`, 'admin API enable');
    }
  }

  /** An administrator resets the second factor (a lost phone): the session ends; the user then sets up a new app. */
  async resetSecondFactor(users: WorkerUsers): Promise<void> {
    const { calendar, mail } = this.ctx.apps;
    const user = users.lostPhone;
    if (!nextTotpCode({ ...user })) return this.serviceTokens();
    const session = await this.signIn(user, [calendar, mail]);
    const reset = await this.ctx.admin('POST', `/admin/api/users/${user.id}/reset-mfa`);
    if (reset.status !== 200) throw new JourneyError(`http ${reset.status}`, 'admin API reset-mfa');
    this.ctx.log.count('end: second factor reset');
    this.expectEnded(session, 'mfa_reset');
    try {
      await this.expectRevoked(session);
    } finally {
      await this.ctx.enrolTotp(user);
    }
  }

  /**
   * Keeps a session active (a silent sign-in every quarter of the idle timeout) until its absolute lifetime ends it.
   * A page instead of an answer (an outage) is tried again at the next tick.
   */
  async outliveAbsoluteLifetime(user: SoakUser): Promise<void> {
    const { notes, calendar } = this.ctx.apps;
    const session = await this.signIn(user, [notes, calendar]);
    const giveUpAt = Date.now() + (this.ctx.absoluteLifetime + 30) * 1000;
    for (;;) {
      if (Date.now() > giveUpAt) throw new JourneyError('protocol', 'the session outlived its absolute lifetime');
      await new Promise((resolve) => setTimeout(resolve, (this.ctx.idleTimeout * 1000) / 4));
      // Without prompt=consent oidc-provider issues no refresh token: the ones from the sign-in stay the ones to check.
      const result = await calendar.rp.authorize(session.browser, { prompt: 'none', scope: 'openid' });
      if (!('error' in result)) continue;
      if (result.error !== 'login_required') throw new JourneyError('protocol', `silent sign-in: ${result.error}`);
      break;
    }
    this.ctx.log.count('end: absolute lifetime');
    this.expectEnded(session, 'expired_absolute');
    await this.expectRevoked(session);
  }

  /** Signs in and walks away: the idle timeout ends it (found by the sweeper). */
  async abandon(users: WorkerUsers): Promise<void> {
    const { notes, mail } = this.ctx.apps;
    const session = await this.signIn(users.idle, [notes, mail]);
    this.ctx.log.count('end: idle expiry (awaited)');
    this.expectEnded(session, 'expired_idle', Date.now() + (this.ctx.idleTimeout + 2 * this.ctx.sweepInterval + 5) * 1000);
  }

  /**
   * More sign-ins than the session limit allows (the oldest is evicted), then the administrator revokes every session
   * at once: a burst of logouts for the worker, all at the same moment.
   */
  async crowdThenRevokeAll(users: WorkerUsers): Promise<void> {
    const { notes, calendar } = this.ctx.apps;
    const user = users.crowd;
    const sessions: SignedIn[] = [];
    for (let i = 0; i <= this.ctx.sessionLimit; i += 1) sessions.push(await this.signIn(user, [notes, calendar]));
    this.ctx.log.count('end: session limit eviction');
    this.expectEnded(sessions[0]!, 'evicted');
    await this.expectRevoked(sessions[0]!);
    const revoked = await this.ctx.admin('DELETE', `/admin/api/users/${user.id}/sessions`);
    if (revoked.status !== 200 || revoked.body.ended !== this.ctx.sessionLimit) throw new JourneyError(`http ${revoked.status}`, `admin API revoke-all ended ${String(revoked.body.ended)} of ${this.ctx.sessionLimit}`);
    this.ctx.log.count('end: admin API revoke-all');
    for (const session of sessions.slice(1)) this.expectEnded(session, 'revoked_by_admin');
    for (const session of sessions.slice(1)) await this.expectRevoked(session);
  }

  /** A service's client_credentials tokens. */
  async serviceTokens(): Promise<void> {
    for (let i = 0; i < 3; i += 1) {
      await oidc.clientCredentialsGrant(this.ctx.service);
      this.ctx.log.count('client_credentials');
    }
  }
}

type JourneyName =
  | 'rpLogout' | 'accountLogout' | 'endOneThenAdminRevoke' | 'endOthersThenAll' | 'passwordChange' | 'disableUser' | 'resetSecondFactor'
  | 'abandon' | 'crowdThenRevokeAll' | 'serviceTokens';

/** How often each journey runs, relatively. */
const WEIGHTS: readonly [JourneyName, number][] = [
  ['rpLogout', 4], ['accountLogout', 3], ['endOneThenAdminRevoke', 3], ['endOthersThenAll', 3], ['passwordChange', 2],
  ['disableUser', 2], ['resetSecondFactor', 1], ['abandon', 1], ['crowdThenRevokeAll', 1], ['serviceTokens', 3],
];

function pick(random: () => number): JourneyName {
  const total = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  let draw = random() * total;
  for (const [name, weight] of WEIGHTS) {
    draw -= weight;
    if (draw < 0) return name;
  }
  return WEIGHTS[0]![0];
}

async function recorded(ctx: TrafficContext, kind: string, journey: () => Promise<void>): Promise<void> {
  const startedAt = Date.now();
  try {
    await journey();
    ctx.log.journeys.push({ kind, startedAt, endedAt: Date.now() });
  } catch (error) {
    const failure = classify(error);
    ctx.log.journeys.push({ kind, startedAt, endedAt: Date.now(), error: { kind: failure.kind, message: failure.message } });
  }
}

/** The absolute-lifetime journey of `user`, once at each of `starts` (ms since epoch), beside the traffic loops. */
export async function runSteadySessions(ctx: TrafficContext, user: SoakUser, starts: readonly number[]): Promise<void> {
  const journeys = new Journeys(ctx);
  for (const at of starts) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
    await recorded(ctx, 'outliveAbsoluteLifetime', () => journeys.outliveAbsoluteLifetime(user));
  }
}

/**
 * Runs the journeys until `until` (ms since epoch): one loop per worker, each with its own users, one journey at a
 * time, and all of them together starting at most `perSecond` journeys a second. Every journey is recorded with its
 * outcome; a failure never stops the traffic.
 */
export async function runTraffic(ctx: TrafficContext, workers: readonly WorkerUsers[], options: { until: number; perSecond: number; random?: () => number }): Promise<void> {
  const journeys = new Journeys(ctx);
  const random = options.random ?? Math.random;
  const gapMs = 1000 / options.perSecond;
  let nextStart = Date.now();
  // The idle user keeps at most this many abandoned sessions at once, under the session limit.
  const abandoned = new Map<WorkerUsers, number[]>();
  const reserveSlot = async () => {
    const wait = nextStart - Date.now();
    nextStart = Math.max(nextStart, Date.now()) + gapMs;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };
  await Promise.all(workers.map(async (users) => {
    for (;;) {
      await reserveSlot();
      if (Date.now() >= options.until) return;
      let name = pick(random);
      if (name === 'abandon') {
        const live = (abandoned.get(users) ?? []).filter((at) => at > Date.now() - (ctx.idleTimeout + 2 * ctx.sweepInterval) * 1000);
        if (live.length >= ctx.sessionLimit - 1) name = 'serviceTokens';
        else abandoned.set(users, [...live, Date.now()]);
      }
      await recorded(ctx, name, () => journeys[name](users));
    }
  }));
}
