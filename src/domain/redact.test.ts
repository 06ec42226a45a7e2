import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact.js';

const token = 'sbt_' + 'A'.repeat(20) + 'secretPart_-' + 'z'.repeat(11);

describe('redactUrl', () => {
  it('cuts the ingest token in the path to its first 8 characters', () => {
    expect(redactUrl(`/hooks/convolo/${token}`)).toBe('/hooks/convolo/sbt_AAAA…');
  });

  it('keeps what follows the token: query and fragment', () => {
    expect(redactUrl(`/hooks/convolo/${token}?debug=1#x`)).toBe('/hooks/convolo/sbt_AAAA…?debug=1#x');
    expect(redactUrl(`/hooks/convolo/${token}/extra`)).toBe('/hooks/convolo/sbt_AAAA…/extra');
  });

  it('cuts a token anywhere the path has /hooks/convolo/, absolute URLs included', () => {
    expect(redactUrl(`https://sb.example.com/hooks/convolo/${token}`)).toBe('https://sb.example.com/hooks/convolo/sbt_AAAA…');
  });

  it('marks even a short token as cut', () => {
    expect(redactUrl('/hooks/convolo/abc')).toBe('/hooks/convolo/abc…');
  });

  it("cuts a setup or invitation link's token (token, invite), which has no prefix of ours", () => {
    const oneTime = 'rl6wpUzEJMp9iFvcJaf955OTTNVbqSh1lv0hWBRG4_s';
    expect(redactUrl(`/v1/auth/setup?token=${oneTime}`)).toBe('/v1/auth/setup?token=rl6wpUzE…');
    expect(redactUrl(`/v1/auth/invitation?x=1&token=${oneTime}`)).toBe('/v1/auth/invitation?x=1&token=rl6wpUzE…');
    expect(redactUrl(`/setup?invite=${oneTime}`)).toBe('/setup?invite=rl6wpUzE…');
  });

  it('cuts an access_token query parameter, first or later in the query', () => {
    const key = 'sbk_' + 'K'.repeat(4) + 'topsecret'.repeat(4);
    expect(redactUrl(`/v1/calls?access_token=${key}`)).toBe('/v1/calls?access_token=sbk_KKKK…');
    expect(redactUrl(`/v1/calls?limit=5&access_token=${key}&after=2`)).toBe('/v1/calls?limit=5&access_token=sbk_KKKK…&after=2');
    expect(redactUrl(`/v1/calls?access_token=${key}#frag`)).toBe('/v1/calls?access_token=sbk_KKKK…#frag');
  });

  it('cuts both the path token and the access_token of one URL', () => {
    const redacted = redactUrl(`/hooks/convolo/${token}?access_token=sbk_0123456789abcdef`);
    expect(redacted).toBe('/hooks/convolo/sbt_AAAA…?access_token=sbk_0123…');
    expect(redacted).not.toContain('secretPart');
    expect(redacted).not.toContain('456789');
  });

  it('leaves other URLs and parameters alone', () => {
    for (const url of ['/v1/calls/abc?limit=10', '/healthz', '/v1/events?my_access_token=x&my_token=abcdefghijkl']) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it('cuts our secrets wherever they appear, and the token of any /hooks/<provider>/ path', () => {
    expect(redactUrl('/hooks/other/sbt_abcdefghijkl')).toBe('/hooks/other/sbt_abcd…');
    expect(redactUrl('/v1/keys/sbk_abcdefghijkl')).toBe('/v1/keys/sbk_abcd…');
    expect(redactUrl('/v1/calls?note=sbk_abcdefghijkl')).toBe('/v1/calls?note=sbk_abcd…');
  });

  it('cuts every access_token of a query, not only the first', () => {
    expect(redactUrl('/v1/calls?access_token=sbk_decoy&access_token=sbk_REALSECRETVALUE')).not.toContain('REALSECRETVALUE');
  });

  it('cuts an access_token whose name is percent-encoded', () => {
    expect(new URLSearchParams('access%5Ftoken=x').has('access_token')).toBe(true);
    expect(redactUrl('/v1/calls?access%5Ftoken=sbk_REALSECRETVALUE')).not.toContain('REALSECRETVALUE');
  });

  it('cuts the token when the route path is percent-encoded (Fastify still routes /hooks/%63onvolo/<token> to ingest)', () => {
    expect(redactUrl('/hooks/%63onvolo/REALSECRETVALUEREALSECRETVALUE')).not.toContain('REALSECRETVALUE');
  });

  it('keeps only the last 2 characters of query values that may hold a phone number', () => {
    expect(redactUrl('/v1/calls?phone=%2B46701234567&limit=5')).toBe('/v1/calls?phone=…67&limit=5');
    expect(redactUrl('/v1/calls?q=46701234567')).toBe('/v1/calls?q=…67');
    expect(redactUrl('/v1/calls?q=Ada+Lovelace')).toBe('/v1/calls?q=…ce');
    expect(redactUrl('/v1/calls?phone=7')).toBe('/v1/calls?phone=…7');
  });
});
