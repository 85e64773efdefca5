import type { PayloadIndex, PayloadStore, StoredPayload } from '../../domain/sessions/payload-store.js';
import type { Db } from './database.js';

interface PayloadRow {
  payload: string;
  consumedAt: Date | null;
  expiresAt: Date | null;
}

function live(row: PayloadRow | null, now: Date): StoredPayload | undefined {
  if (!row) return undefined;
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return undefined;
  return { payload: JSON.parse(row.payload) as Record<string, unknown>, consumedAt: row.consumedAt };
}

const selected = { payload: true, consumedAt: true, expiresAt: true } as const;

// Lookups by a secondary key must not let an expired row hide a live one.
const notExpired = (now: Date) => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] });

export class PrismaPayloadStore implements PayloadStore {
  constructor(private readonly db: Db) {}

  async upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: Date | null, index: PayloadIndex): Promise<void> {
    const data = {
      payload: JSON.stringify(payload),
      expiresAt,
      grantId: index.grantId ?? null,
      userCode: index.userCode ?? null,
      uid: index.uid ?? null,
    };
    await this.db.oidcPayload.upsert({
      where: { model_id: { model, id } },
      create: { model, id, ...data },
      update: data,
    });
  }

  async find(model: string, id: string, now: Date): Promise<StoredPayload | undefined> {
    return live(await this.db.oidcPayload.findUnique({ where: { model_id: { model, id } }, select: selected }), now);
  }

  async findByUid(model: string, uid: string, now: Date): Promise<StoredPayload | undefined> {
    return live(await this.db.oidcPayload.findFirst({ where: { model, uid, ...notExpired(now) }, select: selected }), now);
  }

  async findByUserCode(model: string, userCode: string, now: Date): Promise<StoredPayload | undefined> {
    return live(await this.db.oidcPayload.findFirst({ where: { model, userCode, ...notExpired(now) }, select: selected }), now);
  }

  async consume(model: string, id: string, at: Date): Promise<void> {
    await this.db.oidcPayload.updateMany({ where: { model, id, consumedAt: null }, data: { consumedAt: at } });
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.db.oidcPayload.deleteMany({ where: { model, id } });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.oidcPayload.deleteMany({ where: { grantId } });
  }

  async purgeExpired(now: Date): Promise<number> {
    const { count } = await this.db.oidcPayload.deleteMany({ where: { expiresAt: { lte: now } } });
    return count;
  }
}
