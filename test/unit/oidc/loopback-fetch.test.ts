import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loopbackAllowingFetch } from '../../../src/oidc/configuration.js';

// oidc-provider passes a dispatcher that refuses loopback and private addresses; OUTBOUND_ALLOW_LOOPBACK (development
// only) drops it for loopback URLs and for nothing else.
describe('loopbackAllowingFetch', () => {
  let server: Server;
  let port: number;
  const refusing = { dispatch: () => { throw new Error('refused by the address check'); } };

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reaches a loopback address without the address-checking dispatcher', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const response = await loopbackAllowingFetch(`http://${host}:${port}/backchannel`, { method: 'POST', dispatcher: refusing } as unknown as RequestInit);
      expect(await response.text()).toBe('ok');
    }
  });

  it('keeps the dispatcher for every other address', async () => {
    // The refusing dispatcher answers before any connection is tried.
    for (const url of [`http://10.0.0.1:${port}/`, `http://192.168.1.1:${port}/`, `https://app.example/backchannel`]) {
      await expect(loopbackAllowingFetch(url, { dispatcher: refusing } as unknown as RequestInit)).rejects.toMatchObject({ cause: { message: 'refused by the address check' } });
    }
  });
});
