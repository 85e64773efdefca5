// The back-channel logout worker on the injected clock and timers, with an in-memory outbox and a transport whose
// answers the test gives: shared by the worker's unit and property-based tests.
import type { RetryPolicy } from '../../src/domain/logout/delivery-policy.js';
import { LogoutDelivery, type DeliveryLog, type LogoutDeliveryDeps, type LogoutTokenSigner, type LogoutTransport } from '../../src/domain/logout/delivery-worker.js';
import { settle, TestClock, TestTimers } from './clock.js';
import { MemoryOutbox } from './memory-outbox.js';

export const T0 = new Date('2026-03-01T10:00:00Z');

/** The URI the worker posts to for a client (findTarget below). */
export const uriOf = (clientId: string) => `https://${clientId}.example/logout`;

interface HeldCall {
  readonly uri: string;
  readonly token: string;
  answer(status: number): void;
}

/** A transport whose answers the test gives; it records every call and the most requests open at once. */
export class HeldTransport implements LogoutTransport {
  open = 0;
  peak = 0;
  readonly calls: { uri: string; token: string }[] = [];
  private readonly waiting: HeldCall[] = [];

  post(uri: string, token: string, signal: AbortSignal): Promise<{ status: number }> {
    this.calls.push({ uri, token });
    this.open += 1;
    this.peak = Math.max(this.peak, this.open);
    return new Promise((resolve, reject) => {
      const call: HeldCall = {
        uri, token,
        answer: (status) => {
          this.waiting.splice(this.waiting.indexOf(call), 1);
          this.open -= 1;
          resolve({ status });
        },
      };
      signal.addEventListener('abort', () => {
        this.waiting.splice(this.waiting.indexOf(call), 1);
        this.open -= 1;
        reject(new Error('aborted'));
      });
      this.waiting.push(call);
    });
  }

  /** The URIs of the requests waiting for an answer, in arrival order. */
  get held(): string[] {
    return this.waiting.map((call) => call.uri);
  }

  /** Answers every request open now and lets the worker act on the answers; returns how many it answered. */
  async answerOpen(status: number): Promise<number> {
    const open = [...this.waiting];
    for (const call of open) call.answer(status);
    await settle();
    return open.length;
  }

  /** Waits (settling, no clock time passes) until a request is open, then answers them all. */
  async answerAll(status: number): Promise<void> {
    for (let round = 0; this.waiting.length === 0; round += 1) {
      if (round > 1000) throw new Error('no logout request arrived');
      await settle();
    }
    await this.answerOpen(status);
  }
}

/** A log that keeps what it is given, so tests can read what the worker said. */
export class RecordingLog implements DeliveryLog {
  readonly lines: { level: 'info' | 'warn' | 'error'; fields: object; message: string }[] = [];
  info(fields: object, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  error(fields: object, message: string): void {
    this.lines.push({ level: 'error', fields, message });
  }
  errors(): string[] {
    return this.lines.filter((line) => line.level === 'error').map((line) => line.message);
  }
}

export interface WorkerOptions {
  clock?: TestClock;
  timers?: TestTimers;
  concurrency?: number;
  timeoutMs?: number;
  leaseMs?: number;
  knownClients?: string[];
  findTarget?: LogoutDeliveryDeps['findTarget'];
  signer?: LogoutTokenSigner;
  policy?: RetryPolicy;
  random?: () => number;
  workerId?: string;
  log?: DeliveryLog;
}

/** A worker over `outbox` and `transport` on a test clock and its timers (by default retries 5 s apart at first, then up to a minute, for an hour). */
export function deliveryWorker(outbox: MemoryOutbox, transport: LogoutTransport, options: WorkerOptions = {}) {
  const clock = options.clock ?? options.timers?.clock ?? new TestClock(T0);
  const timers = options.timers ?? new TestTimers(clock);
  const known = options.knownClients ? new Set(options.knownClients) : undefined;
  const delivery = new LogoutDelivery({
    outbox,
    findTarget: options.findTarget ?? (async (clientId) => (!known || known.has(clientId) ? { uri: uriOf(clientId), sessionRequired: true, alg: 'RS256' } : undefined)),
    signer: options.signer ?? { sign: async (claims) => `token-for-${claims.aud}-${claims.jti}` },
    transport,
    clock,
    timers,
    random: options.random ?? (() => 0.5),
    policy: options.policy ?? { baseDelayMs: 5000, maxDelayMs: 60_000, retryWindowMs: 3_600_000 },
    issuer: 'https://id.example.com',
    workerId: options.workerId ?? 'w1',
    concurrency: options.concurrency ?? 16,
    timeoutMs: options.timeoutMs ?? 5000,
    leaseMs: options.leaseMs ?? 60_000,
    log: options.log ?? new RecordingLog(),
  });
  return { delivery, clock, timers };
}

/**
 * A worker with everything a test looks at: the outbox, the held transport, the log, the timers, and queue(), which
 * queues one notification due now (as a session ending here or in another process does) and returns its URI.
 */
export function deliveryRig(options: Pick<WorkerOptions, 'concurrency' | 'timeoutMs'>) {
  const outbox = new MemoryOutbox();
  const transport = new HeldTransport();
  const log = new RecordingLog();
  const { delivery, timers, clock } = deliveryWorker(outbox, transport, { ...options, log });
  let queued = 0;
  const queue = () => {
    queued += 1;
    outbox.add(`n${queued}`, `app${queued}`, { due: clock.now() });
    return uriOf(`app${queued}`);
  };
  /** A later logout on this worker: sent on its wake (no poll needed), and answered. */
  const expectLaterLogoutSent = async () => {
    const later = queue();
    delivery.wake();
    await settle();
    expect(transport.held).toEqual([later]);
    await transport.answerOpen(200);
  };
  return { outbox, transport, log, delivery, timers, clock, queue, expectLaterLogoutSent };
}
