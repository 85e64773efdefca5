import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR_SECOND_FACTOR } from './acr.js';

/** Why the login prompt asked again when the client demanded the second-factor level. */
export const SECOND_FACTOR_REQUIRED = 'acr_values_second_factor';

/** acr_values lists the levels a client accepts; when loa:2 is the only one, a password-only session is not enough. */
export function requiresSecondFactor(ctx: KoaContextWithOIDC): boolean {
  const requested = String(ctx.oidc.params?.acr_values ?? '').split(' ').filter(Boolean);
  return requested.length > 0 && requested.every((acr) => acr === ACR_SECOND_FACTOR);
}

/** oidc-provider's default prompts, plus a login check that honours acr_values (it only enforces essential acr claims). */
export function buildInteractionPolicy() {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(SECOND_FACTOR_REQUIRED, 'a second factor is required', 'login_required', (ctx) =>
      requiresSecondFactor(ctx) && ctx.oidc.acr !== ACR_SECOND_FACTOR ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT),
  );
  return policy;
}
