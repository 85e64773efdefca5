import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { ClientWithSecret } from '../domain/clients/client.js';
import type { Clock } from '../domain/clock.js';
import type { PayloadStore, StoredPayload } from '../domain/sessions/payload-store.js';
import type { SaveDecision } from '../domain/sessions/session-service.js';
import type { SessionSnapshot } from '../domain/sessions/session.js';
import { toProviderMetadata } from './client-metadata.js';

export interface AdapterDeps {
  readonly payloads: PayloadStore;
  readonly findClient: (clientId: string) => Promise<ClientWithSecret | undefined>;
  readonly clock: Clock;
  /** Keeps Gatehouse's session index in step with every save of oidc-provider's Session, and bounds its life. */
  readonly recordSessionSave?: (snapshot: SessionSnapshot) => Promise<SaveDecision>;
}

export function sessionSnapshot(payload: AdapterPayload): SessionSnapshot {
  const record = payload as Record<string, unknown>;
  return {
    uid: String(record.uid),
    accountId: typeof record.accountId === 'string' ? record.accountId : undefined,
    loginTs: typeof record.loginTs === 'number' ? record.loginTs : undefined,
    amr: Array.isArray(record.amr) ? (record.amr as string[]) : [],
    acr: typeof record.acr === 'string' ? record.acr : undefined,
    transient: record.transient === true,
    authorizations: (record.authorizations ?? {}) as SessionSnapshot['authorizations'],
  };
}

function toAdapterPayload(model: string, stored: StoredPayload | undefined): AdapterPayload | undefined {
  if (!stored) return undefined;
  const payload = { ...stored.payload } as AdapterPayload;
  if (stored.consumedAt) payload.consumed = Math.floor(stored.consumedAt.getTime() / 1000);
  // A Session lives as long as its row: activity on Gatehouse's own pages extends the row (SessionService
  // recordActivity) without rewriting the payload, whose exp oidc-provider would otherwise hold it to.
  if (model === 'Session' && stored.expiresAt) payload.exp = Math.floor(stored.expiresAt.getTime() / 1000);
  return payload;
}

/** Clients live in Gatehouse's own table and are managed by the CLI/admin API, never by oidc-provider. */
class ClientAdapter implements Adapter {
  constructor(private readonly deps: AdapterDeps) {}

  async find(id: string): Promise<AdapterPayload | undefined> {
    const client = await this.deps.findClient(id);
    return client ? (toProviderMetadata(client) as AdapterPayload) : undefined;
  }

  async upsert(): Promise<void> {
    throw new Error('clients are registered with the gatehouse CLI, not through oidc-provider');
  }

  async findByUid(): Promise<undefined> { return undefined; }
  async findByUserCode(): Promise<undefined> { return undefined; }
  async consume(): Promise<void> { /* clients are never consumed */ }
  async destroy(): Promise<void> { /* deletion goes through ClientService */ }
  async revokeByGrantId(): Promise<void> { /* clients belong to no grant */ }
}

class PayloadAdapter implements Adapter {
  constructor(private readonly model: string, private readonly deps: AdapterDeps) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    let expiresAt = expiresIn ? new Date(this.deps.clock.now().getTime() + expiresIn * 1000) : null;
    if (this.model === 'Session' && this.deps.recordSessionSave) {
      const decision = await this.deps.recordSessionSave(sessionSnapshot(payload));
      // An ended session is never written back (a request that loaded it before it ended must not revive it).
      if (!decision.store) return;
      expiresAt = decision.expiresAt;
    }
    await this.deps.payloads.upsert(this.model, id, payload as Record<string, unknown>, expiresAt, {
      grantId: payload.grantId,
      userCode: payload.userCode,
      uid: payload.uid,
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return toAdapterPayload(this.model, await this.deps.payloads.find(this.model, id, this.deps.clock.now()));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return toAdapterPayload(this.model, await this.deps.payloads.findByUid(this.model, uid, this.deps.clock.now()));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return toAdapterPayload(this.model, await this.deps.payloads.findByUserCode(this.model, userCode, this.deps.clock.now()));
  }

  async consume(id: string): Promise<void> {
    await this.deps.payloads.consume(this.model, id, this.deps.clock.now());
  }

  async destroy(id: string): Promise<void> {
    await this.deps.payloads.destroy(this.model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.deps.payloads.revokeByGrantId(grantId);
  }
}

/** The adapter factory oidc-provider calls once per model name. */
export function createAdapterFactory(deps: AdapterDeps): (model: string) => Adapter {
  return (model: string) => (model === 'Client' ? new ClientAdapter(deps) : new PayloadAdapter(model, deps));
}
