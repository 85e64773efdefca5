/** Authenticated encryption of secrets kept at rest (signing keys, client secrets, TOTP secrets). */
export interface SecretBox {
  /**
   * `context` names what the value belongs to (say, `totp:<user id>`): it is authenticated with the value, so opening it
   * under another context fails, and a sealed value copied to another record is refused.
   */
  seal(plaintext: string, context?: string): string;
  /** Opens what `seal` sealed with the same context (or, like it, without one). */
  open(sealed: string, context?: string): string;
}
