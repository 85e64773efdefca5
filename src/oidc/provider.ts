import Provider from 'oidc-provider';
import type { Config } from '../config/env.js';
import { buildOidcConfiguration, type OidcDeps } from './configuration.js';
import { endSessionsAtProviderLogout } from './logout-recorder.js';
import { translatingOutages } from './outages.js';
import { limitingTokenClients } from './token-rate-limit.js';

export type { Provider };

/**
 * The deps with every store call's outage turned into oidc-provider's temporarily_unavailable (see outages.ts), and
 * the client lookup of token requests under the rate limit (token-rate-limit.ts).
 */
function providerFacing(deps: OidcDeps): OidcDeps {
  return {
    ...deps,
    payloads: translatingOutages(deps.payloads),
    findClient: translatingOutages(limitingTokenClients(deps.findClient, deps.tokenRateLimit)),
    findActiveUser: translatingOutages(deps.findActiveUser),
    sessions: translatingOutages(deps.sessions),
  };
}

export function createProvider(config: Config, given: OidcDeps): Provider {
  const deps = providerFacing(given);
  const provider = new Provider(config.issuer, buildOidcConfiguration(config, deps));
  // Behind a TLS-terminating proxy, trust X-Forwarded-* so Secure cookies and https URLs are produced.
  provider.proxy = config.trustProxy;
  // oidc-provider builds every URL it publishes or redirects to (discovery, the logout form, DPoP and assertion
  // audiences) from the request's Host; Gatehouse's URLs are the issuer's, whatever name the request used.
  provider.OIDCContext.prototype.urlFor = (name, options) => provider.urlFor(name, options);
  // Gatehouse's outbox worker (src/domain/logout) is the one sender of logout tokens, for every way a session ends.
  // oidc-provider would also POST its own one-shot token at RP-initiated logout: that sending is switched off here,
  // while discovery (backchannel_logout_supported, backchannel_logout_session_supported) and its validation of client
  // metadata stay as they are.
  (provider.Client.prototype as unknown as { backchannelLogout: () => Promise<void> }).backchannelLogout = async () => {};
  // What a logout confirmed at /session/end/confirm ends is Gatehouse's session first, then oidc-provider's Session.
  endSessionsAtProviderLogout(provider, deps.sessions.endAtLogout);
  return provider;
}
