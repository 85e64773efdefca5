/** Authenticated encryption of secrets kept at rest (signing keys, client secrets, TOTP secrets). */
export interface SecretBox {
  /**
   * `context` names what the value belongs to (say, `totp:<user id>`): it is authenticated with the value, so opening it
   * under another context fails, and a sealed value copied to another record is refused.
   */
  seal(plaintext: string, context?: string): string;
  /** Opens what `seal` sealed with the same context; values sealed before contexts existed open under any. */
  open(sealed: string, context?: string): string;
  /** Whether a sealed value is bound to a context (one sealed before contexts existed is not; seal it again to bind it). */
  isBound(sealed: string): boolean;
}
