import { SYSTEM, type NewAuditEvent } from '../audit/audit.js';
import type { CancelTimer, Clock, Timers } from '../clock.js';
import { outcomeOf, type AttemptResult, type RetryPolicy } from './delivery-policy.js';
import { logoutTokenClaims, type LogoutTokenClaims } from './logout-token.js';
import type { AttemptOutcome, LogoutNotification, LogoutOutbox } from './logout-notification.js';

/** Where and how a client takes back-channel logout, as registered now. */
export interface BackchannelTarget {
  readonly uri: string;
  readonly sessionRequired: boolean;
  /** The client's ID token algorithm, which its logout tokens are signed with too. */
  readonly alg: string;
}

/** Signs logout tokens with Gatehouse's current key for an algorithm (the keys /jwks publishes). */
export interface LogoutTokenSigner {
  sign(claims: LogoutTokenClaims, alg: string): Promise<string>;
}

/**
 * POSTs a logout token (form-encoded logout_token=...) to a URI: no redirects followed, no cookies, refusing
 * destinations the SSRF guard forbids. Resolves with the HTTP status, or with an error that was not an HTTP answer;
 * rejects only when `signal` aborts.
 */
export interface LogoutTransport {
  post(uri: string, logoutToken: string, signal: AbortSignal): Promise<{ readonly status: number } | { readonly error: string; readonly retryable: boolean }>;
}

export interface DeliveryLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface DeliveryCounters {
  attempts: number;
  delivered: number;
  retried: number;
  failed: number;
}

export interface WorkerCounters extends DeliveryCounters {
  /** Times the self-check found this worker not claiming while notifications waited (and restarted its claim loop). */
  stalls: number;
}

/**
 * Poll intervals that due notifications may wait unclaimed while this worker has a free slot and completes no claim,
 * before its self-check calls it stalled. A healthy worker completes a claim on every poll.
 */
export const STALL_POLLS = 3;

export interface LogoutDeliveryDeps {
  readonly outbox: LogoutOutbox;
  /** The client's back-channel logout registration, or undefined when it has none any more (or was deleted). */
  readonly findTarget: (clientId: string) => Promise<BackchannelTarget | undefined>;
  readonly signer: LogoutTokenSigner;
  readonly transport: LogoutTransport;
  readonly clock: Clock;
  /** The poll and the attempt timeout run on these (the clock's time). */
  readonly timers: Timers;
  /** [0, 1), for the jitter. */
  readonly random: () => number;
  readonly policy: RetryPolicy;
  readonly issuer: string;
  /** This worker's name in claims (claimedBy); unique per process. */
  readonly workerId: string;
  /** Attempts in flight at once, across all notifications. */
  readonly concurrency: number;
  /** Real time one attempt may take before it is abandoned (and retried later). */
  readonly timeoutMs: number;
  /** How long a claim holds a row (clock time); longer than timeoutMs, so only a dead worker loses it. */
  readonly leaseMs: number;
  readonly log: DeliveryLog;
}

const SUCCESS = new Set([200, 204]);
const SHUTDOWN = Symbol('shutdown');

function shortError(error: unknown): string {
  const cause = (error as { cause?: { code?: string } })?.cause?.code ?? (error as { code?: string })?.code;
  const message = typeof cause === 'string' ? cause : (error as Error)?.message ?? String(error);
  return message.slice(0, 200);
}

/** One run of the claim loop; the worker's `claimRun` is set to it before its body runs, and cleared only by that body. */
interface ClaimRun {
  done: Promise<number>;
}

/**
 * The back-channel logout worker: claims due notifications from the outbox, delivers them with bounded concurrency
 * (a slow or dead receiver holds one slot, never the others), and records each attempt's outcome by the retry policy.
 *
 * Claims run in one loop at a time (ClaimRun). Whatever wakes the worker (the poll, wake(), drain(), a slot freeing)
 * asks for a claim (`claimWanted`); a loop already running looks at the free slots again before it ends, so no wake is
 * lost while a claim is in flight, and a wake while every slot is busy leaves a backlog that the next freed slot claims.
 */
