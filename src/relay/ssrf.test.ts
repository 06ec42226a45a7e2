import type dns from 'node:dns';
import net from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkDestinationUrl, DestinationRefused, forbiddenPort, guardedLookup, isForbiddenAddress, literalHost, type LookupAll } from './ssrf.js';

// There is no network in the test environment: names other than localhost resolve through these fakes.
const resolvesTo = (...ips: string[]) =>
  (async () => ips.map((address) => ({ address, family: net.isIP(address) }))) as unknown as typeof dns.promises.lookup;
const fakeLookupAll = (...ips: string[]): LookupAll => (_host, _options, callback) =>
  setImmediate(() => callback(null, ips.map((address) => ({ address, family: net.isIP(address) }))));

async function refusal(promise: Promise<unknown>): Promise<DestinationRefused> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(DestinationRefused);
  return err as DestinationRefused;
}

const forbidden = [
  '127.0.0.1', '127.255.255.254', '::1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
  'fd00::1', 'fc00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '0.0.0.0', '::', '100.64.0.1',
  '224.0.0.1', 'ff02::1', '255.255.255.255', '192.0.2.1', '240.0.0.1', '::7f00:1' /* IPv4-compatible */,
  '64:ff9b::a00:1' /* NAT64 of 10.0.0.1 */, '2002:7f00:1::1' /* 6to4 of 127.0.0.1 */, '2001:db8::1', 'fe80::1%eth0',
];
const allowed = ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '2001:4860:4860::8888', '::ffff:93.184.216.34', '172.32.0.1', '100.128.0.1'];

describe('isForbiddenAddress', () => {
  it.each(forbidden)('forbids %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each(allowed)('allows the public address %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });

  it('forbids whatever is not an IP address rather than guessing (legacy forms, names, empty)', () => {
    for (const text of ['127.1', '2130706433', '0x7f.0.0.1', 'localhost', '', '[::1]']) expect(isForbiddenAddress(text), text).toBe(true);
  });
});

describe('literalHost', () => {
  it('returns IP literals without brackets, in the normal form the URL parser gives them', () => {
    expect(literalHost(new URL('http://[::1]:8080/x'))).toBe('::1');
    expect(literalHost(new URL('http://2130706433/'))).toBe('127.0.0.1');
    expect(literalHost(new URL('http://0x7f.1/'))).toBe('127.0.0.1');
    expect(literalHost(new URL('https://example.com/'))).toBeNull();
  });
});

