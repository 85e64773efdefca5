/** Authenticated encryption of secrets kept at rest (signing keys, client secrets). */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}