export class LogoutDelivery {
  private readonly inFlight = new Map<string, { readonly done: Promise<void>; readonly controller: AbortController }>();
  private claimRun: ClaimRun | undefined;
  /** Someone asked for a claim since the running loop last counted the free slots. */
  private claimWanted = false;
  /** Due notifications may be waiting for a slot (the last claim filled every free slot, or found none free): a slot that frees up claims again. */
  private backlog = false;
  private stopped = false;
  private cancelPoll: CancelTimer | undefined;
  private pollMs = 0;
  /** Clock time (ms) this worker last showed it claims: a claim completed, or every slot was busy (nothing to claim for). */
  private claimingSeenAt = 0;
  private checkingForStall = false;
  readonly counters: WorkerCounters = { attempts: 0, delivered: 0, retried: 0, failed: 0, stalls: 0 };

  constructor(private readonly deps: LogoutDeliveryDeps) {}

  /** Polls every `intervalMs` (and once now), checking itself on each poll, until stop(); after stop(), starts again. */
  start(intervalMs: number): void {
    if (this.cancelPoll) return;
    this.stopped = false;
    this.pollMs = intervalMs;
    this.claimingSeenAt = this.deps.clock.now().getTime();
    this.cancelPoll = this.deps.timers.every(intervalMs, () => this.poll());
    this.wake();
  }

  /** Looks for due notifications now (called after a session ends in this process). */
  wake(): void {
    // Before start() (the CLI, which only queues) nothing is delivered from here.
    if (this.stopped || !this.cancelPoll) return;
    this.pump().catch((error: unknown) => this.deps.log.error({ err: error }, 'claiming logout notifications failed'));
  }

  private poll(): void {
    this.wake();
    this.checkForStall().catch((error: unknown) => this.deps.log.warn({ err: error }, 'the logout delivery self-check could not read the outbox'));
  }

  /**
   * The bug guard: notifications have waited, due and unclaimed, for more than STALL_POLLS poll intervals while this
   * worker had a free slot and completed no claim. Then its claim loop is stuck (a claim that never returns, or a
   * wake that was lost): it says so (counts and ages only), counts it, and starts a fresh claim loop. Costs nothing
   * while the worker claims: the outbox is read only once it has gone quiet for that long.
   */
  private async checkForStall(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (this.inFlight.size >= this.deps.concurrency) {
      // Every slot busy (slow receivers) is not a stall: there is nothing to claim for.
      this.claimingSeenAt = now;
      return;
    }
    const windowMs = STALL_POLLS * this.pollMs;
    const seenAt = this.claimingSeenAt;
    if (now - seenAt <= windowMs || this.checkingForStall) return;
    this.checkingForStall = true;
    try {
      const oldest = await this.deps.outbox.oldestDueAt(new Date(now));
      // A claim completed (or the worker stopped) while the outbox was read: not stuck after all.
      if (!oldest || now - oldest.getTime() <= windowMs || this.claimingSeenAt !== seenAt || this.stopped) return;
      this.counters.stalls += 1;
      this.deps.log.error(
        { oldestDueMs: now - oldest.getTime(), sinceLastClaimMs: now - seenAt, inFlight: this.inFlight.size, concurrency: this.deps.concurrency, stalls: this.counters.stalls },
        'logout delivery stalled: notifications are due and this worker has claimed nothing; restarting its claim loop',
      );
      this.restartClaims(now);
    } finally {
      this.checkingForStall = false;
    }
  }

  /** Forgets the stuck claim loop (which, should it ever return, gives back what it claimed) and starts a new one. */
  private restartClaims(now: number): void {
    this.claimRun = undefined;
    this.claimingSeenAt = now;
    this.wake();
  }

