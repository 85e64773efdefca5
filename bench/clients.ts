import { randomBytes } from 'node:crypto';
import { resolveSettings } from '../src/domain/clients/client-service.js';
import { AesGcmSecretBox } from '../src/infra/secret-box.js';
import { PrismaClientRepository } from '../src/store/prisma/client-repository.js';
import type { Db } from '../src/store/prisma/database.js';

/** Registers public clients with these ids, each with a back-channel logout URI (so session ends queue them). */
export async function registerBenchClients(db: Db, clients: readonly { clientId: string; backchannelLogoutUri: string }[]): Promise<void> {
  const repository = new PrismaClientRepository(db, new AesGcmSecretBox(randomBytes(48).toString('base64url')));
  for (const { clientId, backchannelLogoutUri } of clients) {
    const settings = resolveSettings({ name: clientId, redirectUris: [`https://${clientId}.example/cb`], public: true, backchannelLogoutUri }, undefined);
    await repository.create({ clientId, secret: null, settings });
  }
}
