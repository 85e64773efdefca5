import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { assertAcrClaim, buildInteractionPolicy, lowestAcceptedLevel, requiredLevel, SECOND_FACTOR_REQUIRED } from '../../../src/oidc/interaction-policy.js';

const LOA1 = 'urn:gatehouse:loa:1';
const LOA2 = 'urn:gatehouse:loa:2';

/** The parts of oidc-provider's context the level rule reads. */
function request(input: { acrValues?: string; claims?: unknown; minAcr?: string }): KoaContextWithOIDC {
  return {
    oidc: {
      params: input.acrValues === undefined ? {} : { acr_values: input.acrValues },
      claims: input.claims ?? {},
      client: input.minAcr === undefined ? {} : { gatehouse_min_acr: input.minAcr },
    },
  } as unknown as KoaContextWithOIDC;
}

const essential = (acr: Record<string, unknown>) => ({ id_token: { acr: { essential: true, ...acr } } });

describe('the authentication level a request needs', () => {
  it('is the lowest accepted level: a higher level satisfies a request for a lower one', () => {
    expect(lowestAcceptedLevel([LOA2, LOA1])).toBe(LOA1);
    expect(lowestAcceptedLevel(['urn:example:other', LOA2])).toBe(LOA2);
    expect(lowestAcceptedLevel(['urn:example:other'])).toBeUndefined();
  });

  it.each([
    [{}, null],
    [{ acrValues: LOA2 }, LOA2],
    [{ acrValues: `${LOA1} ${LOA2}` }, LOA1],
    [{ claims: essential({ value: LOA1 }) }, LOA1],
    [{ claims: essential({ values: [LOA1, LOA2] }) }, LOA1],
    [{ claims: essential({ value: LOA2 }) }, LOA2],
    [{ claims: { id_token: { acr: { value: LOA2 } } } }, null],
    [{ minAcr: LOA2, acrValues: LOA1 }, LOA2],
    [{ minAcr: LOA1, claims: essential({ value: LOA2 }) }, LOA2],
  ])('%j needs %s', (input, level) => {
    expect(requiredLevel(request(input))).toBe(level);
  });

  it('refuses an essential acr that names none of the levels, and accepts the others', () => {
    for (const acr of [{ value: 'urn:example:other' }, { values: ['urn:example:other'] }]) {
      expect(() => assertAcrClaim(essential(acr))).toThrow(errors.InvalidRequest);
      expect(() => assertAcrClaim(essential(acr))).toThrow(expect.objectContaining({ error_description: `an essential acr claim must accept one of ${LOA1}, ${LOA2}` }));
    }
    expect(() => assertAcrClaim(essential({ values: ['urn:example:other', LOA1] }))).not.toThrow();
    expect(() => assertAcrClaim({ id_token: { acr: { value: 'urn:example:other' } } })).not.toThrow();
    expect(() => assertAcrClaim({ userinfo: { email: null } })).not.toThrow();
  });

  it("replaces oidc-provider's equality checks of an essential acr with the level check", () => {
    const reasons = buildInteractionPolicy().get('login')!.checks.map((check) => check.reason);
    expect(reasons).toContain(SECOND_FACTOR_REQUIRED);
    expect(reasons).not.toContain('essential_acr');
    expect(reasons).not.toContain('essential_acrs');
  });
});