describe('checkDestinationUrl', () => {
  const strict = { allowPrivate: false, lookup: resolvesTo('93.184.216.34') };

  it.each([
    'http://127.0.0.1/hook', 'http://[::1]/hook', 'http://10.1.2.3/hook', 'http://172.16.0.1/', 'http://172.31.255.255/',
    'http://192.168.1.1/', 'http://169.254.169.254/latest/meta-data/', 'http://[fd00::1]/', 'http://[fe80::1]/',
    'http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/', 'http://0.0.0.0/', 'http://100.64.0.1/',
    'http://2130706433/', 'http://0x7f.1/', 'http://127.1/',
  ])('refuses the IP literal in %s', async (url) => {
    expect((await refusal(checkDestinationUrl(url, strict))).reason).toBe('forbidden_address');
  });

  it('names the URL, the address and its kind in the message', async () => {
    expect((await refusal(checkDestinationUrl('http://10.0.0.5/hook', strict))).message)
      .toBe('"http://10.0.0.5/hook" resolves to 10.0.0.5, a private address');
    expect((await refusal(checkDestinationUrl('http://169.254.169.254/', strict))).message).toContain('the cloud metadata address');
  });

  it('refuses localhost, which really resolves to loopback', async () => {
    const err = await refusal(checkDestinationUrl('http://localhost:8080/hook', { allowPrivate: false }));
    expect(err.message).toMatch(/^"http:\/\/localhost:8080\/hook" resolves to (127\.0\.0\.1|::1), a loopback address$/);
  });

  it('refuses a name that resolves to a private address', async () => {
    const err = await refusal(checkDestinationUrl('https://internal.example/hook', { allowPrivate: false, lookup: resolvesTo('10.0.0.1') }));
    expect(err.message).toBe('"https://internal.example/hook" resolves to 10.0.0.1, a private address');
  });

  it('refuses a name when any one of its addresses is forbidden, since the socket may use any', async () => {
    const lookup = resolvesTo('93.184.216.34', '127.0.0.1');
    expect((await refusal(checkDestinationUrl('https://mixed.example/', { allowPrivate: false, lookup }))).reason).toBe('forbidden_address');
  });

  it('refuses a name that does not resolve', async () => {
    const lookup = (async () => { throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }); }) as unknown as typeof dns.promises.lookup;
    const err = await refusal(checkDestinationUrl('https://nowhere.example/', { allowPrivate: false, lookup }));
    expect([err.reason, err.message]).toEqual(['unresolvable', '"https://nowhere.example/" does not resolve (ENOTFOUND)']);
    expect((await refusal(checkDestinationUrl('https://empty.example/', { allowPrivate: false, lookup: resolvesTo() }))).reason).toBe('unresolvable');
  });

  it('allows public addresses, literal or resolved', async () => {
    await checkDestinationUrl('https://93.184.216.34/hook', strict);
    await checkDestinationUrl('https://[2606:4700::1111]/hook', strict);
    await checkDestinationUrl('https://hooks.example.com/hook', { allowPrivate: false, lookup: resolvesTo('93.184.216.34', '2606:4700::1111') });
  });

  it('with allowPrivate, accepts private and loopback destinations without resolving them', async () => {
    const lookup = (async () => { throw new Error('must not resolve'); }) as unknown as typeof dns.promises.lookup;
    await checkDestinationUrl('http://127.0.0.1:8080/hook', { allowPrivate: true, lookup });
    await checkDestinationUrl('http://localhost/hook', { allowPrivate: true, lookup });
    await checkDestinationUrl('http://internal.example/hook', { allowPrivate: true, lookup });
  });

  it.each(['ftp://example.com/x', 'file:///etc/passwd', 'gopher://example.com/', 'javascript:alert(1)', 'ws://example.com/'])(
    'refuses the scheme of %s, even with allowPrivate',
    async (url) => {
      expect((await refusal(checkDestinationUrl(url, { allowPrivate: true }))).reason).toBe('scheme');
    },
  );

  it('refuses credentials in the URL, without repeating them in the message', async () => {
    for (const url of ['https://alice:s3cret@hooks.example.com/x', 'https://s3cret@hooks.example.com/x']) {
      const err = await refusal(checkDestinationUrl(url, { allowPrivate: true }));
      expect(err.reason).toBe('credentials');
      expect(err.message).not.toContain('s3cret');
      expect(err.message).toContain('"https://hooks.example.com/x"');
    }
  });

  it('refuses what does not parse as an absolute URL, and a URL over 2048 characters, without echoing it', async () => {
    for (const url of ['hooks.example.com/x', '/relative', 'http://', '']) {
      expect((await refusal(checkDestinationUrl(url, { allowPrivate: true }))).reason, url).toBe('invalid_url');
    }
    const long = `https://hooks.example.com/${'a'.repeat(2048)}`;
    const err = await refusal(checkDestinationUrl(long, { allowPrivate: true }));
    expect(err.reason).toBe('too_long');
    expect(err.message).not.toContain('hooks.example.com');
    await checkDestinationUrl(`https://hooks.example.com/${'a'.repeat(2048 - 26)}`, { allowPrivate: true });
  });
});

/** Calls the guard the way net.connect does, with an options object. */
function callGuard(lookup: net.LookupFunction, host: string, options: dns.LookupOptions) {
  return new Promise<{ err: NodeJS.ErrnoException | null; address: string | dns.LookupAddress[]; family?: number }>((resolve) =>
    lookup(host, options, (err, address, family) => resolve({ err, address, family })));
}

