import type { Clock } from '../clock.js';
import type { PayloadStore } from './payload-store.js';

export interface PurgeLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Removes expired protocol artifacts periodically (they are already ignored on read; this reclaims the space). */
export function startPurgeJob(deps: { payloads: PayloadStore; clock: Clock; intervalSeconds: number; log: PurgeLog }): () => void {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const purged = await deps.payloads.purgeExpired(deps.clock.now());
      if (purged > 0) deps.log.info({ purged }, 'purged expired oidc artifacts');
    } catch (error) {
      deps.log.error({ err: error }, 'purging expired oidc artifacts failed');
    } finally {
      running = false;
    }
  }, deps.intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
