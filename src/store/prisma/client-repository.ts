import type {
  ClientRepository,
  ClientSettings,
  ClientWithSecret,
  GrantType,
  IdTokenAlg,
  RegisteredClient,
  TokenEndpointAuthMethod,
} from '../../domain/clients/client.js';
import type { AcrLevel } from '../../domain/mfa/levels.js';
import type { NewAuditEvent } from '../../domain/audit/audit.js';
import type { SecretBox } from '../../domain/secret-box.js';
import { writeWithAudit } from './audit-log.js';
import type { Db } from './database.js';
import { mapPrismaError } from './errors.js';

interface ClientRow {
  clientId: string;
  name: string;
  secretEncrypted: string | null;
  firstParty: boolean;
  admin: boolean;
  minAcr: string | null;
  tokenRateLimited: boolean;
  metadata: string;
  createdAt: Date;
  updatedAt: Date;
}

// The metadata column holds the settings that are not columns of their own, as JSON.
interface StoredMetadata {
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  /** Absent in clients stored before it existed, which always required sid. */
  backchannelLogoutSessionRequired?: boolean;
  grantTypes: GrantType[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  jwksUri: string | null;
  scope: string;
  idTokenSignedResponseAlg: IdTokenAlg;
}

function toMetadata(settings: ClientSettings): string {
  const stored: StoredMetadata = {
    redirectUris: [...settings.redirectUris],
    postLogoutRedirectUris: [...settings.postLogoutRedirectUris],
    backchannelLogoutUri: settings.backchannelLogoutUri,
    backchannelLogoutSessionRequired: settings.backchannelLogoutSessionRequired,
    grantTypes: [...settings.grantTypes],
    tokenEndpointAuthMethod: settings.tokenEndpointAuthMethod,
    jwksUri: settings.jwksUri,
    scope: settings.scope,
    idTokenSignedResponseAlg: settings.idTokenSignedResponseAlg,
  };
  return JSON.stringify(stored);
}

/** Whether a client's stored metadata registers a back-channel logout URI (read inside session-ending transactions). */
export function takesBackchannelLogout(metadata: string): boolean {
  return Boolean((JSON.parse(metadata) as Partial<StoredMetadata>).backchannelLogoutUri);
}

function toClient(row: ClientRow): RegisteredClient {
  const { backchannelLogoutSessionRequired, ...metadata } = JSON.parse(row.metadata) as StoredMetadata;
  return {
    clientId: row.clientId,
    name: row.name,
    firstParty: row.firstParty,
    admin: row.admin,
    minAcr: row.minAcr as AcrLevel | null,
    tokenRateLimited: row.tokenRateLimited,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    ...metadata,
    backchannelLogoutSessionRequired: backchannelLogoutSessionRequired ?? true,
  };
}

export class PrismaClientRepository implements ClientRepository {
  constructor(private readonly db: Db, private readonly box: SecretBox) {}

  async create(input: { clientId: string; secret: string | null; settings: ClientSettings }, audit?: NewAuditEvent): Promise<RegisteredClient> {
    try {
      const row = await writeWithAudit(this.db, audit, (tx) => tx.client.create({
        data: {
          clientId: input.clientId,
          name: input.settings.name,
          firstParty: input.settings.firstParty,
          admin: input.settings.admin,
          minAcr: input.settings.minAcr,
          tokenRateLimited: input.settings.tokenRateLimited,
          metadata: toMetadata(input.settings),
          secretEncrypted: input.secret === null ? null : this.box.seal(input.secret),
        },
      }));
      return toClient(row);
    } catch (error) {
      mapPrismaError(error, { conflict: { message: `A client with id ${input.clientId} already exists.`, reason: { code: 'client_exists', clientId: input.clientId } } });
    }
  }

  async findById(clientId: string): Promise<ClientWithSecret | undefined> {
    const row = await this.db.client.findUnique({ where: { clientId } });
    if (!row) return undefined;
    return { ...toClient(row), secret: row.secretEncrypted === null ? null : this.box.open(row.secretEncrypted) };
  }

  async list(): Promise<RegisteredClient[]> {
    const rows = await this.db.client.findMany({ orderBy: [{ name: 'asc' }, { clientId: 'asc' }] });
    return rows.map(toClient);
  }

  async update(clientId: string, settings: ClientSettings, secret?: { secret: string | null }, audit?: NewAuditEvent): Promise<RegisteredClient> {
    try {
      const row = await writeWithAudit(this.db, audit, (tx) => tx.client.update({
        where: { clientId },
        data: {
          name: settings.name,
          firstParty: settings.firstParty,
          admin: settings.admin,
          minAcr: settings.minAcr,
          tokenRateLimited: settings.tokenRateLimited,
          metadata: toMetadata(settings),
          ...(secret ? { secretEncrypted: secret.secret === null ? null : this.box.seal(secret.secret) } : {}),
        },
      }));
      return toClient(row);
    } catch (error) {
      mapPrismaError(error, { notFound: { message: `No client with id ${clientId}.`, reason: { code: 'client_not_found', clientId } } });
    }
  }

  async delete(clientId: string, audit?: NewAuditEvent): Promise<void> {
    try {
      await writeWithAudit(this.db, audit, (tx) => tx.client.delete({ where: { clientId } }));
    } catch (error) {
      mapPrismaError(error, { notFound: { message: `No client with id ${clientId}.`, reason: { code: 'client_not_found', clientId } } });
    }
  }
}