describe('guardedLookup', () => {
  it('fails with code ESSRF when the name resolves to a forbidden address', async () => {
    const { err } = await callGuard(guardedLookup(false, fakeLookupAll('10.0.0.1')), 'rebound.example', {});
    expect(err).toBeInstanceOf(DestinationRefused);
    expect(err!.code).toBe('ESSRF');
    expect(err!.message).toBe('rebound.example resolves to 10.0.0.1, a private address');
  });

  it('answers (address, family) by default and the whole list with all: true', async () => {
    const lookup = guardedLookup(false, fakeLookupAll('93.184.216.34', '2606:4700::1111'));
    expect(await callGuard(lookup, 'ok.example', { family: 0 })).toEqual({ err: null, address: '93.184.216.34', family: 4 });
    const all = await callGuard(lookup, 'ok.example', { all: true });
    expect(all.address).toEqual([{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1111', family: 6 }]);
  });

  it('passes resolver errors through unchanged', async () => {
    const failing: LookupAll = (_h, _o, cb) => cb(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }), []);
    expect((await callGuard(guardedLookup(false, failing), 'x', {})).err?.code).toBe('ENOTFOUND');
  });

  it('with allowPrivate, resolves private addresses as dns.lookup would', async () => {
    expect((await callGuard(guardedLookup(true, fakeLookupAll('10.0.0.1')), 'internal.example', {})).address).toBe('10.0.0.1');
  });

  describe('as the lookup of a real net.connect to localhost', () => {
    const server = net.createServer((socket) => socket.end());
    let port = 0;
    let connections = 0;
    server.on('connection', () => connections++);
    beforeAll(async () => {
      server.listen(0, 'localhost');
      await once(server, 'listening');
      port = (server.address() as net.AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('stops the connection before it is made', async () => {
      const socket = net.connect({ host: 'localhost', port, lookup: guardedLookup(false) });
      const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
      expect(err.code).toBe('ESSRF');
      expect(err.message).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), a loopback address$/);
      expect(connections).toBe(0);
    });

    it('connects when private destinations are allowed', async () => {
      const socket = net.connect({ host: 'localhost', port, lookup: guardedLookup(true) });
      await once(socket, 'connect');
      socket.destroy();
      await vi.waitFor(() => expect(connections).toBe(1));
    });
  });
});

describe('ports', () => {
  const strict = { allowPrivate: false, lookup: resolvesTo('93.184.216.34') };

  it.each([
    ['http://93.184.216.34:6379/', 6379], ['https://hooks.example.com:5432/', 5432], ['http://93.184.216.34:11211/', 11211],
    ['http://93.184.216.34:22/', 22], ['https://hooks.example.com:25/', 25], ['http://93.184.216.34:1/', 1], ['http://93.184.216.34:1023/', 1023],
  ])('refuses %s, naming port %i', async (url, port) => {
    const err = await refusal(checkDestinationUrl(url, strict));
    expect(err.reason).toBe('forbidden_port');
    expect(err.port).toBe(port);
    expect(err.message).toContain(`port ${port}`);
  });

  it.each(['http://93.184.216.34/', 'https://93.184.216.34/', 'http://93.184.216.34:443/', 'https://hooks.example.com:80/', 'https://93.184.216.34:8443/', 'http://93.184.216.34:3000/', 'http://93.184.216.34:65535/'])(
    'accepts %s', async (url) => {
      await checkDestinationUrl(url, strict);
    },
  );

  it('with allowPrivate, accepts any port (local development)', async () => {
    await checkDestinationUrl('http://127.0.0.1:6379/', { allowPrivate: true });
    await checkDestinationUrl('http://93.184.216.34:22/', { allowPrivate: true });
  });

  it('forbiddenPort names the effective port, the scheme default when the URL has none', () => {
    expect(forbiddenPort(new URL('http://a.example/'))).toBeNull();
    expect(forbiddenPort(new URL('https://a.example:6379/'))).toEqual({ port: 6379, service: 'Redis' });
    expect(forbiddenPort(new URL('https://a.example:21/'))).toEqual({ port: 21, service: null });
  });
});
