/** Authentication levels (acr values) Gatehouse advertises, puts in ID tokens and lets clients require. */
export const ACR_PASSWORD = 'urn:gatehouse:loa:1';
/** Password and a second factor (authenticator app or recovery code). */
export const ACR_SECOND_FACTOR = 'urn:gatehouse:loa:2';

export const ACR_LEVELS = [ACR_PASSWORD, ACR_SECOND_FACTOR] as const;
export type AcrLevel = (typeof ACR_LEVELS)[number];

/** The level a set of authentication methods reaches. */
export function levelOf(amr: readonly string[]): AcrLevel {
  return amr.includes('otp') ? ACR_SECOND_FACTOR : ACR_PASSWORD;
}

/** True when `acr` meets `minimum` (an unknown or missing acr meets nothing but no minimum). */
export function meetsLevel(acr: string | null | undefined, minimum: AcrLevel | null): boolean {
  if (minimum === null) return true;
  const rank = (value: string | null | undefined) => ACR_LEVELS.indexOf(value as AcrLevel);
  return rank(acr) >= rank(minimum);
}
