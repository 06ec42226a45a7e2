import { describe, expect, it } from 'vitest';
import { clientAddress, createMissCounter } from './auth-misses.js';

describe('createMissCounter', () => {
  it('blocks an address for the rest of its minute once it reaches perMin misses, and lets it try again after', () => {
    let clock = 0;
    const misses = createMissCounter({ perMin: 2, now: () => clock });
    misses.miss('a');
    expect(misses.blockedFor('a')).toBe(0);
    clock = 10_000;
    misses.miss('a');
    expect(misses.blockedFor('a')).toBe(50_000);
    expect(misses.blockedFor('b')).toBe(0);
    clock = 60_000;
    expect(misses.blockedFor('a')).toBe(0);
    misses.miss('a');
    expect(misses.blockedFor('a')).toBe(0);
  });

  it('tracks at most maxAddresses, forgetting the oldest windows first', () => {
    let clock = 0;
    const misses = createMissCounter({ perMin: 1, now: () => clock, maxAddresses: 3 });
    for (const address of ['a', 'b', 'c', 'd']) {
      misses.miss(address);
      clock++;
    }
    expect(misses.blockedFor('a')).toBe(0);
    expect(['b', 'c', 'd'].map((x) => misses.blockedFor(x) > 0)).toEqual([true, true, true]);
  });
});

describe('clientAddress', () => {
  it('counts IPv4 as it is, IPv4-mapped IPv6 as its IPv4, and IPv6 by its /64 however it is written', () => {
    expect(clientAddress('10.0.0.1')).toBe('10.0.0.1');
    expect(clientAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientAddress('0:0:0:0:0:FFFF:10.0.0.1')).toBe('10.0.0.1');
    for (const ip of ['2001:db8:1:2::7', '2001:0DB8:0001:0002:0000:0000:0000:0007', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::1.2.3.4']) {
      expect(clientAddress(ip), ip).toBe('2001:db8:1:2::/64');
    }
    expect(clientAddress('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(clientAddress('2001:db8:1:3::7')).toBe('2001:db8:1:3::/64');
    expect(clientAddress('::1')).toBe('0:0:0:0::/64');
    expect(clientAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientAddress('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });
});
