import type { ClientWithSecret } from '../../../src/domain/clients/client.js';
import { createAdapterFactory } from '../../../src/oidc/adapter.js';
import { PrismaPayloadStore } from '../../../src/store/prisma/payload-store.js';
import { TestClock } from '../../support/clock.js';
import { databaseKinds } from '../../support/databases.js';
import { openStoreDatabase, type StoreDatabase } from './store-database.js';

const CLIENT: ClientWithSecret = {
  clientId: 'web-app',
  secret: 'the-client-secret',
  name: 'Web app',
  redirectUris: ['https://app.example.com/callback'],
  postLogoutRedirectUris: ['https://app.example.com/bye'],
  backchannelLogoutUri: null,
  backchannelLogoutSessionRequired: true,
  grantTypes: ['authorization_code', 'refresh_token'],
  tokenEndpointAuthMethod: 'client_secret_basic',
  jwksUri: null,
  firstParty: true,
  admin: false,
  scope: 'openid email',
  idTokenSignedResponseAlg: 'ES256',
  minAcr: null,
  tokenRateLimited: true,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  updatedAt: new Date('2026-01-01T00:00:00Z'),
};

describe.each(databaseKinds())('oidc-provider adapter over the Prisma store on %s', (kind) => {
  let store: StoreDatabase;
  let clock: TestClock;
  let lookups: string[];
  let adapterFor: ReturnType<typeof createAdapterFactory>;

  beforeAll(async () => {
    store = await openStoreDatabase(kind);
  });

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(async () => {
    await store.truncate();
    clock = new TestClock(new Date('2026-03-01T12:00:00.000Z'));
    lookups = [];
    adapterFor = createAdapterFactory({
      payloads: new PrismaPayloadStore(store.db),
      clock,
      findClient: async (clientId) => {
        lookups.push(clientId);
        return clientId === CLIENT.clientId ? CLIENT : undefined;
      },
    });
  });

  it('stores a payload for expiresIn seconds from the clock', async () => {
    const sessions = adapterFor('Session');
    await sessions.upsert('s1', { accountId: 'u1', uid: 'uid-1', kind: 'Session' }, 60);
    // A Session's exp is its row's expiry, which activity on Gatehouse's own pages extends.
    const exp = Math.floor(clock.now().getTime() / 1000) + 60;
    expect(await sessions.find('s1')).toEqual({ accountId: 'u1', uid: 'uid-1', kind: 'Session', jti: 's1', exp });
    expect(await sessions.findByUid('uid-1')).toMatchObject({ accountId: 'u1' });
    clock.advance(59_999);
    expect(await sessions.find('s1')).toBeDefined();
    clock.advance(1);
    expect(await sessions.find('s1')).toBeUndefined();
    expect(await sessions.findByUid('uid-1')).toBeUndefined();
  });

  it('exposes a consumed payload with `consumed` in epoch seconds, and leaves unconsumed ones without it', async () => {
    const codes = adapterFor('AuthorizationCode');
    await codes.upsert('code-1', { accountId: 'u1', grantId: 'g1' }, 60);
    await codes.upsert('code-2', { accountId: 'u1', grantId: 'g1' }, 60);
    clock.advance(1_750);
    await codes.consume('code-1');
    const consumed = await codes.find('code-1');
    expect(consumed).toMatchObject({ accountId: 'u1', consumed: Math.floor(clock.now().getTime() / 1000) });
    expect(Number.isInteger(consumed!.consumed)).toBe(true);
    expect(await codes.find('code-2')).not.toHaveProperty('consumed');
  });

  it('keeps the first consumption time when consumed again', async () => {
    const tokens = adapterFor('RefreshToken');
    await tokens.upsert('rt', { accountId: 'u1' }, 3600);
    await tokens.consume('rt');
    const first = (await tokens.find('rt'))!.consumed;
    clock.advance(10_000);
    await tokens.consume('rt');
    expect((await tokens.find('rt'))!.consumed).toBe(first);
  });

  it('finds device-flow payloads by user code', async () => {
    const devices = adapterFor('DeviceCode');
    await devices.upsert('dc', { userCode: 'ABCD-EFGH', clientId: 'web-app' }, 600);
    expect(await devices.findByUserCode('ABCD-EFGH')).toMatchObject({ clientId: 'web-app' });
    expect(await adapterFor('Session').findByUserCode('ABCD-EFGH')).toBeUndefined();
  });

  it('revokes every artifact of a grant through any model adapter', async () => {
    await adapterFor('AccessToken').upsert('at', { grantId: 'g1' }, 60);
    await adapterFor('RefreshToken').upsert('rt', { grantId: 'g1' }, 60);
    await adapterFor('AccessToken').upsert('other', { grantId: 'g2' }, 60);
    await adapterFor('Grant').upsert('g1', { accountId: 'u1' }, 60);
    await adapterFor('AccessToken').revokeByGrantId('g1');
    expect(await adapterFor('AccessToken').find('at')).toBeUndefined();
    expect(await adapterFor('RefreshToken').find('rt')).toBeUndefined();
    expect(await adapterFor('AccessToken').find('other')).toBeDefined();
  });

  it('destroys a payload, and destroying it again is fine', async () => {
    const sessions = adapterFor('Session');
    await sessions.upsert('s1', { accountId: 'u1' }, 60);
    await sessions.destroy('s1');
    expect(await sessions.find('s1')).toBeUndefined();
    await expect(sessions.destroy('s1')).resolves.toBeUndefined();
  });

  describe('the Client model', () => {
    it('reads clients from the client lookup, as oidc-provider metadata with the secret', async () => {
      const metadata = await adapterFor('Client').find('web-app');
      expect(lookups).toEqual(['web-app']);
      expect(metadata).toMatchObject({
        client_id: 'web-app',
        client_secret: 'the-client-secret',
        client_name: 'Web app',
        redirect_uris: ['https://app.example.com/callback'],
        post_logout_redirect_uris: ['https://app.example.com/bye'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'openid email',
        id_token_signed_response_alg: 'ES256',
      });
    });

    it('does not know clients the lookup does not know, even if a payload row has that id', async () => {
      await store.db.oidcPayload.create({ data: { model: 'Client', id: 'ghost', payload: JSON.stringify({ client_id: 'ghost', client_secret: 'x' }) } });
      expect(await adapterFor('Client').find('ghost')).toBeUndefined();
      expect(lookups).toEqual(['ghost']);
    });

    it('refuses to register clients through oidc-provider', async () => {
      await expect(adapterFor('Client').upsert('new', { client_id: 'new' }, 0)).rejects.toThrow(/CLI/);
      expect(await store.db.oidcPayload.count()).toBe(0);
    });
  });
});
