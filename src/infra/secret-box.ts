import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { SecretMismatchError } from '../domain/errors.js';
import type { SecretBox } from '../domain/secret-box.js';

// Keys for separate purposes are derived from the one configured secret, so that none is reused across purposes.
export type KeyPurpose = 'data-encryption' | 'cookie-signing' | 'csrf' | 'recovery-codes';

export function deriveKey(secret: string, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from('gatehouse'), Buffer.from(`gatehouse/v1/${purpose}`), 32));
}

const VERSION = 'v1';

/** AES-256-GCM with a random 96-bit nonce; the format is `v1.<nonce>.<ciphertext>.<tag>` in base64url. */
export class AesGcmSecretBox implements SecretBox {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = deriveKey(secret, 'data-encryption');
  }

  seal(plaintext: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, nonce.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const [version, nonce, ciphertext, tag] = sealed.split('.');
    if (version !== VERSION || !nonce || ciphertext === undefined || !tag) {
      throw new SecretMismatchError('Encrypted data has an unknown format.');
    }
    try {
      // authTagLength: without it a truncated (forgeable) tag of as little as 4 bytes would be accepted.
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'), { authTagLength: 16 });
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new SecretMismatchError(
        'Stored secrets cannot be decrypted: GATEHOUSE_SECRET is not the secret this database was set up with.',
        { debug: error },
      );
    }
  }
}
