import type { Clock } from '../clock.js';
import type { PayloadStore } from './payload-store.js';
import type { SessionService } from './session-service.js';

export interface PurgeLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Runs a job every interval, never two at once; returns the function that stops it. */
function every(intervalSeconds: number, job: () => Promise<void>): () => void {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      await job();
    } finally {
      running = false;
    }
  }, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Removes expired protocol artifacts periodically (they are already ignored on read; this reclaims the space). */
export function startPurgeJob(deps: { payloads: PayloadStore; clock: Clock; intervalSeconds: number; log: PurgeLog }): () => void {
  return every(deps.intervalSeconds, async () => {
    try {
      const purged = await deps.payloads.purgeExpired(deps.clock.now());
      if (purged > 0) deps.log.info({ purged }, 'purged expired oidc artifacts');
    } catch (error) {
      deps.log.error({ err: error }, 'purging expired oidc artifacts failed');
    }
  });
}

/** Ends sessions past their deadlines, so their end is recorded and their clients told without waiting for a request. */
export function startSessionSweeper(deps: { sessions: SessionService; intervalSeconds: number; log: PurgeLog }): () => void {
  return every(deps.intervalSeconds, async () => {
    try {
      const ended = await deps.sessions.sweepExpired();
      if (ended > 0) deps.log.info({ ended }, 'ended expired sessions');
    } catch (error) {
      deps.log.error({ err: error }, 'ending expired sessions failed');
    }
  });
}
