import { ClientService, resolveSettings, type ClientInput } from '../../../../src/domain/clients/client-service.js';
import type { ClientSettings } from '../../../../src/domain/clients/client.js';
import { NotFoundError, ValidationError } from '../../../../src/domain/errors.js';
import { TestClock } from '../../../support/clock.js';
import { InMemoryClientRepository, RecordingValidator } from '../../../support/fakes.js';

const WEB: ClientInput = { name: 'Web app', redirectUris: ['https://app.example.com/callback'] };

/** The ValidationError resolveSettings throws; fails the test when it accepts the input. */
function refusal(input: ClientInput, base?: ClientSettings): ValidationError {
  try {
    resolveSettings(input, base);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error(`resolveSettings accepted ${JSON.stringify(input)}`);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('resolveSettings', () => {
  it('defaults to a confidential authorization-code client with refresh tokens and the standard scopes', () => {
    expect(resolveSettings(WEB, undefined)).toEqual({
      name: 'Web app',
      redirectUris: ['https://app.example.com/callback'],
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
      backchannelLogoutSessionRequired: true,
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'client_secret_basic',
      jwksUri: null,
      firstParty: false,
      admin: false,
      scope: 'openid profile email offline_access',
      idTokenSignedResponseAlg: 'RS256',
      minAcr: null,
      tokenRateLimited: true,
    });
  });

  it('holds a client to the token rate limit unless it is exempted, and keeps that across updates', () => {
    const exempt = resolveSettings({ ...WEB, tokenRateLimited: false }, undefined);
    expect(exempt.tokenRateLimited).toBe(false);
    expect(resolveSettings({ name: 'Renamed' }, exempt).tokenRateLimited).toBe(false);
    expect(resolveSettings({ tokenRateLimited: true }, exempt).tokenRateLimited).toBe(true);
  });

  it('keeps a minimum level until it is cleared, and refuses an unknown one or one for a machine client', () => {
    const strict = resolveSettings({ ...WEB, minAcr: 'urn:gatehouse:loa:2' }, undefined);
    expect(strict.minAcr).toBe('urn:gatehouse:loa:2');
    expect(resolveSettings({ name: 'Renamed' }, strict).minAcr).toBe('urn:gatehouse:loa:2');
    expect(resolveSettings({ minAcr: null }, strict).minAcr).toBeNull();
    expect(() => resolveSettings({ ...WEB, minAcr: 'urn:gatehouse:loa:3' }, undefined)).toThrow(expect.objectContaining({ field: 'min-acr' }));
    expect(() => resolveSettings({ name: 'Job', grantTypes: ['client_credentials'], minAcr: 'urn:gatehouse:loa:2' }, undefined)).toThrow(/applies to clients that sign users in/);
  });

  it('trims the name and removes duplicate URIs, grants and scopes', () => {
    const settings = resolveSettings(
      { name: '  Web app ', redirectUris: ['https://a.example/cb', 'https://a.example/cb'], grantTypes: ['authorization_code', 'authorization_code'], scope: 'openid  openid email' },
      undefined,
    );
    expect(settings).toMatchObject({ name: 'Web app', redirectUris: ['https://a.example/cb'], grantTypes: ['authorization_code'], scope: 'openid email' });
  });

  it('requires a printable name of at most 100 characters', () => {
    expect(refusal({ ...WEB, name: '   ' }).field).toBe('name');
    expect(refusal({ redirectUris: WEB.redirectUris }).field).toBe('name');
    expect(refusal({ ...WEB, name: 'n'.repeat(101) }).field).toBe('name');
    expect(refusal({ ...WEB, name: 'Bad\u0007name' }).field).toBe('name');
    expect(resolveSettings({ ...WEB, name: 'n'.repeat(100) }, undefined).name).toHaveLength(100);
  });

  describe('public clients', () => {
    it('authenticate with "none"', () => {
      expect(resolveSettings({ ...WEB, public: true }, undefined).tokenEndpointAuthMethod).toBe('none');
    });

    it('cannot use client_credentials', () => {
      const error = refusal({ ...WEB, public: true, grantTypes: ['authorization_code', 'client_credentials'] });
      expect(error.field).toBe('grant-type');
      expect(error.message).toMatch(/client_credentials/);
    });

    it('cannot name another authentication method', () => {
      expect(refusal({ ...WEB, public: true, tokenEndpointAuthMethod: 'client_secret_post' }).field).toBe('token-endpoint-auth-method');
    });

    it('"none" is refused for a client said to be confidential', () => {
      expect(refusal({ ...WEB, public: false, tokenEndpointAuthMethod: 'none' }).field).toBe('token-endpoint-auth-method');
    });

    it('"none" without --public is public too, so client_credentials is refused', () => {
      expect(refusal({ ...WEB, tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code', 'client_credentials'] }).field).toBe('grant-type');
    });
  });

  it('requires a jwks_uri for private_key_jwt', () => {
    const error = refusal({ ...WEB, tokenEndpointAuthMethod: 'private_key_jwt' });
    expect(error.field).toBe('jwks-uri');
    expect(resolveSettings({ ...WEB, tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://app.example.com/jwks' }, undefined)).toMatchObject({
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: 'https://app.example.com/jwks',
    });
  });

  it('names a field in every refusal and words it for any door, never with a command-line flag', () => {
    const refusals = [
      refusal({ name: 'Web app' }),
      refusal({ ...WEB, tokenEndpointAuthMethod: 'private_key_jwt' }),
      refusal({ name: 'Job', grantTypes: ['client_credentials'], scope: 'admin' }),
      refusal({ ...WEB, admin: true, grantTypes: ['authorization_code'] }),
      refusal({ ...WEB, public: true, grantTypes: ['authorization_code', 'client_credentials'] }),
      refusal({ ...WEB, minAcr: 'loa2' }),
      refusal({ ...WEB, name: '' }),
      refusal({ ...WEB, scope: 'email' }),
    ];
    for (const error of refusals) {
      expect(error.field).toEqual(expect.any(String));
      expect(error.message).not.toMatch(/--[a-z]/);
    }
    expect(refusals[0]!.message).toBe('The authorization_code grant needs at least one redirect URI.');
    expect(refusals[1]!.message).toBe('private_key_jwt needs a JWKS URI (where the client publishes its keys).');
    expect(refusals[2]!.message).toBe('Only an admin client may have the admin scope.');
  });

  it('requires authorization_code alongside refresh_token', () => {
    const error = refusal({ ...WEB, grantTypes: ['refresh_token'] });
    expect(error.field).toBe('grant-type');
    expect(error.message).toMatch(/authorization_code/);
  });

  it('requires at least one grant type', () => {
    expect(refusal({ ...WEB, grantTypes: [] }).field).toBe('grant-type');
  });

  it('requires a redirect URI for authorization_code, but not for client_credentials alone', () => {
    expect(refusal({ name: 'Web app' }).field).toBe('redirect-uri');
    expect(resolveSettings({ name: 'Backend', grantTypes: ['client_credentials'], scope: 'profile' }, undefined)).toMatchObject({
      grantTypes: ['client_credentials'],
      redirectUris: [],
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
  });

  it('requires the openid scope for clients that sign users in', () => {
    expect(refusal({ ...WEB, scope: 'profile email' }).field).toBe('scope');
  });

  it.each([
    ['redirectUris', 'redirect-uri', '/callback'],
    ['redirectUris', 'redirect-uri', 'app.example.com/callback'],
    ['redirectUris', 'redirect-uri', 'https://app.example.com/callback#fragment'],
    ['redirectUris', 'redirect-uri', 'https://user:pw@app.example.com/callback'],
    ['postLogoutRedirectUris', 'post-logout-redirect-uri', '/signed-out'],
    ['postLogoutRedirectUris', 'post-logout-redirect-uri', 'https://app.example.com/bye#now'],
    ['backchannelLogoutUri', 'backchannel-logout-uri', '/logout'],
    ['backchannelLogoutUri', 'backchannel-logout-uri', 'ftp://app.example.com/logout'],
    ['jwksUri', 'jwks-uri', 'jwks.json'],
    ['jwksUri', 'jwks-uri', 'file:///etc/jwks.json'],
  ] as const)('refuses %s %s = %j and names the field', (property, field, value) => {
    const input: ClientInput = { ...WEB, [property]: property.endsWith('Uris') ? [value] : value };
    const error = refusal(input);
    expect(error.field).toBe(field);
    expect(error.message).toContain(value);
  });

  it('accepts a native-app custom scheme redirect URI', () => {
    expect(resolveSettings({ ...WEB, redirectUris: ['com.example.app:/callback'] }, undefined).redirectUris).toEqual(['com.example.app:/callback']);
  });

  it.each([
    ['scope', { scope: 'openid phone' }],
    ['grant-type', { grantTypes: ['implicit'] }],
    ['grant-type', { grantTypes: ['authorization_code', 'password'] }],
    ['token-endpoint-auth-method', { tokenEndpointAuthMethod: 'client_secret_jwt' }],
    ['id-token-signed-response-alg', { idTokenSignedResponseAlg: 'HS256' }],
    ['id-token-signed-response-alg', { idTokenSignedResponseAlg: 'none' }],
  ] as const)('refuses an unknown value on %s, listing the known ones', (field, extra) => {
    const error = refusal({ ...WEB, ...extra });
    expect(error.field).toBe(field);
    expect(error.message).toMatch(/is not one of/);
  });

  describe('admin clients', () => {
    const OPS: ClientInput = { name: 'Ops console', admin: true };

    it('default to client_credentials and the admin scope alone', () => {
      expect(resolveSettings(OPS, undefined)).toMatchObject({ admin: true, grantTypes: ['client_credentials'], scope: 'admin', redirectUris: [] });
    });

    it('always have the admin scope, added to whatever scope is given', () => {
      expect(resolveSettings({ ...OPS, scope: 'profile' }, undefined).scope).toBe('profile admin');
      expect(resolveSettings({ ...OPS, scope: 'admin profile' }, undefined).scope).toBe('admin profile');
      const both = resolveSettings({ ...WEB, admin: true, grantTypes: ['authorization_code', 'client_credentials'] }, undefined);
      expect(both.scope).toBe('openid profile email offline_access admin');
    });

    it('need client_credentials, so they can never be public', () => {
      expect(refusal({ ...WEB, admin: true, grantTypes: ['authorization_code'] }).field).toBe('grant-type');
      expect(refusal({ ...OPS, public: true }).field).toBe('grant-type');
    });

    it('are the only clients that may register the admin scope', () => {
      const error = refusal({ name: 'Backend', grantTypes: ['client_credentials'], scope: 'admin' });
      expect(error.field).toBe('scope');
      expect(error.message).toMatch(/admin client/);
      expect(refusal({ ...WEB, scope: 'openid admin' }).field).toBe('scope');
      expect(resolveSettings(WEB, undefined)).toMatchObject({ admin: false, scope: 'openid profile email offline_access' });
    });

    it('refuse an empty scope: oidc-provider would read it as "every scope"', () => {
      expect(refusal({ name: 'Backend', grantTypes: ['client_credentials'], scope: '  ' }).field).toBe('scope');
    });

    it('lose the admin scope when they stop being admin, and keep it across other updates', () => {
      const ops = resolveSettings({ ...OPS, scope: 'profile' }, undefined);
      expect(resolveSettings({ name: 'Renamed' }, ops)).toMatchObject({ admin: true, scope: 'profile admin' });
      expect(resolveSettings({ scope: 'email' }, ops)).toMatchObject({ admin: true, scope: 'email admin' });
      expect(resolveSettings({ admin: false }, ops)).toMatchObject({ admin: false, scope: 'profile', grantTypes: ['client_credentials'] });
      // The console's form sends the scope it showed: demoting drops admin from it rather than refusing it.
      expect(resolveSettings({ admin: false, scope: 'profile admin' }, ops)).toMatchObject({ admin: false, scope: 'profile' });
      expect(resolveSettings({ admin: false, scope: 'admin' }, resolveSettings(OPS, undefined))).toMatchObject({ admin: false, scope: 'openid' });
      // A client that is not admin already may still not be given the admin scope.
      expect(refusal({ admin: false, scope: 'profile admin' }, resolveSettings({ admin: false, scope: 'profile' }, ops)).field).toBe('scope');
      expect(refusal({ admin: false, scope: '' }, ops).field).toBe('scope');
      // Demotion always succeeds: an admin client with only the admin scope keeps openid alone (never an empty scope,
      // which oidc-provider would read as every scope).
      expect(resolveSettings({ admin: false }, resolveSettings(OPS, undefined))).toMatchObject({ admin: false, scope: 'openid', grantTypes: ['client_credentials'] });
      expect(resolveSettings({ admin: false, scope: 'profile' }, resolveSettings(OPS, undefined)).scope).toBe('profile');
    });

    it('become admin on update when they use client_credentials', () => {
      const backend = resolveSettings({ name: 'Backend', grantTypes: ['client_credentials'], scope: 'profile' }, undefined);
      expect(resolveSettings({ admin: true }, backend)).toMatchObject({ admin: true, scope: 'profile admin' });
    });
  });

  describe('merging over an existing client', () => {
    const base = resolveSettings(
      {
        name: 'Web app',
        redirectUris: ['https://app.example.com/callback'],
        postLogoutRedirectUris: ['https://app.example.com/bye'],
        backchannelLogoutUri: 'https://app.example.com/backchannel',
        firstParty: true,
        scope: 'openid email',
        idTokenSignedResponseAlg: 'ES256',
      },
      undefined,
    );

    it('keeps every value the input does not mention', () => {
      expect(resolveSettings({}, base)).toEqual(base);
      expect(resolveSettings({ name: 'Renamed' }, base)).toEqual({ ...base, name: 'Renamed' });
    });

    it('replaces lists rather than appending to them', () => {
      expect(resolveSettings({ redirectUris: ['https://new.example.com/cb'] }, base).redirectUris).toEqual(['https://new.example.com/cb']);
    });

    it('clears a URI given as null', () => {
      expect(resolveSettings({ backchannelLogoutUri: null }, base).backchannelLogoutUri).toBeNull();
    });

    it('turns a public client back into a client_secret_basic one with public: false', () => {
      const publicBase = resolveSettings({ public: true }, base);
      expect(publicBase.tokenEndpointAuthMethod).toBe('none');
      expect(resolveSettings({ public: false }, publicBase).tokenEndpointAuthMethod).toBe('client_secret_basic');
    });

    it('keeps a confidential method when public: false is repeated', () => {
      const jwt = resolveSettings({ tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://app.example.com/jwks' }, base);
      expect(resolveSettings({ public: false }, jwt).tokenEndpointAuthMethod).toBe('private_key_jwt');
    });

    it('refuses to drop the jwks_uri of a private_key_jwt client', () => {
      const jwt = resolveSettings({ tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://app.example.com/jwks' }, base);
      expect(refusal({ jwksUri: null }, jwt).field).toBe('jwks-uri');
    });
  });
});

describe('ClientService', () => {
  function setup() {
    const clock = new TestClock(new Date('2026-01-01T00:00:00Z'));
    const clients = new InMemoryClientRepository(clock);
    const validator = new RecordingValidator();
    return { clock, clients, validator, service: new ClientService({ clients, validator, clock }) };
  }

  describe('create', () => {
    it('issues an id and a secret once, and stores the same secret', async () => {
      const { service, clients } = setup();
      const { client, secret } = await service.create(WEB);
      expect(client.clientId).toMatch(/^[\w-]{20,}$/);
      expect(secret).toMatch(/^[\w-]{40,}$/);
      expect(client).not.toHaveProperty('secret');
      expect(clients.rows.get(client.clientId)!.secret).toBe(secret);
    });

    it('issues different ids and secrets to different clients', async () => {
      const { service } = setup();
      const a = await service.create(WEB);
      const b = await service.create(WEB);
      expect(a.client.clientId).not.toBe(b.client.clientId);
      expect(a.secret).not.toBe(b.secret);
    });

    it.each([
      ['a public client', { ...WEB, public: true }],
      ['a private_key_jwt client', { ...WEB, tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://app.example.com/jwks' }],
    ])('issues no secret to %s', async (_label, input) => {
      const { service, clients } = setup();
      const { client, secret } = await service.create(input);
      expect(secret).toBeNull();
      expect(clients.rows.get(client.clientId)!.secret).toBeNull();
    });

    it('issues a secret to client_secret_post clients', async () => {
      const { service } = setup();
      expect((await service.create({ ...WEB, tokenEndpointAuthMethod: 'client_secret_post' })).secret).toEqual(expect.any(String));
    });

    it('validates the final settings with the protocol rules before saving, and saves nothing they refuse', async () => {
      const { service, clients, validator } = setup();
      validator.refuse = () => 'redirect_uris must not use the javascript scheme';
      await expect(service.create(WEB)).rejects.toThrow('javascript');
      expect(clients.rows.size).toBe(0);
      expect(validator.calls).toHaveLength(1);
      expect(validator.calls[0]!.settings.grantTypes).toEqual(['authorization_code', 'refresh_token']);
      expect(validator.calls[0]!.secret).toEqual(expect.any(String));
    });

    it('saves nothing when the settings are incoherent', async () => {
      const { service, clients, validator } = setup();
      await expect(service.create({ ...WEB, public: true, grantTypes: ['client_credentials'] })).rejects.toThrow(ValidationError);
      expect(clients.rows.size).toBe(0);
      expect(validator.calls).toHaveLength(0);
    });
  });

  describe('get', () => {
    it('returns the client without its secret', async () => {
      const { service } = setup();
      const { client } = await service.create(WEB);
      const found = await service.get(client.clientId);
      expect(found).toEqual(client);
      expect(found).not.toHaveProperty('secret');
    });

    it('reports an unknown client as NotFoundError naming it', async () => {
      const { service } = setup();
      const error = await rejection(service.get('nope'));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error.message).toContain('nope');
    });
  });

  describe('update', () => {
    it('keeps the values and the secret the update does not mention', async () => {
      const { service, clients } = setup();
      const { client, secret } = await service.create({ ...WEB, scope: 'openid email', firstParty: true });
      const updated = await service.update(client.clientId, { name: 'Renamed' });
      expect(updated.secret).toBeNull();
      expect(updated.client).toMatchObject({ name: 'Renamed', scope: 'openid email', firstParty: true, redirectUris: WEB.redirectUris });
      expect(clients.rows.get(client.clientId)!.secret).toBe(secret);
    });

    it('drops the secret when the client becomes public', async () => {
      const { service, clients } = setup();
      const { client } = await service.create(WEB);
      const updated = await service.update(client.clientId, { public: true });
      expect(updated.client.tokenEndpointAuthMethod).toBe('none');
      expect(updated.secret).toBeNull();
      expect(clients.rows.get(client.clientId)!.secret).toBeNull();
    });

    it('drops the secret when the client moves to private_key_jwt', async () => {
      const { service, clients } = setup();
      const { client } = await service.create(WEB);
      await service.update(client.clientId, { tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://app.example.com/jwks' });
      expect(clients.rows.get(client.clientId)!.secret).toBeNull();
    });

    it('issues a new secret, returned once, when a public client becomes confidential again', async () => {
      const { service, clients } = setup();
      const created = await service.create(WEB);
      await service.update(created.client.clientId, { public: true });
      const updated = await service.update(created.client.clientId, { public: false });
      expect(updated.client.tokenEndpointAuthMethod).toBe('client_secret_basic');
      expect(updated.secret).toEqual(expect.any(String));
      expect(updated.secret).not.toBe(created.secret);
      expect(clients.rows.get(created.client.clientId)!.secret).toBe(updated.secret);
    });

    it('validates the merged settings with the secret the client will have', async () => {
      const { service, validator } = setup();
      const { client } = await service.create(WEB);
      await service.update(client.clientId, { public: true });
      expect(validator.calls.at(-1)).toMatchObject({ clientId: client.clientId, secret: null, settings: { tokenEndpointAuthMethod: 'none' } });
    });

    it('changes nothing when the update is refused', async () => {
      const { service, clients, validator } = setup();
      const { client, secret } = await service.create(WEB);
      validator.refuse = (settings) => (settings.name === 'Refused' ? 'no' : undefined);
      await expect(service.update(client.clientId, { name: 'Refused', public: true })).rejects.toThrow(ValidationError);
      expect(clients.rows.get(client.clientId)).toMatchObject({ name: 'Web app', secret, tokenEndpointAuthMethod: 'client_secret_basic' });
    });

    it('reports an unknown client as NotFoundError', async () => {
      const { service } = setup();
      await expect(service.update('nope', { name: 'x' })).rejects.toThrow(NotFoundError);
    });
  });

  describe('rotateSecret', () => {
    it('replaces the secret and keeps every setting', async () => {
      const { service, clients } = setup();
      const created = await service.create({ ...WEB, firstParty: true, scope: 'openid email' });
      const before = clients.rows.get(created.client.clientId)!;
      const rotated = await service.rotateSecret(created.client.clientId);
      expect(rotated.secret).toEqual(expect.any(String));
      expect(rotated.secret).not.toBe(created.secret);
      const after = clients.rows.get(created.client.clientId)!;
      expect(after.secret).toBe(rotated.secret);
      const { secret: _a, updatedAt: _b, ...settingsBefore } = before;
      const { secret: _c, updatedAt: _d, ...settingsAfter } = after;
      expect(settingsAfter).toEqual(settingsBefore);
    });

    it.each([
      ['public', { ...WEB, public: true }, 'none'],
      ['private_key_jwt', { ...WEB, tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://app.example.com/jwks' }, 'private_key_jwt'],
    ])('refuses a %s client, which has no secret, and leaves it without one', async (_label, input, method) => {
      const { service, clients } = setup();
      const { client } = await service.create(input);
      const error = await rejection(service.rotateSecret(client.clientId));
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toContain(method);
      expect(clients.rows.get(client.clientId)!.secret).toBeNull();
    });

    it('reports an unknown client as NotFoundError', async () => {
      const { service } = setup();
      await expect(service.rotateSecret('nope')).rejects.toThrow(NotFoundError);
    });
  });

  describe('list and delete', () => {
    it('lists clients without secrets and deletes them', async () => {
      const { service } = setup();
      const { client } = await service.create(WEB);
      const list = await service.list();
      expect(list.map((c) => c.clientId)).toEqual([client.clientId]);
      expect(list[0]).not.toHaveProperty('secret');
      await service.delete(client.clientId);
      await expect(service.get(client.clientId)).rejects.toThrow(NotFoundError);
      await expect(service.delete(client.clientId)).rejects.toThrow(NotFoundError);
    });
  });

  describe('back-channel logout URI check', () => {
    it('checks the URI on create, and on update only when it changes', async () => {
      const checked: string[] = [];
      const clock = new TestClock(new Date('2026-01-01T00:00:00Z'));
      const clients = new InMemoryClientRepository(clock);
      const service = new ClientService({
        clients,
        clock,
        validator: new RecordingValidator(),
        checkBackchannelUri: async (uri) => {
          checked.push(uri);
          if (uri.includes('10.0.0.1')) throw new ValidationError('private', { field: 'backchannel-logout-uri' });
        },
      });
      await expect(service.create({ ...WEB, backchannelLogoutUri: 'https://10.0.0.1/logout' })).rejects.toThrow(ValidationError);
      expect(await clients.list()).toHaveLength(0);
      const { client } = await service.create({ ...WEB, backchannelLogoutUri: 'https://app.example.com/logout' });
      await service.update(client.clientId, { name: 'Renamed' });
      await service.update(client.clientId, { backchannelLogoutSessionRequired: false });
      await expect(service.update(client.clientId, { backchannelLogoutUri: 'https://10.0.0.1/logout' })).rejects.toThrow(ValidationError);
      expect((await service.get(client.clientId)).backchannelLogoutUri).toBe('https://app.example.com/logout');
      expect(checked).toEqual(['https://10.0.0.1/logout', 'https://app.example.com/logout', 'https://10.0.0.1/logout']);
    });
  });
});
