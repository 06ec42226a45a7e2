import { describe, expect, it } from 'vitest';
import { asText, formatDuration, formatPercent, formatPhone, formatSeconds, formatWhen, httpUrl } from '../web/src/lib/format.js';

/** The dashboard's display formats (web/src/lib/format.ts): pure functions, checked here without a browser. */
describe('dashboard formats', () => {
  it('groups phone numbers for reading and leaves anything else as it came', () => {
    expect(formatPhone('+46701234567')).toBe('+46 70 123 45 67');
    expect(formatPhone('+15551234567')).toBe('+1 555 123 4567');
    expect(formatPhone('+447700900078')).toBe('+44 77 009 00 078');
    expect(formatPhone('070-123 45 67')).toBe('070-123 45 67');
    expect(formatPhone('<b>1</b>')).toBe('<b>1</b>');
    expect(formatPhone(null)).toBe('–');
  });

  it('never rounds a rate to 100 % while some are missing, nor to 0 % while some are there', () => {
    expect([0, 0.5, 1, 0.994, 0.006].map(formatPercent)).toEqual(['0%', '50%', '100%', '99%', '1%']);
    expect(formatPercent(199 / 200)).toBe('>99%'); // one missed call of 200
    expect(formatPercent(1 / 300)).toBe('<1%'); // one answered call of 300
    expect(formatPercent(1 / 200)).toBe('1%');
    expect(formatPercent(null)).toBe('–');
  });

  it('shows durations as 2:13, and waits in the largest sensible units', () => {
    expect([0, 59, 133, 3_733].map(formatDuration)).toEqual(['0:00', '0:59', '2:13', '1:02:13']);
    expect(formatDuration(null)).toBe('–');
    expect([14, 185, 7_440, 28_585_140].map(formatSeconds)).toEqual(['14 s', '3 min 5 s', '2 h 4 min', '330 d 20 h']);
  });

  it('says recent times relatively and older ones absolutely', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(formatWhen('2026-12-02T09:59:19Z', 'UTC', now)).toBe('41 s ago');
    expect(formatWhen('2026-12-02T09:30:00Z', 'UTC', now)).toBe('30 min ago');
    expect(formatWhen('2026-12-01T09:30:00Z', 'UTC', now)).toMatch(/1/);
  });

  it('makes links only of http(s) URLs, and any JSON value text', () => {
    expect(httpUrl('https://example.com/a')).toBe('https://example.com/a');
    expect(httpUrl('http://example.com')).toBe('http://example.com/');
    for (const bad of ['javascript:alert(1)', ' JaVaScRiPt:alert(1)', 'data:text/html,x', '//evil.example', 'mailto:a@b', 42, null]) expect(httpUrl(bad)).toBeNull();
    expect(asText({ a: '<b>' })).toBe('{"a":"<b>"}');
    expect(asText(false)).toBe('false');
  });
});
