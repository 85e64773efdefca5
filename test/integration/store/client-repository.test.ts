import type { ClientSettings } from '../../../src/domain/clients/client.js';
import { ConflictError, NotFoundError, SecretMismatchError } from '../../../src/domain/errors.js';
import { AesGcmSecretBox } from '../../../src/infra/secret-box.js';
import { PrismaClientRepository } from '../../../src/store/prisma/client-repository.js';
import { databaseKinds } from '../../support/databases.js';
import { openStoreDatabase, type StoreDatabase } from './store-database.js';

const SECRET = 'store-test-secret-with-enough-characters-0123';
const CLIENT_SECRET = 'plain-client-secret-that-must-not-be-stored-as-is';

const SETTINGS: ClientSettings = {
  name: 'Web app',
  redirectUris: ['https://app.example.com/callback', 'https://app.example.com/other'],
  postLogoutRedirectUris: ['https://app.example.com/bye'],
  backchannelLogoutUri: 'https://app.example.com/backchannel',
  backchannelLogoutSessionRequired: false,
  grantTypes: ['authorization_code', 'refresh_token'],
  tokenEndpointAuthMethod: 'client_secret_basic',
  jwksUri: null,
  firstParty: true,
  admin: false,
  scope: 'openid email',
  idTokenSignedResponseAlg: 'ES256',
  minAcr: 'urn:gatehouse:loa:2',
  // Not the default, so a round trip shows the column is stored.
  tokenRateLimited: false,
};

