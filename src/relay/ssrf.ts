import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { redactUrlCredentials } from '../domain/redact.js';

/**
 * The SSRF guard for destination URLs (SPEC: "a destination whose address resolves to loopback, private,
 * link-local or metadata ranges is refused, checked at creation and again at send time"). Without it,
 * anyone allowed to add a destination could make the server POST to its own admin ports, the database
 * or the cloud metadata service (169.254.169.254) and read the answer back in the delivery log.
 *
 * The rule is an allow-list: only addresses ipaddr.js calls `unicast` (no special range) pass, after an
 * IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as the IPv4 it carries. Ranges that only wrap
 * other addresses (NAT64, 6to4, Teredo) are refused with the rest rather than unwrapped: nobody needs
 * a webhook delivered through them, and unwrapping each is where guards grow holes.
 */

/** Why a destination was refused, for code; the error's message says it for people. */
export type RefusalReason = 'invalid_url' | 'too_long' | 'scheme' | 'credentials' | 'unresolvable' | 'forbidden_address' | 'forbidden_port';

/** A destination URL, or an address it resolves to, that the server must not send to. */
export class DestinationRefused extends Error {
  override readonly name = 'DestinationRefused';
  /** Set so that socket-level handlers that only look at `code` (undici, Node) can still tell it apart. */
  readonly code = 'ESSRF';

  /** @param port the refused port, for `forbidden_port` */
  constructor(readonly reason: RefusalReason, message: string, readonly port?: number) {
    super(message);
  }
}

/**
 * The port rule (as Svix and Stripe apply to webhook URLs): 80 and 443, or any port from 1024 up except
 * those of the internal services an SSRF aims at. Below 1024 lie SSH, SMTP, LDAP, SMB and the like, never
 * a webhook receiver; the services below are the ones found listening on a host's public address too often
 * (a database bound to 0.0.0.0) for a public IP to be proof enough. Lifted with the address rule by
 * SWITCHBOARD_ALLOW_PRIVATE_DESTINATIONS, since local receivers listen on any port.
 */
const servicePorts: ReadonlyMap<number, string> = new Map([
  [1080, 'SOCKS proxy'], [1433, 'SQL Server'], [1521, 'Oracle'], [2049, 'NFS'], [2181, 'ZooKeeper'],
  [2375, 'Docker'], [2376, 'Docker'], [2379, 'etcd'], [2380, 'etcd'], [3306, 'MySQL'], [3389, 'RDP'],
  [4369, 'Erlang port mapper'], [5432, 'PostgreSQL'], [5672, 'AMQP'], [5984, 'CouchDB'], [6379, 'Redis'],
  [6443, 'Kubernetes API'], [8086, 'InfluxDB'], [8500, 'Consul'], [9042, 'Cassandra'], [9092, 'Kafka'],
  [9200, 'Elasticsearch'], [9300, 'Elasticsearch'], [10250, 'kubelet'], [11211, 'memcached'],
  [15672, 'RabbitMQ management'], [26379, 'Redis Sentinel'], [27017, 'MongoDB'],
]);

/**
 * The URL's port when the port rule refuses it (with the service usually found there), else null. The
 * port is the effective one: a URL without a port uses its scheme's (80, 443).
 *
 * @example
 * forbiddenPort(new URL('http://1.1.1.1:6379/')); // { port: 6379, service: 'Redis' }
 * forbiddenPort(new URL('https://hooks.example.com:8443/')); // null
 */
export function forbiddenPort(url: URL): { port: number; service: string | null } | null {
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if (port === 80 || port === 443) return null;
  if (port >= 1024 && !servicePorts.has(port)) return null;
  return { port, service: servicePorts.get(port) ?? null };
}

/** Throws DestinationRefused (`forbidden_port`) when the port rule refuses the URL's port. */
export function assertAllowedPort(url: URL): void {
  const refused = forbiddenPort(url);
  if (refused === null) return;
  throw new DestinationRefused(
    'forbidden_port',
    `${shown(url)} uses port ${refused.port}${refused.service === null ? '' : ` (${refused.service})`}: a destination may use 80, 443 or a port from 1024 up that is not an internal service's`,
    refused.port,
  );
}

