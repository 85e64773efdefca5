import { createServer as createTcpServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { LogoutReceiver } from '../support/logout-receiver.js';
import { HttpLogoutTransport } from '../../src/infra/logout-transport.js';

const PRODUCTION = { production: true, allowedHosts: [] };
const never = new AbortController().signal;

/** A TCP listener that counts the connections it gets (whatever protocol is spoken on them). */
async function countingListener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createTcpServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, connections: () => count };
}

describe('HttpLogoutTransport', () => {
  it('posts the token form-encoded, without cookies, and reports the status without following a redirect', async () => {
    const receiver = await new LogoutReceiver().up();
    try {
      const transport = new HttpLogoutTransport({ production: false, allowedHosts: [] });
      receiver.answers = [302, 204];
      expect(await transport.post(receiver.uri, 'header.payload.signature', never)).toEqual({ status: 302 });
      expect(await transport.post(receiver.uri, 'header.payload.signature', never)).toEqual({ status: 204 });
      // The 302 was not followed: two requests, both POSTs of the token.
      expect(receiver.received.map((r) => [r.method, r.contentType, r.cookie, r.token])).toEqual([
        ['POST', 'application/x-www-form-urlencoded', undefined, 'header.payload.signature'],
        ['POST', 'application/x-www-form-urlencoded', undefined, 'header.payload.signature'],
      ]);
    } finally {
      await receiver.down();
    }
  });

  it('reports a connection error as retryable and rejects when aborted', async () => {
    const receiver = await new LogoutReceiver().up();
    const uri = receiver.uri;
    receiver.answers = ['hang'];
    const transport = new HttpLogoutTransport({ production: false, allowedHosts: [] });
    const controller = new AbortController();
    const pending = transport.post(uri, 't', controller.signal);
    await receiver.waitFor(1);
    controller.abort();
    await expect(pending).rejects.toBeDefined();
    await receiver.down();
    expect(await transport.post(uri, 't', never)).toEqual({ error: 'ECONNREFUSED', retryable: true });
  });

  it('in production never connects to a host that resolves to a loopback address, nor to a private IP literal', async () => {
    const listener = await countingListener();
    try {
      const transport = new HttpLogoutTransport(PRODUCTION);
      // localhost is resolved inside the connection's own lookup: refused there, so no connection is made.
      expect(await transport.post(`https://localhost:${listener.port}/logout`, 't', never)).toEqual({ error: expect.stringMatching(/destination refused/), retryable: false });
      expect(await transport.post(`https://127.0.0.1:${listener.port}/logout`, 't', never)).toEqual({ error: expect.stringMatching(/destination refused/), retryable: false });
      expect(await transport.post(`http://localhost:${listener.port}/logout`, 't', never)).toEqual({ error: expect.stringMatching(/https/), retryable: false });
      expect(listener.connections()).toBe(0);
      // Allow-listed, the same host is connected to (here the TLS handshake then fails, which is retryable).
      const allowed = new HttpLogoutTransport({ production: true, allowedHosts: ['localhost'] });
      expect(await allowed.post(`https://localhost:${listener.port}/logout`, 't', never)).toMatchObject({ retryable: true });
      expect(listener.connections()).toBe(1);
    } finally {
      await new Promise((resolve) => listener.server.close(resolve));
    }
  });
});