  /**
   * One full pass: claims everything due now and waits until every attempt started (by this pass or before it) has
   * finished, claiming again as slots free up. Tests call it instead of waiting for the poll.
   */
  async drain(): Promise<DeliveryCounters> {
    const before = { ...this.counters };
    for (;;) {
      const started = await this.pump();
      if (started === 0 && this.inFlight.size === 0) break;
      await Promise.all([...this.inFlight.values()].map((f) => f.done));
    }
    return {
      attempts: this.counters.attempts - before.attempts,
      delivered: this.counters.delivered - before.delivered,
      retried: this.counters.retried - before.retried,
      failed: this.counters.failed - before.failed,
    };
  }

  /**
   * Stops polling, abandons attempts in flight (their claims are given back, as are those of a claim that returns
   * after this) and waits for them to settle.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelPoll?.();
    this.cancelPoll = undefined;
    for (const { controller } of this.inFlight.values()) controller.abort(SHUTDOWN);
    await this.claimRun?.done.catch(() => undefined);
    await Promise.all([...this.inFlight.values()].map((f) => f.done));
  }

  /**
   * Asks for a claim and returns the running claim loop's promise (how many it started), starting a loop when none
   * runs. The loop is this.claimRun from before its body can run (an async body runs synchronously up to its first
   * await, and may end there) until that body clears it, so a loop never outlives its mark nor its mark the loop.
   */
  private pump(): Promise<number> {
    this.claimWanted = true;
    if (this.claimRun) return this.claimRun.done;
    const run: ClaimRun = { done: Promise.resolve(0) };
    this.claimRun = run;
    run.done = this.claimWhileWanted(run);
    return run.done;
  }

  /** Claims as many due notifications as there are free slots and starts them, until no claim is wanted; returns how many it started. */
  private async claimWhileWanted(run: ClaimRun): Promise<number> {
    let started = 0;
    try {
      while (this.claimWanted && !this.stopped && this.claimRun === run) {
        this.claimWanted = false;
        const free = this.deps.concurrency - this.inFlight.size;
        if (free <= 0) {
          this.backlog = true;
          this.claimingSeenAt = this.deps.clock.now().getTime();
          break;
        }
        const now = this.deps.clock.now();
        const claimed = await this.claimDue(now, free);
        if (this.stopped || this.claimRun !== run) {
          await this.giveBack(claimed);
          break;
        }
        this.claimingSeenAt = this.deps.clock.now().getTime();
        for (const notification of claimed) this.begin(notification);
        started += claimed.length;
        this.backlog = claimed.length === free;
      }
    } finally {
      if (this.claimRun === run) this.claimRun = undefined;
    }
    return started;
  }

  /**
   * One claim. A claim that fails (the database is down) shows the loop alive all the same: it is logged where the
   * loop's promise is caught, and the next wake claims again; the self-check looks for a loop that claims nothing, not
   * for an outage, which /readyz and the 503 answers report.
   */
  private async claimDue(now: Date, limit: number): Promise<LogoutNotification[]> {
    try {
      return await this.deps.outbox.claimDue({ now, limit, workerId: this.deps.workerId, leaseUntil: new Date(now.getTime() + this.deps.leaseMs) });
    } catch (error) {
      this.claimingSeenAt = this.deps.clock.now().getTime();
      throw error;
    }
  }

  /** Claims this loop may no longer start (the worker stopped, or the self-check replaced this loop), given back so they are due at once. */
  private async giveBack(claimed: readonly LogoutNotification[]): Promise<void> {
    await Promise.all(claimed.map((notification) => this.deps.outbox.release(notification.id, this.deps.workerId)));
  }

  private begin(notification: LogoutNotification): void {
    const controller = new AbortController();
    const done = this.attempt(notification, controller)
      // Only recording the outcome can fail here (the database): the claim is then taken over when its lease runs out.
      .catch((error: unknown) => this.deps.log.error({ err: error, notificationId: notification.id }, 'recording a logout delivery attempt failed'))
      .finally(() => {
        this.inFlight.delete(notification.id);
        // A claim in flight counted its free slots before this one freed: it looks again too.
        if (this.backlog || this.claimRun) this.wake();
      });
    this.inFlight.set(notification.id, { done, controller });
  }