export const maxUrlLength = 2048;

const metadataAddress = '169.254.169.254';
// The words for the special ranges a receiver is likely to hit; others fall back to ipaddr.js's name.
const rangeWords: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique-local address',
  unspecified: 'an unspecified address',
  carrierGradeNat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  rfc6052: 'a NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
};
// Every IPv6 unicast address the IANA has handed out for the public internet lies in 2000::/3; what
// ipaddr.js leaves as `unicast` outside it (IPv4-compatible ::a.b.c.d, unassigned space) is not.
const globalUnicastV6 = ipaddr.parseCIDR('2000::/3');

/**
 * What is wrong with sending to `ip`, as words that complete "resolves to 10.0.0.5, …"; null when it is
 * a public unicast address. Anything that is not a valid IP address is refused too: a guard that cannot
 * read an address must not let it through.
 */
function forbiddenBecause(ip: string): string | null {
  if (net.isIP(ip) === 0) return 'not an IP address';
  const address = ipaddr.process(ip); // unwraps IPv4-mapped IPv6
  const range = address.range();
  if (range !== 'unicast') {
    if (address.toString() === metadataAddress) return 'the cloud metadata address';
    return rangeWords[range] ?? `a non-public address (${range})`;
  }
  if (address.kind() === 'ipv6' && !address.match(globalUnicastV6)) return 'a non-global IPv6 address';
  return null;
}

/**
 * Whether the server must refuse to connect to `ip`: true for every address that is not public unicast
 * (loopback, private, link-local, unique-local, CGNAT, multicast, reserved, …), including those
 * written as IPv4-mapped IPv6, and for any string that is not an IP address.
 *
 * @example
 * isForbiddenAddress('10.1.2.3');          // true
 * isForbiddenAddress('::ffff:127.0.0.1');  // true
 * isForbiddenAddress('93.184.216.34');     // false
 */
export function isForbiddenAddress(ip: string): boolean {
  return forbiddenBecause(ip) !== null;
}

/**
 * Throws DestinationRefused when `ip` is forbidden; `subject` is what the message says resolved to it.
 *
 * @example
 * assertAllowedAddress('"http://10.0.0.5/hook"', '10.0.0.5');
 * // throws: "http://10.0.0.5/hook" resolves to 10.0.0.5, a private address
 */
export function assertAllowedAddress(subject: string, ip: string): void {
  const because = forbiddenBecause(ip);
  if (because !== null) throw new DestinationRefused('forbidden_address', `${subject} resolves to ${ip}, ${because}`);
}

/**
 * The host of a parsed URL when it is an IP literal (brackets of IPv6 removed), else null. It matters
 * because Node connects to a literal without calling `lookup`, so literals must be checked up front.
 *
 * @example
 * literalHost(new URL('http://[::1]:8080/')); // '::1'
 * literalHost(new URL('https://example.com/')); // null
 */
export function literalHost(url: URL): string | null {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return net.isIP(host) === 0 ? null : host;
}

/**
 * The URL as messages may show it: without its query's values, userinfo and credential-like path segments (a refusal at send time is
 * stored as the delivery's error, which a viewer reads: domain/redact.ts), and shortened, so a 2 KiB URL does
 * not swamp a log line.
 */
export function shown(url: URL): string {
  const safe = redactUrlCredentials(url.href);
  return JSON.stringify(safe.length > 200 ? `${safe.slice(0, 200)}…` : safe);
}

