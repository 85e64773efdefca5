import { createPublicKey, createPrivateKey, sign, verify } from 'node:crypto';
import { RETIRED_KEY_PUBLICATION_MS, SigningKeyService } from '../../../../src/domain/keys/signing-keys.js';
import { TestClock } from '../../../support/clock.js';
import { InMemorySigningKeyStore } from '../../../support/fakes.js';

const DAY = 24 * 3600 * 1000;

function setup() {
  const clock = new TestClock(new Date('2026-01-01T00:00:00Z'));
  const store = new InMemorySigningKeyStore();
  return { clock, store, keys: new SigningKeyService(store, clock) };
}

describe('SigningKeyService', () => {
  describe('ensureKeys', () => {
    it('creates one current ES256 and one current RS256 key', async () => {
      const { keys, store } = setup();
      const created = await keys.ensureKeys();
      expect(created).toHaveLength(2);
      const list = await keys.list();
      expect(list.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
      expect(list.every((k) => k.retiredAt === null)).toBe(true);
      expect(list.map((k) => k.kid).sort()).toEqual([...created].sort());
      expect(new Set(created).size).toBe(2);
      expect(store.replaceCalls).toBe(1);
    });

    it('creates nothing on the next start', async () => {
      const { keys, store, clock } = setup();
      await keys.ensureKeys();
      clock.advance(DAY);
      expect(await keys.ensureKeys()).toEqual([]);
      expect(store.keys).toHaveLength(2);
      expect(store.replaceCalls).toBe(1);
    });

    it('publishes only public parts in the key list, and private parts only in the signing set', async () => {
      const { keys } = setup();
      await keys.ensureKeys();
      for (const key of await keys.list()) {
        expect(key.publicJwk).toMatchObject({ kid: key.kid, alg: key.alg, use: 'sig' });
        expect(key.publicJwk).not.toHaveProperty('d');
        expect(key).not.toHaveProperty('privateJwk');
      }
      for (const jwk of (await keys.signingJwks()).keys) expect(jwk).toHaveProperty('d');
    });

    it('makes keys that sign and verify with their algorithm', async () => {
      const { keys } = setup();
      await keys.ensureKeys();
      const { keys: jwks } = await keys.signingJwks();
      const es = jwks.find((k) => k.alg === 'ES256')!;
      const rs = jwks.find((k) => k.alg === 'RS256')!;
      expect(es).toMatchObject({ kty: 'EC', crv: 'P-256' });
      expect(rs).toMatchObject({ kty: 'RSA' });
      expect(Buffer.from(rs.n!, 'base64url').length * 8).toBeGreaterThanOrEqual(2048);
      for (const jwk of [es, rs]) {
        const data = Buffer.from('payload');
        const signature = sign('sha256', data, createPrivateKey({ key: jwk, format: 'jwk' }));
        const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
        expect(verify('sha256', data, createPublicKey({ key: publicJwk, format: 'jwk' }), signature)).toBe(true);
      }
    });

    it('replaces a retired-only algorithm with a new current key', async () => {
      const { keys, store, clock } = setup();
      await keys.ensureKeys();
      const es = store.keys.find((k) => k.alg === 'ES256')!;
      await store.replace([], [es.kid], clock.now());
      const created = await keys.ensureKeys();
      expect(created).toHaveLength(1);
      expect(store.keys.find((k) => k.kid === created[0])!.alg).toBe('ES256');
    });

    it('stamps new keys with the clock', async () => {
      const { keys, clock } = setup();
      await keys.ensureKeys();
      expect((await keys.list()).every((k) => k.createdAt.getTime() === clock.now().getTime())).toBe(true);
    });
  });

  describe('rotate', () => {
    it('retires every current key at the current time and creates a new one per algorithm', async () => {
      const { keys, clock } = setup();
      const first = await keys.ensureKeys();
      clock.advance(DAY);
      const created = await keys.rotate();
      expect(created.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
      expect(created.every((k) => !first.includes(k.kid) && k.retiredAt === null)).toBe(true);
      expect(created[0]).not.toHaveProperty('privateJwk');

      const list = await keys.list();
      expect(list).toHaveLength(4);
      const current = list.filter((k) => k.retiredAt === null).map((k) => k.kid);
      expect(current.sort()).toEqual(created.map((k) => k.kid).sort());
      for (const kid of first) expect(list.find((k) => k.kid === kid)!.retiredAt).toEqual(clock.now());
    });

    it('keeps the first retirement time of a key when rotating again', async () => {
      const { keys, clock } = setup();
      const first = await keys.ensureKeys();
      clock.advance(DAY);
      const retiredAt = clock.now();
      await keys.rotate();
      clock.advance(DAY);
      await keys.rotate();
      const list = await keys.list();
      expect(list).toHaveLength(6);
      expect(list.filter((k) => k.retiredAt === null)).toHaveLength(2);
      for (const kid of first) expect(list.find((k) => k.kid === kid)!.retiredAt).toEqual(retiredAt);
    });
  });

  describe('signingJwks', () => {
    it('lists the current keys first, so that they are the ones that sign', async () => {
      const { keys, clock } = setup();
      await keys.ensureKeys();
      clock.advance(DAY);
      const current = (await keys.rotate()).map((k) => k.kid);
      const { keys: jwks } = await keys.signingJwks();
      expect(jwks).toHaveLength(4);
      expect(jwks.slice(0, 2).map((k) => k.kid).sort()).toEqual([...current].sort());
      // oidc-provider signs with the first key of each algorithm.
      expect(current).toContain(jwks.find((k) => k.alg === 'ES256')!.kid);
      expect(current).toContain(jwks.find((k) => k.alg === 'RS256')!.kid);
    });

    it('lists the current keys first even when a rotation happens in the same millisecond as the creation', async () => {
      const { keys } = setup();
      const retired = await keys.ensureKeys();
      // No clock.advance: every key has the same createdAt, so only the retirement can order them.
      const current = (await keys.rotate()).map((k) => k.kid);
      const order = (await keys.signingJwks()).keys.map((k) => k.kid as string);
      expect(order.slice(0, 2).sort()).toEqual([...current].sort());
      expect(order.slice(2).sort()).toEqual([...retired].sort());
    });

    it('keeps retired keys published for seven days, then drops them', async () => {
      const { keys, clock } = setup();
      const retired = await keys.ensureKeys();
      clock.advance(DAY);
      await keys.rotate();
      const published = async () => (await keys.signingJwks()).keys.map((k) => k.kid as string);

      expect(RETIRED_KEY_PUBLICATION_MS).toBe(7 * DAY);
      clock.advance(7 * DAY - 1);
      expect(await published()).toEqual(expect.arrayContaining(retired));
      clock.advance(1);
      const after = await published();
      expect(after).toHaveLength(2);
      for (const kid of retired) expect(after).not.toContain(kid);
    });

    it('never drops current keys, however old', async () => {
      const { keys, clock } = setup();
      const kids = await keys.ensureKeys();
      clock.advance(365 * DAY);
      expect((await keys.signingJwks()).keys.map((k) => k.kid).sort()).toEqual([...kids].sort());
    });

    it('orders several retired generations newest first', async () => {
      const { keys, clock } = setup();
      const oldest = await keys.ensureKeys();
      clock.advance(DAY);
      const middle = (await keys.rotate()).map((k) => k.kid);
      clock.advance(DAY);
      const newest = (await keys.rotate()).map((k) => k.kid);
      const order = (await keys.signingJwks()).keys.map((k) => k.kid as string);
      const generation = (kid: string) => (newest.includes(kid) ? 0 : middle.includes(kid) ? 1 : oldest.includes(kid) ? 2 : -1);
      expect(order.map(generation)).toEqual([0, 0, 1, 1, 2, 2]);
    });
  });
});
