import { createHash, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { WorkerCounters } from '../../domain/logout/delivery-worker.js';
import type { DeliveryState } from '../../domain/logout/logout-notification.js';

export interface MetricsDeps {
  /** The bearer token /metrics requires; undefined: there is no /metrics. */
  readonly token: string | undefined;
  /** This process's back-channel logout worker counters. */
  readonly logoutCounters: () => WorkerCounters;
  /** Notifications per state in the database (every process). */
  readonly logoutStates: () => Promise<Record<DeliveryState, number>>;
  /** Seconds the longest-waiting due notification that no worker holds has waited (every process; 0 when none). */
  readonly logoutOldestDueSeconds: () => Promise<number>;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Prometheus text exposition of Gatehouse's counters, at /metrics, only when METRICS_TOKEN is set and only with
 * `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time). Written by hand: a few counters do not need a
 * metrics library.
 */
export function createMetricsRouter(deps: MetricsDeps): Router {
  const router = new Router();
  if (!deps.token) return router;
  const expected = digest(deps.token);
  router.get('/metrics', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const presented = /^Bearer (\S{1,512})$/i.exec(ctx.get('authorization'))?.[1];
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.body = { error: 'invalid_token' };
      return;
    }
    const counters = deps.logoutCounters();
    const [states, oldestDueSeconds] = await Promise.all([deps.logoutStates(), deps.logoutOldestDueSeconds()]);
    const lines = [
      '# HELP gatehouse_logout_delivery_attempts_total Back-channel logout POSTs attempted by this process.',
      '# TYPE gatehouse_logout_delivery_attempts_total counter',
      `gatehouse_logout_delivery_attempts_total ${counters.attempts}`,
      '# HELP gatehouse_logout_delivery_outcomes_total Outcomes of this process\'s back-channel logout attempts.',
      '# TYPE gatehouse_logout_delivery_outcomes_total counter',
      `gatehouse_logout_delivery_outcomes_total{outcome="delivered"} ${counters.delivered}`,
      `gatehouse_logout_delivery_outcomes_total{outcome="retry"} ${counters.retried}`,
      `gatehouse_logout_delivery_outcomes_total{outcome="failed"} ${counters.failed}`,
      '# HELP gatehouse_logout_notifications Back-channel logout notifications in the database, by state (all processes).',
      '# TYPE gatehouse_logout_notifications gauge',
      ...(['pending', 'delivered', 'failed'] as const).map((state) => `gatehouse_logout_notifications{state="${state}"} ${states[state]}`),
      '# HELP gatehouse_logout_delivery_stalls_total Times this process\'s delivery worker found itself not claiming while notifications were due (it restarted its claim loop).',
      '# TYPE gatehouse_logout_delivery_stalls_total counter',
      `gatehouse_logout_delivery_stalls_total ${counters.stalls}`,
      '# HELP gatehouse_logout_oldest_due_seconds How long the longest-waiting due back-channel logout notification that no worker holds has waited (all processes; 0 when none).',
      '# TYPE gatehouse_logout_oldest_due_seconds gauge',
      `gatehouse_logout_oldest_due_seconds ${oldestDueSeconds}`,
    ];
    ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
    ctx.body = lines.join('\n') + '\n';
  });
  return router;
}
