import type Provider from 'oidc-provider';
import type { ClientMetadataValidator, ClientSettings } from '../domain/clients/client.js';
import { ValidationError } from '../domain/errors.js';
import { toProviderMetadata } from './client-metadata.js';

/** Validates client metadata with oidc-provider's own schema, so nothing is saved that it would refuse later. */
export class ProviderClientValidator implements ClientMetadataValidator {
  constructor(private readonly provider: Provider) {}

  async validate(clientId: string, settings: ClientSettings, secret: string | null): Promise<void> {
    try {
      await this.provider.Client.validate(toProviderMetadata({ clientId, secret, ...settings }));
    } catch (error) {
      const description = (error as { error_description?: string }).error_description ?? 'invalid client metadata';
      throw new ValidationError(description, { debug: error });
    }
  }
}
