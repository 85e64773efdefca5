import { lookup } from 'node:dns/promises';

/** Every address a host name resolves to (the system resolver, as connections use it). */
export async function resolveAllAddresses(host: string): Promise<string[]> {
  const addresses = await lookup(host, { all: true, verbatim: true });
  return addresses.map((a) => a.address);
}
