import type { Actor } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { DELIVERY_LIST_DEFAULT, type DeliveryQuery, type LogoutNotification, type LogoutOutbox } from './logout-notification.js';

export interface LogoutDeliveryServiceDeps {
  /** Saves a retry with its audit event. */
  readonly outbox: LogoutOutbox;
  readonly clock: Clock;
  /** Tells this process's worker that something is due (a no-op where no worker runs, as in the CLI). */
  readonly wake: () => void;
}

/** What administrators see and do about back-channel logout deliveries (CLI and admin API). */
export class LogoutDeliveryService {
  constructor(private readonly deps: LogoutDeliveryServiceDeps) {}

  list(query: Partial<DeliveryQuery>): Promise<LogoutNotification[]> {
    return this.deps.outbox.list({ ...query, limit: query.limit ?? DELIVERY_LIST_DEFAULT });
  }

  countByState() {
    return this.deps.outbox.countByState();
  }

  countByClient() {
    return this.deps.outbox.countByClient();
  }

  /** How long the longest-waiting due notification no worker holds has waited, in seconds (0 when none waits; all processes). */
  async oldestDueAgeSeconds(): Promise<number> {
    const now = this.deps.clock.now();
    const oldest = await this.deps.outbox.oldestDueAt(now);
    return oldest ? Math.max(0, now.getTime() - oldest.getTime()) / 1000 : 0;
  }

  async get(id: string): Promise<LogoutNotification> {
    const found = await this.deps.outbox.find(id);
    if (!found) throw new NotFoundError(`No logout delivery with id ${id}.`, { reason: { code: 'delivery_not_found', id } });
    return found;
  }

  /**
   * Makes a pending or failed delivery due now. A failed one gets one more attempt at once (and further retries only
   * while the retry window since the session ended is still open). A delivered one is a conflict.
   */
  async retry(id: string, actor: Actor): Promise<LogoutNotification> {
    const now = this.deps.clock.now();
    const requeued = await this.deps.outbox.requeue(id, now, (notification) => ({
      at: now,
      type: 'logout.delivery_retried',
      actor,
      userId: notification.userId,
      sessionId: notification.sessionId,
      clientId: notification.clientId,
      details: { notification_id: notification.id },
    }));
    if (!requeued) {
      const existing = await this.get(id);
      throw new ConflictError(`Logout delivery ${existing.id} was already delivered.`, { reason: { code: 'delivery_done', id: existing.id } });
    }
    this.deps.wake();
    return requeued;
  }
}
