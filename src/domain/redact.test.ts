import { describe, expect, it } from 'vitest';
import { redactUrl, redactUrlCredentials, redactUrlsIn } from './redact.js';

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

describe('redactUrlCredentials: what a caller who may not read secrets sees of a destination URL', () => {
  it("hides the secret an incoming webhook carries in its path: Slack's, Discord's, IFTTT's, a Logic App's", () => {
    expect(redactUrlCredentials('https://hooks.slack.com/services/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'))
      .toBe('https://hooks.slack.com/services/T024BE7LD/B08K1Q2M3N4/[redacted]');
    const discord = 'AbCdEf-GhIjKl_MnOpQr5tUvWxYz0123456789abcdefGHIJKLmnopQRSTuvwxYZ01234';
    expect(redactUrlCredentials(`https://discord.com/api/webhooks/1234567890123456789/${discord}`))
      .toBe('https://discord.com/api/webhooks/1234567890123456789/[redacted]');
    expect(redactUrlCredentials('https://maker.ifttt.com/trigger/call_ended/with/key/dK3f9Qm2xZp7LwR1tY6vB4')).toBe('https://maker.ifttt.com/trigger/call_ended/with/key/[redacted]');
    expect(redactUrlCredentials('https://prod-07.westeurope.logic.azure.com/workflows/0f5c2e7d9a8b4c31a6e2f4d8b7c9e1a3/triggers/manual/paths/invoke?api-version=2016-06-01&sig=Zx9'))
      .toBe('https://prod-07.westeurope.logic.azure.com/workflows/[redacted]/triggers/manual/paths/invoke?api-version=[redacted]&sig=[redacted]');
    // Percent-encoded, it is the same segment.
    expect(redactUrlCredentials('https://hooks.example.com/in/%76Q3x9Zr1Lk2Jm8Np5Tt7Wy0a/x')).toBe('https://hooks.example.com/in/[redacted]/x');
  });

  it("leaves Zapier's catch hook visible: its 7-character token is below the rule's 16 (a limit of the rule)", () => {
    expect(redactUrlCredentials('https://hooks.zapier.com/hooks/catch/1234567/3abc9xz/')).toBe('https://hooks.zapier.com/hooks/catch/1234567/3abc9xz/');
  });

  it('keeps the paths that hold no credential whole: words, versions, dates, numeric ids, long words without a digit', () => {
    for (const url of [
      'https://crm.example.com/webhooks/convolo',
      'https://crm.example.com/api/v2/calls',
      'https://crm.example.com/hooks/2024-12-01',
      'https://crm.example.com/api/webhooks/1234567890123456789/',
      'https://crm.example.com/switchboard-events-receiver/in',
      'https://crm.example.com/',
      'https://crm.example.com',
    ]) expect(redactUrlCredentials(url)).toBe(url);
  });

  it('never takes the host for a path segment', () => {
    expect(redactUrlCredentials('http://abc123def456ghi789:8080/in')).toBe('http://abc123def456ghi789:8080/in');
    expect(redactUrlCredentials('https://ann:pw@abc123def456ghi789/in')).toBe('https://[redacted]@abc123def456ghi789/in');
  });
});

describe('redactUrlsIn: the messages stored with a delivery, as read', () => {
  it('redacts every URL in a message, whatever stored it, and leaves the rest of the text', () => {
    expect(redactUrlsIn('redirect not followed (301 to https://hooks.slack.com/services/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)'))
      .toBe('redirect not followed (301 to https://hooks.slack.com/services/T024BE7LD/B08K1Q2M3N4/[redacted])');
    expect(redactUrlsIn('refused: http://ann:pw@10.0.0.7:8080/in?key=abc resolves to a private address'))
      .toBe('refused: http://[redacted]@10.0.0.7:8080/in?key=[redacted] resolves to a private address');
    expect(redactUrlsIn('HTTPS://discord.com/api/webhooks/1234567890/AbCdEf0123456789GhIjKl and "https://x.example/a?t=1"'))
      .toBe('HTTPS://discord.com/api/webhooks/1234567890/[redacted] and "https://x.example/a?t=[redacted]"');
  });

  it('is the same text again when there is nothing to hide, or it was redacted already', () => {
    for (const text of ['connect ECONNREFUSED 127.0.0.1:9', 'timed out after 15000 ms', 'https://example.com/webhooks/convolo answered 500']) {
      expect(redactUrlsIn(text)).toBe(text);
    }
    const once = redactUrlsIn('redirect not followed (302 to https://a.example/x/vQ3x9Zr1Lk2Jm8Np5Tt7Wy0a?k=v)');
    expect(redactUrlsIn(once)).toBe(once);
    expect(redactUrlsIn(null)).toBeNull();
  });
});
