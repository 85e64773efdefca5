import type { NewAuditEvent } from '../audit/audit.js';

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * One back-channel logout owed to one client for one ended session (a row of the outbox). `id` is the logout
 * token's jti: every attempt for this notification carries the same jti, so receivers can drop repeats.
 */
export interface LogoutNotification {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly clientId: string;
  readonly sid: string;
  /** Why the session ended (a SessionEndReason). */
  readonly reason: string;
  readonly state: DeliveryState;
  readonly createdAt: Date;
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly claimedBy: string | null;
  readonly claimedUntil: Date | null;
  readonly lastAttemptAt: Date | null;
  /** HTTP status or a short error of the last attempt; never the token. */
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
  readonly failedAt: Date | null;
}

/** What one attempt leaves behind (see delivery-policy.ts). */
export type AttemptOutcome =
  | { readonly state: 'delivered'; readonly attempts: number; readonly at: Date }
  | { readonly state: 'pending'; readonly attempts: number; readonly at: Date; readonly nextAttemptAt: Date; readonly lastError: string }
  | { readonly state: 'failed'; readonly attempts: number; readonly at: Date; readonly lastError: string };

export interface DeliveryQuery {
  readonly sessionId?: string;
  readonly clientId?: string;
  readonly state?: DeliveryState;
  readonly limit: number;
}

export interface ClientDeliveryCounts {
  readonly clientId: string;
  readonly counts: Readonly<Record<DeliveryState, number>>;
}

export const DELIVERY_LIST_MAX = 1000;
export const DELIVERY_LIST_DEFAULT = 100;

/** The durable outbox of back-channel logout notifications. The rows are written by the session index. */
export interface LogoutOutbox {
  /**
   * Atomically claims up to `limit` pending notifications that are due at `now` and not held by a live claim
   * (claimedUntil unset or past): sets claimedBy and claimedUntil and returns them. Two claimers never get one row.
   */
  claimDue(input: { readonly now: Date; readonly limit: number; readonly workerId: string; readonly leaseUntil: Date }): Promise<LogoutNotification[]>;
  /**
   * Records an attempt's outcome and releases the claim, only while `workerId` still holds it; with `audit`, appends
   * that event in the same transaction. False when the claim was lost (another worker took the row over).
   */
  settle(id: string, workerId: string, outcome: AttemptOutcome, audit?: NewAuditEvent): Promise<boolean>;
  /**
   * When the longest-waiting notification that claimDue would take at `now` fell due (its nextAttemptAt), or undefined
   * when none is waiting: pending, due, and held by no live claim. For the workers' self-check and /metrics.
   */
  oldestDueAt(now: Date): Promise<Date | undefined>;
  /** Gives a claimed notification back unchanged (shutdown), so another worker may take it at once. */
  release(id: string, workerId: string): Promise<void>;
  find(id: string): Promise<LogoutNotification | undefined>;
  /** Newest first. */
  list(query: DeliveryQuery): Promise<LogoutNotification[]>;
  /** How many notifications are in each state (all processes; for metrics). */
  countByState(): Promise<Record<DeliveryState, number>>;
  /** How many notifications each client has in each state, by client id. */
  countByClient(): Promise<ClientDeliveryCounts[]>;
  /**
   * Makes a pending or failed notification due now, saving the audit event `audit` makes of it in the same transaction;
   * returns it, or undefined (nothing written) when there is none.
   */
  requeue(id: string, now: Date, audit: (notification: LogoutNotification) => NewAuditEvent): Promise<LogoutNotification | undefined>;
}
