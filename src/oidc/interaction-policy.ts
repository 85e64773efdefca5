import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR_LEVELS, meetsLevel, type AcrLevel } from '../domain/mfa/levels.js';
import { MIN_ACR_METADATA } from './client-metadata.js';

/** Why the login prompt asked again: the request or the client demands a higher level than the session's (loa:2). */
export const SECOND_FACTOR_REQUIRED = 'acr_values_second_factor';

/**
 * Login-prompt reasons that only ask for a stronger level. When these are all the reasons and the browser already has
 * a signed-in session, the user proves only the missing factor (step-up); any other reason (no session, prompt=login,
 * max_age, a different user hinted) is a full sign-in.
 */
export const STEP_UP_REASONS: ReadonlySet<string> = new Set([SECOND_FACTOR_REQUIRED]);

interface AcrClaimRequest {
  readonly essential?: boolean;
  readonly value?: unknown;
  readonly values?: unknown;
}

/** The acr values an essential `acr` claim request (claims parameter) accepts, or undefined when there is none. */
function essentialAcrValues(claims: unknown): string[] | undefined {
  const request = (claims as { id_token?: { acr?: AcrClaimRequest | null } } | undefined)?.id_token?.acr;
  if (!request?.essential) return undefined;
  if (typeof request.value === 'string') return [request.value];
  if (Array.isArray(request.values)) return request.values.filter((v): v is string => typeof v === 'string');
  return undefined;
}

/**
 * The lowest of Gatehouse's levels among acceptable acr values (levels are ordered: a higher one satisfies a request
 * for a lower one); undefined when none of them is a level Gatehouse has.
 */
export function lowestAcceptedLevel(values: readonly string[]): AcrLevel | undefined {
  return ACR_LEVELS.find((level) => values.includes(level));
}

/**
 * The level this authorization request needs, or null (any level): the highest of the client's registered minimum,
 * the lowest level acr_values accept and the lowest level an essential acr claim accepts.
 */
export function requiredLevel(ctx: KoaContextWithOIDC): AcrLevel | null {
  const minimum = (ctx.oidc.client as unknown as Record<string, unknown> | undefined)?.[MIN_ACR_METADATA];
  const acrValues = String(ctx.oidc.params?.acr_values ?? '').split(' ').filter(Boolean);
  const essential = essentialAcrValues(ctx.oidc.claims);
  const levels = [
    (ACR_LEVELS as readonly unknown[]).includes(minimum) ? (minimum as AcrLevel) : undefined,
    lowestAcceptedLevel(acrValues),
    essential ? lowestAcceptedLevel(essential) : undefined,
  ];
  const highest = ACR_LEVELS.filter((level) => levels.includes(level)).at(-1);
  return highest ?? null;
}

/**
 * oidc-provider checks an essential acr claim by equality, so a loa:2 session never satisfies a request for loa:1 (and
 * the sign-in, which gives loa:2 to a user with a second factor, would start again forever). Here one essential acr
 * must name a level Gatehouse has; which one is then met by that level or a higher one (`requiredLevel`).
 */
export function assertAcrClaim(claims: unknown): void {
  const essential = essentialAcrValues(claims);
  if (essential !== undefined && lowestAcceptedLevel(essential) === undefined) {
    throw new errors.InvalidRequest(`an essential acr claim must accept one of ${ACR_LEVELS.join(', ')}`);
  }
}

/**
 * oidc-provider's default prompts, with its equality checks of an essential acr claim replaced by one level check:
 * the session's acr must meet the required level (acr_values, an essential acr claim, the client's minimum).
 */
export function buildInteractionPolicy() {
  const policy = interactionPolicy.base();
  const login = policy.get('login')!;
  login.checks.remove('essential_acr');
  login.checks.remove('essential_acrs');
  login.checks.add(
    new interactionPolicy.Check(SECOND_FACTOR_REQUIRED, 'a stronger authentication is required', 'login_required', (ctx) =>
      meetsLevel(ctx.oidc.acr, requiredLevel(ctx)) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT),
  );
  return policy;
}
