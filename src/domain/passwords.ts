import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * People's passwords, hashed with scrypt (node:crypto) and a random 16-byte salt per hash. The parameters
 * are stored with each hash (`scrypt$N$r$p$salt$hash`, salt and hash base64url), so they can be raised later
 * without invalidating the hashes already stored: a hash is always checked with its own parameters.
 * N = 2^15, r = 8, p = 1 costs 32 MiB and tens of milliseconds per hash; the work runs on libuv's thread
 * pool, never on the thread serving requests.
 */
export const passwordLimits = { minLength: 10, maxLength: 1024 } as const;

const defaults = { N: 2 ** 15, r: 8, p: 1 };
const keyLength = 32;
const saltLength = 16;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  // maxmem above 128·N·r (what scrypt needs), which node's 32 MiB default just misses at these parameters.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/**
 * @example
 * const stored = await hashPassword('correct horse battery'); // 'scrypt$32768$8$1$…$…'
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(saltLength);
  const hash = await derive(password, salt, defaults);
  return ['scrypt', defaults.N, defaults.r, defaults.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/**
 * Whether `password` matches `stored` (compared with timingSafeEqual). A malformed stored hash matches nothing.
 *
 * @example
 * await verifyPassword('correct horse battery', stored); // true
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0)) return false;
  const expected = Buffer.from(parts[5]!, 'base64url');
  const actual = await derive(password, Buffer.from(parts[4]!, 'base64url'), { N, r, p });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password, made once per process: a login for an unknown email checks its password
 * against it, so that it costs what a wrong password for a real account costs, and the answer's time does
 * not tell which emails have accounts.
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(32).toString('base64url'));
  return dummy;
}

/**
 * A password for a person, made by the CLI when none is given: 20 characters of base64url (120 bits).
 *
 * @example
 * generatePassword(); // 'Xq3v…'
 */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}
