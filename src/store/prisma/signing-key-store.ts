import type { JsonWebKey } from 'node:crypto';
import type { PrivateSigningKey, SigningAlg, SigningKeyRecord, SigningKeyStore } from '../../domain/keys/signing-keys.js';
import type { SecretBox } from '../../domain/secret-box.js';
import type { Db } from './database.js';

interface KeyRow {
  kid: string;
  alg: string;
  publicJwk: string;
  privateJwkEncrypted: string;
  createdAt: Date;
  retiredAt: Date | null;
}

function toRecord(row: KeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg as SigningAlg,
    publicJwk: JSON.parse(row.publicJwk) as JsonWebKey,
    createdAt: row.createdAt,
    retiredAt: row.retiredAt,
  };
}

export class PrismaSigningKeyStore implements SigningKeyStore {
  constructor(private readonly db: Db, private readonly box: SecretBox) {}

  async list(): Promise<SigningKeyRecord[]> {
    const rows = await this.db.signingKey.findMany({ orderBy: { createdAt: 'desc' } });
    return rows.map(toRecord);
  }

  async listWithPrivate(): Promise<PrivateSigningKey[]> {
    const rows = await this.db.signingKey.findMany({ orderBy: { createdAt: 'desc' } });
    return rows.map((row) => ({ ...toRecord(row), privateJwk: JSON.parse(this.box.open(row.privateJwkEncrypted)) as JsonWebKey }));
  }

  async replace(newKeys: PrivateSigningKey[], retire: string[], at: Date): Promise<void> {
    await this.db.$transaction([
      this.db.signingKey.updateMany({ where: { kid: { in: retire }, retiredAt: null }, data: { retiredAt: at } }),
      this.db.signingKey.createMany({
        data: newKeys.map((k) => ({
          kid: k.kid,
          alg: k.alg,
          publicJwk: JSON.stringify(k.publicJwk),
          privateJwkEncrypted: this.box.seal(JSON.stringify(k.privateJwk)),
          createdAt: k.createdAt,
        })),
      }),
    ]);
  }
}
