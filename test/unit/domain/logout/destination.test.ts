import { checkDestination, isPublicAddress, refusedAddresses, uriProblem } from '../../../../src/domain/logout/destination.js';
import { ValidationError } from '../../../../src/domain/errors.js';

const PRODUCTION = { production: true, allowedHosts: ['logout.internal'] };
const DEVELOPMENT = { production: false, allowedHosts: [] };

describe('the back-channel logout SSRF rule', () => {
  it.each([
    '127.0.0.1', '127.8.9.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '224.0.0.1', '255.255.255.255', '198.18.0.1', '::1', '::', 'fe80::1', 'fd00::1', 'fc12:3456::1', 'ff02::1', '::ffff:127.0.0.1',
    '::ffff:10.0.0.1', '64:ff9b::a00:1', '2001:db8::1', 'not-an-ip', '1.2.3', '::ffff:999.1.1.1',
    // 6to4 of loopback, private, link-local (the metadata address), this network and CGNAT addresses.
    '2002:7f00:1::', '2002:a00:1::1', '2002:c0a8:101::', '2002:a9fe:a9fe::1', '2002::', '2002:6440:1::',
    // The rest of IANA's special-purpose registries: the deprecated 6to4 relay anycast (also inside 6to4 and NAT64),
    // the ends of CGNAT, benchmarking and reserved, IETF protocol assignments, documentation, NAT64 local use, discard,
    // Teredo, the IPv6 documentation prefix of RFC 9637, and SRv6 SIDs.
    '192.88.99.1', '192.88.99.255', '2002:c058:6301::', '64:ff9b::192.88.99.1', '100.127.255.255', '198.19.255.254',
    '240.0.0.1', '192.0.0.9', '64:ff9b:1::a00:1', '100::1', '2001::1', '2001:1ff::1', '3fff::1', '3fff:fff:ffff::1',
    '5f00::1', '::ffff:192.88.99.1',
  ])('%s is not public', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8', '2002:5db8:d822::1',
    // Next to the refused ranges: 192.88.98.x and 192.88.100.x, 100.128/10, 198.20/16, 3fff:1000::.
    '192.88.98.1', '192.88.100.1', '100.128.0.1', '198.20.0.1', '3fff:1000::1'])('%s is public', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });

  it('in production refuses every non-public address unless the host is allow-listed', () => {
    expect(refusedAddresses('app.example.com', ['93.184.216.34', '10.0.0.7'], PRODUCTION)).toEqual(['10.0.0.7']);
    expect(refusedAddresses('app.example.com', ['93.184.216.34'], PRODUCTION)).toEqual([]);
    expect(refusedAddresses('app.example.com', [], PRODUCTION)).toHaveLength(1);
    expect(refusedAddresses('LOGOUT.internal', ['10.0.0.7'], PRODUCTION)).toEqual([]);
    expect(refusedAddresses('localhost', ['127.0.0.1'], DEVELOPMENT)).toEqual([]);
  });

  it('wants https in production; development allows http://localhost', () => {
    expect(uriProblem('http://app.example.com/logout', PRODUCTION)).toMatch(/https/);
    expect(uriProblem('https://app.example.com/logout', PRODUCTION)).toBeNull();
    expect(uriProblem('http://localhost:8080/logout', DEVELOPMENT)).toBeNull();
    expect(uriProblem('ftp://app.example.com/logout', DEVELOPMENT)).toMatch(/https/);
    expect(uriProblem('https://user:pw@app.example.com/logout', PRODUCTION)).toMatch(/credentials/);
  });

  it('checks a URI with the injected resolver', async () => {
    const resolve = async (host: string) => ({ 'app.example.com': ['93.184.216.34'], 'sneaky.example.com': ['93.184.216.34', '192.168.0.10'], 'logout.internal': ['10.0.0.7'] })[host] ?? [];
    await expect(checkDestination('https://app.example.com/logout', PRODUCTION, resolve)).resolves.toBeUndefined();
    await expect(checkDestination('https://logout.internal/bc', PRODUCTION, resolve)).resolves.toBeUndefined();
    await expect(checkDestination('https://sneaky.example.com/logout', PRODUCTION, resolve)).rejects.toBeInstanceOf(ValidationError);
    await expect(checkDestination('https://10.0.0.1/logout', PRODUCTION, resolve)).rejects.toThrow(/private/);
    await expect(checkDestination('https://[::1]/logout', PRODUCTION, resolve)).rejects.toThrow(/private/);
    await expect(checkDestination('https://nowhere.example.com/logout', PRODUCTION, async () => { throw new Error('ENOTFOUND'); })).rejects.toThrow(/cannot be resolved/);
    await expect(checkDestination('http://127.0.0.1:9/logout', DEVELOPMENT, resolve)).resolves.toBeUndefined();
  });
});
