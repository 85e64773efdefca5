import { createHash } from 'node:crypto';
import type { PayloadIndex, PayloadStore, StoredPayload } from '../../domain/sessions/payload-store.js';
import type { Db } from './database.js';

/**
 * Rows are keyed by a SHA-256 of the artifact id, never the id itself: the ids of sessions, access and refresh tokens
 * and codes are the cookie and bearer values, so a copy of the database must not be enough to use any of them.
 */
export function payloadKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** The payload as stored: without the id it is keyed by, nor (in interactions) the session cookie value. */
function storable(model: string, payload: Record<string, unknown>): Record<string, unknown> {
  const { jti: _id, ...rest } = payload;
  if (model === 'Interaction' && rest.session && typeof rest.session === 'object') {
    const { cookie: _cookie, ...session } = rest.session as Record<string, unknown>;
    rest.session = session;
  }
  return rest;
}

interface PayloadRow {
  payload: string;
  consumedAt: Date | null;
  expiresAt: Date | null;
}

function live(row: PayloadRow | null, now: Date, id?: string): StoredPayload | undefined {
  if (!row) return undefined;
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return undefined;
  const payload = JSON.parse(row.payload) as Record<string, unknown>;
  return { payload: id === undefined ? payload : { ...payload, jti: id }, consumedAt: row.consumedAt, expiresAt: row.expiresAt };
}

const selected = { payload: true, consumedAt: true, expiresAt: true } as const;

// Lookups by a secondary key must not let an expired row hide a live one.
const notExpired = (now: Date) => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] });

export class PrismaPayloadStore implements PayloadStore {
  constructor(private readonly db: Db) {}

  async upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: Date | null, index: PayloadIndex): Promise<void> {
    const data = {
      payload: JSON.stringify(storable(model, payload)),
      expiresAt,
      grantId: index.grantId ?? null,
      userCode: index.userCode ?? null,
      uid: index.uid ?? null,
    };
    await this.db.oidcPayload.upsert({
      where: { model_id: { model, id: payloadKey(id) } },
      create: { model, id: payloadKey(id), ...data },
      update: data,
    });
  }

  async find(model: string, id: string, now: Date): Promise<StoredPayload | undefined> {
    return live(await this.db.oidcPayload.findUnique({ where: { model_id: { model, id: payloadKey(id) } }, select: selected }), now, id);
  }

  async findByUid(model: string, uid: string, now: Date): Promise<StoredPayload | undefined> {
    return live(await this.db.oidcPayload.findFirst({ where: { model, uid, ...notExpired(now) }, select: selected }), now);
  }

  async findByUserCode(model: string, userCode: string, now: Date): Promise<StoredPayload | undefined> {
    return live(await this.db.oidcPayload.findFirst({ where: { model, userCode, ...notExpired(now) }, select: selected }), now);
  }

  async consume(model: string, id: string, at: Date): Promise<void> {
    await this.db.oidcPayload.updateMany({ where: { model, id: payloadKey(id), consumedAt: null }, data: { consumedAt: at } });
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.db.oidcPayload.deleteMany({ where: { model, id: payloadKey(id) } });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.oidcPayload.deleteMany({ where: { grantId } });
  }

  async purgeExpired(now: Date): Promise<number> {
    const { count } = await this.db.oidcPayload.deleteMany({ where: { expiresAt: { lte: now } } });
    return count;
  }
}
