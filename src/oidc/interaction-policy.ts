import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR_LEVELS, ACR_SECOND_FACTOR, meetsLevel, type AcrLevel } from '../domain/mfa/levels.js';
import { MIN_ACR_METADATA } from './client-metadata.js';

/** Why the login prompt asked again: the request or the client demands the second-factor level. */
export const SECOND_FACTOR_REQUIRED = 'acr_values_second_factor';

/**
 * Login-prompt reasons that only ask for a stronger level. When these are all the reasons and the browser already has
 * a signed-in session, the user proves only the missing factor (step-up); any other reason (no session, prompt=login,
 * max_age, a different user hinted) is a full sign-in.
 */
export const STEP_UP_REASONS: ReadonlySet<string> = new Set([SECOND_FACTOR_REQUIRED, 'essential_acr', 'essential_acrs']);

interface AcrClaimRequest {
  readonly essential?: boolean;
  readonly value?: unknown;
  readonly values?: unknown;
}

/** The levels an essential `acr` claim request (claims parameter) accepts, or undefined when there is none. */
function essentialAcrValues(ctx: KoaContextWithOIDC): string[] | undefined {
  const request = (ctx.oidc.claims as { id_token?: { acr?: AcrClaimRequest | null } } | undefined)?.id_token?.acr;
  if (!request?.essential) return undefined;
  if (typeof request.value === 'string') return [request.value];
  if (Array.isArray(request.values)) return request.values.filter((v): v is string => typeof v === 'string');
  return undefined;
}

/**
 * The level this authorization request needs: the second-factor level when acr_values or an essential acr claim accept
 * only that level, or when the client is registered with it as its minimum; otherwise null (any level).
 */
export function requiredLevel(ctx: KoaContextWithOIDC): AcrLevel | null {
  const minimum = (ctx.oidc.client as unknown as Record<string, unknown> | undefined)?.[MIN_ACR_METADATA];
  if (minimum === ACR_SECOND_FACTOR) return ACR_SECOND_FACTOR;
  const onlySecondFactor = (values: string[] | undefined) => values !== undefined && values.length > 0 && values.every((v) => v === ACR_SECOND_FACTOR);
  const acrValues = String(ctx.oidc.params?.acr_values ?? '').split(' ').filter(Boolean);
  if (onlySecondFactor(acrValues) || onlySecondFactor(essentialAcrValues(ctx))) return ACR_SECOND_FACTOR;
  return (ACR_LEVELS as readonly unknown[]).includes(minimum) ? (minimum as AcrLevel) : null;
}

/**
 * oidc-provider's default prompts, plus a login check for the required level: oidc-provider itself enforces essential
 * acr claims by equality only, and neither acr_values nor a client's minimum level.
 */
export function buildInteractionPolicy() {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(SECOND_FACTOR_REQUIRED, 'a second factor is required', 'login_required', (ctx) =>
      meetsLevel(ctx.oidc.acr, requiredLevel(ctx)) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT),
  );
  return policy;
}