  private async attempt(notification: LogoutNotification, controller: AbortController): Promise<void> {
    const { deps } = this;
    const result = await this.send(notification, controller);
    if (result === SHUTDOWN) {
      await deps.outbox.release(notification.id, deps.workerId);
      return;
    }
    this.counters.attempts += 1;
    const outcome = outcomeOf(deps.policy, notification, result, deps.clock.now(), deps.random);
    const settled = await deps.outbox.settle(notification.id, deps.workerId, outcome, outcome.state === 'failed' ? this.failedEvent(notification, outcome) : undefined);
    if (!settled) {
      deps.log.warn({ notificationId: notification.id }, 'logout notification was taken over by another worker before this attempt finished');
      return;
    }
    this.record(notification, outcome);
  }

  /**
   * One attempt: the client's registration, the token, the POST. An unexpected error on the way (the client lookup
   * or the signer throwing, say for an algorithm without a key) is a failed attempt like any other, so it is retried
   * with backoff and in the end given up (failed, audited, counted) instead of holding its claim until the lease runs
   * out and starting over, forever. SHUTDOWN when stop() abandoned the attempt.
   */
  private async send(notification: LogoutNotification, controller: AbortController): Promise<AttemptResult | typeof SHUTDOWN> {
    const { deps } = this;
    let target: BackchannelTarget | undefined;
    let token: string;
    try {
      target = await deps.findTarget(notification.clientId);
      if (!target) return { ok: false, error: 'the client has no back-channel logout URI any more', retryable: false };
      const claims = logoutTokenClaims({ issuer: deps.issuer, notification, sessionRequired: target.sessionRequired, now: deps.clock.now() });
      token = await deps.signer.sign(claims, target.alg);
    } catch (error) {
      deps.log.error({ err: error, notificationId: notification.id, clientId: notification.clientId }, 'preparing a back-channel logout failed');
      return { ok: false, error: `internal error: ${shortError(error)}`, retryable: true };
    }
    const cancelTimeout = deps.timers.after(deps.timeoutMs, () => controller.abort());
    try {
      const answer = await deps.transport.post(target.uri, token, controller.signal);
      if ('status' in answer) return SUCCESS.has(answer.status) ? { ok: true } : { ok: false, error: `HTTP ${answer.status}`, retryable: true };
      return { ok: false, error: answer.error, retryable: answer.retryable };
    } catch (error) {
      if (controller.signal.reason === SHUTDOWN) return SHUTDOWN;
      return { ok: false, error: controller.signal.aborted ? `no answer within ${deps.timeoutMs} ms` : shortError(error), retryable: true };
    } finally {
      cancelTimeout();
    }
  }

  private failedEvent(notification: LogoutNotification, outcome: Extract<AttemptOutcome, { state: 'failed' }>): NewAuditEvent {
    return {
      at: outcome.at,
      type: 'logout.delivery_failed',
      actor: SYSTEM,
      userId: notification.userId,
      sessionId: notification.sessionId,
      clientId: notification.clientId,
      details: { notification_id: notification.id, attempts: outcome.attempts, last_error: outcome.lastError, reason: notification.reason },
    };
  }

  private record(notification: LogoutNotification, outcome: AttemptOutcome): void {
    const fields = { notificationId: notification.id, clientId: notification.clientId, sessionId: notification.sessionId, attempts: outcome.attempts };
    if (outcome.state === 'delivered') {
      this.counters.delivered += 1;
      this.deps.log.info(fields, 'back-channel logout delivered');
    } else if (outcome.state === 'pending') {
      this.counters.retried += 1;
      this.deps.log.warn({ ...fields, error: outcome.lastError, nextAttemptAt: outcome.nextAttemptAt.toISOString() }, 'back-channel logout attempt failed; will retry');
    } else {
      this.counters.failed += 1;
      this.deps.log.error({ ...fields, error: outcome.lastError }, 'back-channel logout given up');
    }
  }
}
