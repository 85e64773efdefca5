import { ACCOUNT_CLIENT_ID, ACCOUNT_CLIENT_NAME, ensureAccountClient } from '../../../../src/domain/accounts/account-client.js';
import type { ClientSettings } from '../../../../src/domain/clients/client.js';
import { TestClock } from '../../../support/clock.js';
import { InMemoryClientRepository, RecordingValidator } from '../../../support/fakes.js';

const CALLBACK = 'https://id.example.com/account/callback';

describe('ensureAccountClient', () => {
  let clock: TestClock;
  let clients: InMemoryClientRepository;
  let validator: RecordingValidator;

  beforeEach(() => {
    clock = new TestClock(new Date('2025-01-01T00:00:00Z'));
    clients = new InMemoryClientRepository(clock);
    validator = new RecordingValidator();
  });

  it('creates a first-party public client with a fixed id, openid only and no refresh tokens', async () => {
    const client = await ensureAccountClient({ clients, validator }, CALLBACK);
    expect(client).toMatchObject({
      clientId: ACCOUNT_CLIENT_ID,
      name: ACCOUNT_CLIENT_NAME,
      redirectUris: [CALLBACK],
      grantTypes: ['authorization_code'],
      tokenEndpointAuthMethod: 'none',
      firstParty: true,
      scope: 'openid',
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
    });
    expect(clients.rows.get(ACCOUNT_CLIENT_ID)!.secret).toBeNull();
    expect(validator.calls).toHaveLength(1);
  });

  it('is idempotent: a second start changes nothing', async () => {
    await ensureAccountClient({ clients, validator }, CALLBACK);
    const before = clients.rows.get(ACCOUNT_CLIENT_ID)!;
    clock.advance(60_000);
    await ensureAccountClient({ clients, validator }, CALLBACK);
    expect(clients.rows.get(ACCOUNT_CLIENT_ID)).toBe(before);
  });

  it('follows a new issuer and puts back settings an administrator changed', async () => {
    await ensureAccountClient({ clients, validator }, CALLBACK);
    const { clientId: _id, secret: _s, createdAt: _c, updatedAt: _u, ...settings } = clients.rows.get(ACCOUNT_CLIENT_ID)!;
    const tampered: ClientSettings = { ...settings, grantTypes: ['authorization_code', 'refresh_token'], scope: 'openid offline_access', redirectUris: ['https://evil.example/cb'] };
    await clients.update(ACCOUNT_CLIENT_ID, tampered, { secret: 'a secret' });

    const moved = 'https://login.example.com/account/callback';
    const client = await ensureAccountClient({ clients, validator }, moved);
    expect(client).toMatchObject({ redirectUris: [moved], grantTypes: ['authorization_code'], scope: 'openid', tokenEndpointAuthMethod: 'none' });
    expect(clients.rows.get(ACCOUNT_CLIENT_ID)!.secret).toBeNull();
  });

  it('tolerates another instance creating it at the same moment', async () => {
    // Our lookup finds nothing, then the other instance's row is there when we create: a conflict, then a second look.
    let lookups = 0;
    const repository = {
      create: (input: Parameters<InMemoryClientRepository['create']>[0]) => clients.create(input),
      findById: async (id: string) => (lookups++ === 0 ? undefined : clients.findById(id)),
      list: () => clients.list(),
      update: (...args: Parameters<InMemoryClientRepository['update']>) => clients.update(...args),
      delete: (id: string) => clients.delete(id),
    };
    await ensureAccountClient({ clients, validator }, CALLBACK);
    const client = await ensureAccountClient({ clients: repository, validator }, CALLBACK);
    expect(client.clientId).toBe(ACCOUNT_CLIENT_ID);
    expect(lookups).toBe(2);
  });
});
