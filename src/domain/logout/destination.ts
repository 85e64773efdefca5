import { ValidationError, type ErrorReason } from '../errors.js';

/** Where back-channel logout may be sent (the SSRF guard). */
export interface DestinationPolicy {
  /** In production: https only, and only public addresses unless the host is allow-listed. */
  readonly production: boolean;
  /** Host names (or IP literals) allowed to resolve to loopback, link-local or private addresses. Lower case. */
  readonly allowedHosts: readonly string[];
}

/** Resolves a host name to every address it has (the DNS port). */
export type ResolveHost = (host: string) => Promise<string[]>;

function ipv4Value(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

// Not globally routable IPv4 ranges (IANA's IPv4 special-purpose registry, RFC 6890 and friends): this network,
// private, shared (CGNAT), loopback, link-local, IETF protocol assignments, documentation, the deprecated 6to4 relay
// anycast (RFC 7526: whoever is nearest answers it), benchmarking, multicast, reserved, broadcast. The registry's
// globally reachable anycast entries (AS112, AMT) are no logout receivers but are public, so they are left alone.
const IPV4_BLOCKED: readonly [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];

function ipv4Public(value: number): boolean {
  return !IPV4_BLOCKED.some(([base, bits]) => Math.floor(value / 2 ** (32 - bits)) === Math.floor(ipv4Value(base)! / 2 ** (32 - bits)));
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const embedded = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (embedded) {
    const v4 = ipv4Value(embedded[2]!);
    if (v4 === undefined) return undefined;
    text = `${embedded[1]}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (half: string) => (half === '' ? [] : half.split(':'));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if ([...head, ...tail].some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  return [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail].map((g) => parseInt(g, 16));
}

function ipv6Public(groups: number[]): boolean {
  const [a] = groups as [number];
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address at the end: judge that one.
  const v4 = groups[6]! * 65536 + groups[7]!;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return ipv4Public(v4);
  if (a === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) return ipv4Public(v4);
  // 6to4 (2002::/16, RFC 3056) carries an IPv4 address in its second and third groups: 2002:0a00:0001:: is 10.0.0.1.
  if (a === 0x2002) return ipv4Public(groups[1]! * 65536 + groups[2]!);
  // Global unicast is 2000::/3; within it, documentation (2001:db8::/32, 3fff::/20 of RFC 9637) and the IETF protocol
  // assignments of 2001::/23 (Teredo, benchmarking, ORCHID) are not reachable.
  if (a < 0x2000 || a > 0x3fff) return false;
  if (a === 0x2001 && groups[1] === 0x0db8) return false;
  if (a === 0x3fff && groups[1]! < 0x1000) return false;
  if (a === 0x2001 && groups[1]! < 0x0200) return false;
  return true;
}

/** True for a globally routable unicast address; false for loopback, link-local, private, reserved or not an IP. */
export function isPublicAddress(ip: string): boolean {
  const v4 = ipv4Value(ip);
  if (v4 !== undefined) return ipv4Public(v4);
  const groups = ipv6Groups(ip);
  return groups ? ipv6Public(groups) : false;
}

/** The host of a URL as DNS and the allow-list see it: lower case, IPv6 without brackets. */
export function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
}

/** A host given as an IP address literal needs no resolution. */
export function isIpLiteral(host: string): boolean {
  return ipv4Value(host) !== undefined || ipv6Groups(host) !== undefined;
}

type UriProblem = { readonly message: string; readonly reason: ErrorReason };

function problemOf(uri: string, policy: DestinationPolicy): UriProblem | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { message: `${uri} is not an absolute URL`, reason: { code: 'url_not_absolute', value: uri } };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { message: `${uri} must use https`, reason: { code: 'url_not_https', value: uri } };
  if (policy.production && url.protocol !== 'https:') {
    return { message: `${uri} must use https in production`, reason: { code: 'url_not_https', value: uri, production: true } };
  }
  if (url.username || url.password) return { message: `${uri} must not contain credentials`, reason: { code: 'url_credentials', value: uri } };
  if (url.hash) return { message: `${uri} must not contain a fragment`, reason: { code: 'url_fragment', value: uri } };
  return null;
}

/** Why this URL may never be a back-channel logout destination (scheme, credentials), or null. */
export function uriProblem(uri: string, policy: DestinationPolicy): string | null {
  return problemOf(uri, policy)?.message ?? null;
}

/**
 * The addresses of `host` that a back-channel logout may not be sent to: outside production none; in production
 * every non-public one, unless the host is allow-listed. An empty list of addresses (no resolution) is refused too.
 */
export function refusedAddresses(host: string, addresses: readonly string[], policy: DestinationPolicy): string[] {
  if (!policy.production || policy.allowedHosts.includes(host.toLowerCase())) return [];
  if (addresses.length === 0) return ['(no address)'];
  return addresses.filter((address) => !isPublicAddress(address));
}

/** Checks a back-channel logout URI against the policy, resolving its host; throws ValidationError. */
export async function checkDestination(uri: string, policy: DestinationPolicy, resolve: ResolveHost, field = 'backchannel-logout-uri'): Promise<void> {
  const problem = problemOf(uri, policy);
  if (problem) throw new ValidationError(`${problem.message}.`, { field, reason: problem.reason });
  if (!policy.production) return;
  const host = hostOf(new URL(uri));
  let addresses: string[];
  try {
    addresses = isIpLiteral(host) ? [host] : await resolve(host);
  } catch {
    throw new ValidationError(`${uri}: the host ${host} cannot be resolved.`, { field, reason: { code: 'host_unresolvable', uri, host } });
  }
  if (refusedAddresses(host, addresses, policy).length > 0) {
    throw new ValidationError(
      `${uri} resolves to a loopback, link-local or private address; back-channel logout goes to public addresses only (allow this host with BACKCHANNEL_ALLOWED_HOSTS).`,
      { field, reason: { code: 'destination_private', uri } },
    );
  }
}