describe.each(databaseKinds())('PrismaClientRepository on %s', (kind) => {
  let store: StoreDatabase;
  let clients: PrismaClientRepository;

  beforeAll(async () => {
    store = await openStoreDatabase(kind);
    clients = new PrismaClientRepository(store.db, new AesGcmSecretBox(SECRET));
  });

  afterAll(async () => {
    await store?.close();
  });

  beforeEach(async () => {
    await store.truncate();
  });

  const rawRow = (clientId: string) => store.db.client.findUniqueOrThrow({ where: { clientId } });

  it('stores every setting and reads it back', async () => {
    const created = await clients.create({ clientId: 'web', secret: CLIENT_SECRET, settings: SETTINGS });
    expect(created).toEqual({ ...SETTINGS, clientId: 'web', createdAt: expect.any(Date), updatedAt: expect.any(Date) });
    expect(created).not.toHaveProperty('secret');
    expect(await clients.findById('web')).toEqual({ ...created, secret: CLIENT_SECRET });
  });

  it('stores the admin flag in its own column and reads it back', async () => {
    const admin: ClientSettings = { ...SETTINGS, admin: true, grantTypes: ['client_credentials'], redirectUris: [], scope: 'admin' };
    expect(await clients.create({ clientId: 'ops', secret: CLIENT_SECRET, settings: admin })).toMatchObject({ admin: true, scope: 'admin' });
    expect((await rawRow('ops')).admin).toBe(true);
    expect((await rawRow('ops')).metadata).not.toContain('"admin":');
    expect(await clients.update('ops', { ...admin, admin: false, scope: 'profile' })).toMatchObject({ admin: false });
    expect((await rawRow('ops')).admin).toBe(false);
    expect(await clients.findById('ops')).toMatchObject({ admin: false, scope: 'profile' });
  });

  it('keeps the secret encrypted at rest and decrypts it on findById', async () => {
    await clients.create({ clientId: 'web', secret: CLIENT_SECRET, settings: SETTINGS });
    const row = await rawRow('web');
    expect(row.secretEncrypted).toEqual(expect.any(String));
    expect(row.secretEncrypted).not.toContain(CLIENT_SECRET);
    expect(row.metadata).not.toContain(CLIENT_SECRET);
    expect(new AesGcmSecretBox(SECRET).open(row.secretEncrypted!)).toBe(CLIENT_SECRET);
    expect((await clients.findById('web'))!.secret).toBe(CLIENT_SECRET);
  });

  it('stores no secret for a client without one', async () => {
    await clients.create({ clientId: 'spa', secret: null, settings: { ...SETTINGS, tokenEndpointAuthMethod: 'none' } });
    expect((await rawRow('spa')).secretEncrypted).toBeNull();
    expect((await clients.findById('spa'))!.secret).toBeNull();
  });

  it('refuses to read secrets with another GATEHOUSE_SECRET', async () => {
    await clients.create({ clientId: 'web', secret: CLIENT_SECRET, settings: SETTINGS });
    const other = new PrismaClientRepository(store.db, new AesGcmSecretBox('a-different-secret-with-enough-characters-99'));
    await expect(other.findById('web')).rejects.toThrow(SecretMismatchError);
  });

  it('refuses a duplicate client id as ConflictError', async () => {
    await clients.create({ clientId: 'web', secret: null, settings: SETTINGS });
    await expect(clients.create({ clientId: 'web', secret: null, settings: SETTINGS })).rejects.toThrow(ConflictError);
  });

  it('returns undefined for an unknown client', async () => {
    expect(await clients.findById('missing')).toBeUndefined();
  });

  it('updates settings and keeps the secret when none is given', async () => {
    await clients.create({ clientId: 'web', secret: CLIENT_SECRET, settings: SETTINGS });
    const updated = await clients.update('web', { ...SETTINGS, name: 'Renamed', firstParty: false, redirectUris: ['https://new.example.com/cb'] });
    expect(updated).toMatchObject({ name: 'Renamed', firstParty: false, redirectUris: ['https://new.example.com/cb'] });
    expect(await clients.findById('web')).toMatchObject({ name: 'Renamed', secret: CLIENT_SECRET });
  });

  it('replaces or clears the secret when one is given', async () => {
    await clients.create({ clientId: 'web', secret: CLIENT_SECRET, settings: SETTINGS });
    const before = (await rawRow('web')).secretEncrypted;
    await clients.update('web', SETTINGS, { secret: 'rotated-secret' });
    const after = await rawRow('web');
    expect(after.secretEncrypted).not.toBe(before);
    expect(after.secretEncrypted).not.toContain('rotated-secret');
    expect((await clients.findById('web'))!.secret).toBe('rotated-secret');
    await clients.update('web', { ...SETTINGS, tokenEndpointAuthMethod: 'none' }, { secret: null });
    expect((await rawRow('web')).secretEncrypted).toBeNull();
  });

  it('lists clients by name without secrets', async () => {
    await clients.create({ clientId: 'b', secret: CLIENT_SECRET, settings: { ...SETTINGS, name: 'Beta' } });
    await clients.create({ clientId: 'a', secret: CLIENT_SECRET, settings: { ...SETTINGS, name: 'Alpha' } });
    const list = await clients.list();
    expect(list.map((c) => c.name)).toEqual(['Alpha', 'Beta']);
    for (const client of list) expect(client).not.toHaveProperty('secret');
  });

  it('saves each change with its audit event in one transaction: an event that cannot be written undoes the change', async () => {
    const event = (type: 'client.created' | 'client.updated' | 'client.deleted', at = new Date('2026-03-01T00:00:00Z')) => ({
      at, type, actor: { type: 'admin' as const, id: 'cli' }, userId: null, sessionId: null, clientId: 'web', details: null,
    });
    await clients.create({ clientId: 'web', secret: CLIENT_SECRET, settings: SETTINGS }, event('client.created'));
    await clients.update('web', { ...SETTINGS, name: 'Renamed' }, undefined, event('client.updated'));
    expect((await store.db.auditEvent.findMany({ where: { clientId: 'web' }, orderBy: { type: 'asc' } })).map((e) => e.type)).toEqual(['client.created', 'client.updated']);

    const broken = event('client.updated', new Date(Number.NaN));
    await expect(clients.update('web', { ...SETTINGS, name: 'Half-saved' }, { secret: 'other-secret' }, broken)).rejects.toThrow();
    expect(await clients.findById('web')).toMatchObject({ name: 'Renamed', secret: CLIENT_SECRET });
    await expect(clients.delete('web', { ...event('client.deleted'), at: new Date(Number.NaN) })).rejects.toThrow();
    expect(await clients.findById('web')).toBeDefined();
    await expect(clients.create({ clientId: 'other', secret: null, settings: SETTINGS }, { ...event('client.created'), clientId: 'other', at: new Date(Number.NaN) })).rejects.toThrow();
    expect(await clients.findById('other')).toBeUndefined();
    expect(await store.db.auditEvent.count()).toBe(2);

    await clients.delete('web', event('client.deleted'));
    expect(await clients.findById('web')).toBeUndefined();
    await expect(clients.delete('web', event('client.deleted'))).rejects.toThrow(NotFoundError);
    expect(await store.db.auditEvent.count({ where: { type: 'client.deleted' } })).toBe(1);
  });

  it('deletes a client, and reports a missing one as NotFoundError', async () => {
    await clients.create({ clientId: 'web', secret: null, settings: SETTINGS });
    await clients.delete('web');
    expect(await clients.findById('web')).toBeUndefined();
    await expect(clients.delete('web')).rejects.toThrow(NotFoundError);
    await expect(clients.update('web', SETTINGS)).rejects.toThrow(NotFoundError);
  });
});