/**
 * The checks a destination URL must pass when it is created or changed: it parses, is http or https,
 * carries no username or password (they would be stored and shown in clear), is at most 2048
 * characters and — unless private destinations are allowed — its port passes the port rule and every
 * address its host resolves to is public. Every address, not one: the connection may go to any of them. Throws DestinationRefused.
 *
 * This is not enough alone (DNS can change after creation): the sender connects through
 * `guardedLookup`, which checks the address actually connected to.
 *
 * @example
 * await checkDestinationUrl('https://hooks.example.com/switchboard', { allowPrivate: false });
 * await checkDestinationUrl('http://10.0.0.5/hook', { allowPrivate: false });
 * // throws: "http://10.0.0.5/hook" resolves to 10.0.0.5, a private address
 */
export async function checkDestinationUrl(
  url: string,
  options: { allowPrivate: boolean; lookup?: typeof dns.promises.lookup },
): Promise<void> {
  // Length first: the URL is not echoed in these two messages, as it could hold credentials.
  if (url.length > maxUrlLength) throw new DestinationRefused('too_long', `the URL is longer than ${maxUrlLength} characters`);
  if (!URL.canParse(url)) throw new DestinationRefused('invalid_url', 'not a valid absolute URL');
  const parsed = new URL(url);
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = '';
    parsed.password = '';
    throw new DestinationRefused('credentials', `${shown(parsed)} must not carry a username or password; use a header instead`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new DestinationRefused('scheme', `${shown(parsed)} must use http or https, not ${parsed.protocol.slice(0, -1)}`);
  }
  if (options.allowPrivate) return;
  assertAllowedPort(parsed);

  const literal = literalHost(parsed);
  if (literal !== null) return assertAllowedAddress(shown(parsed), literal);
  const lookup = options.lookup ?? dns.promises.lookup;
  let addresses: dns.LookupAddress[];
  try {
    addresses = await lookup(parsed.hostname, { all: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'lookup failed';
    throw new DestinationRefused('unresolvable', `${shown(parsed)} does not resolve (${code})`);
  }
  if (addresses.length === 0) throw new DestinationRefused('unresolvable', `${shown(parsed)} does not resolve (no address)`);
  for (const { address } of addresses) assertAllowedAddress(shown(parsed), address);
}

/** The callback form of `dns.lookup` asked for every address, as the guard calls it. */
export type LookupAll = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

/**
 * A `lookup` for `net.connect` (and so undici's `connect: { lookup }`) that refuses forbidden addresses.
 * Checking the address at connect time is what defeats DNS rebinding: a name that resolved to a public
 * address when the destination was created and to 127.0.0.1 now is caught on the address the socket
 * would really use. It fails with a DestinationRefused (code `ESSRF`) when ANY address the name
 * resolves to is forbidden, as a socket may try each of them (Happy Eyeballs).
 *
 * Node calls it as `lookup(host, { family, hints, all? }, callback)` and expects `(err, address, family)`
 * back, or `(err, addresses)` with `all: true`; both are supported.
 *
 * @param allowPrivate true to resolve without checking (SWITCHBOARD_ALLOW_PRIVATE_DESTINATIONS)
 * @param lookup the resolver underneath, `dns.lookup` unless a test fakes DNS
 * @example
 * new Agent({ connect: { lookup: guardedLookup(false) } });
 */
export function guardedLookup(allowPrivate: boolean, lookup: LookupAll = dns.lookup): net.LookupFunction {
  return (hostname, options, callback) => {
    // dns.lookup also accepts (host, family, cb) and (host, cb); honour them though net uses an object.
    if (typeof options === 'function') [callback, options] = [options, {}];
    const opts: dns.LookupOptions = typeof options === 'number' ? { family: options } : (options ?? {});
    lookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      try {
        if (addresses.length === 0) throw new DestinationRefused('unresolvable', `${hostname} does not resolve (no address)`);
        if (!allowPrivate) for (const { address } of addresses) assertAllowedAddress(hostname, address);
      } catch (refusal) {
        return callback(refusal as DestinationRefused, '');
      }
      if (opts.all) return callback(null, addresses);
      const [first] = addresses as [dns.LookupAddress];
      callback(null, first.address, first.family);
    });
  };
}
