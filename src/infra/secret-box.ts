import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { SecretMismatchError } from '../domain/errors.js';
import type { SecretBox } from '../domain/secret-box.js';

// Keys for separate purposes are derived from the one configured secret, so that none is reused across purposes.
export type KeyPurpose = 'data-encryption' | 'cookie-signing' | 'csrf' | 'recovery-codes';

export function deriveKey(secret: string, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from('gatehouse'), Buffer.from(`gatehouse/v1/${purpose}`), 32));
}

/** Without associated data. */
const VERSION = 'v1';
/** With the context as associated data. */
const VERSION_BOUND = 'v2';

const associatedData = (context: string) => Buffer.from(`gatehouse/v2/${context}`, 'utf8');

/**
 * AES-256-GCM with a random 96-bit nonce; the format is `<version>.<nonce>.<ciphertext>.<tag>` in base64url, where the
 * version is `v1` without a context and `v2` with the context authenticated as associated data.
 */
export class AesGcmSecretBox implements SecretBox {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = deriveKey(secret, 'data-encryption');
  }

  seal(plaintext: string, context?: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    if (context !== undefined) cipher.setAAD(associatedData(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [context === undefined ? VERSION : VERSION_BOUND, nonce.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(sealed: string, context?: string): string {
    const [version, nonce, ciphertext, tag] = sealed.split('.');
    if ((version !== VERSION && version !== VERSION_BOUND) || !nonce || ciphertext === undefined || !tag) {
      throw new SecretMismatchError('Encrypted data has an unknown format.');
    }
    // A value opens only in the way it was sealed: an unbound value (a client secret, say) copied into a bound record
    // would otherwise open there, whatever record it came from.
    if ((version === VERSION_BOUND) !== (context !== undefined)) throw new SecretMismatchError('Encrypted data was sealed for a record this one is not.');
    try {
      // authTagLength: without it a truncated (forgeable) tag of as little as 4 bytes would be accepted.
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'), { authTagLength: 16 });
      if (version === VERSION_BOUND) decipher.setAAD(associatedData(context!));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new SecretMismatchError(
        version === VERSION_BOUND
          ? 'Stored secrets cannot be decrypted: GATEHOUSE_SECRET is not the secret this database was set up with, or the value belongs to another record.'
          : 'Stored secrets cannot be decrypted: GATEHOUSE_SECRET is not the secret this database was set up with.',
        { debug: error },
      );
    }
  }

}
