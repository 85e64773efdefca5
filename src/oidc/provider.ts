import Provider from 'oidc-provider';
import type { Config } from '../config/env.js';
import { buildOidcConfiguration, type OidcDeps } from './configuration.js';

export type { Provider };

export function createProvider(config: Config, deps: OidcDeps): Provider {
  const provider = new Provider(config.issuer, buildOidcConfiguration(config, deps));
  // Behind a TLS-terminating proxy, trust X-Forwarded-* so Secure cookies and https URLs are produced.
  provider.proxy = config.trustProxy;
  return provider;
}
