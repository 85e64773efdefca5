/**
 * Persistence for every artifact oidc-provider keeps (Session, Grant, AccessToken, RefreshToken, AuthorizationCode,
 * Interaction, ReplayDetection, ...). Expired rows are never returned, and purgeExpired removes them.
 */
export interface StoredPayload {
  readonly payload: Record<string, unknown>;
  readonly consumedAt: Date | null;
  /** When the row stops being returned; null: never. */
  readonly expiresAt: Date | null;
}

export interface PayloadIndex {
  readonly grantId?: string | undefined;
  readonly userCode?: string | undefined;
  readonly uid?: string | undefined;
}

export interface PayloadStore {
  upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: Date | null, index: PayloadIndex): Promise<void>;
  find(model: string, id: string, now: Date): Promise<StoredPayload | undefined>;
  findByUid(model: string, uid: string, now: Date): Promise<StoredPayload | undefined>;
  findByUserCode(model: string, userCode: string, now: Date): Promise<StoredPayload | undefined>;
  /** Idempotent: consuming twice keeps the first time. */
  consume(model: string, id: string, at: Date): Promise<void>;
  /** Idempotent: destroying a missing row is not an error. */
  destroy(model: string, id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
  /** Removes every expired row; returns how many. */
  purgeExpired(now: Date): Promise<number>;
}
