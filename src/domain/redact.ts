/**
 * What of a URL may appear in logs. Secrets are cut to their first 8 characters: the token in an ingest path
 * (`/hooks/<provider>/<token>`, however the path is percent-encoded), any path segment or query value that
 * holds one of our secrets (`sbt_…`, `sbk_…`), and every `access_token`, `token` and `invite` parameter. Query values that may hold
 * a phone number (`phone`, `q`) keep only their last 2 characters (`…67`): a phone's first 8 are country and
 * area code plus most of the subscriber number, its last 2 alone tell nobody who was called. Names are
 * compared after percent-decoding, as the router and URLSearchParams see them. Pure (no I/O), so the server's
 * logs (api/errors.ts, api/server.ts) and `switchboard simulate` redact alike.
 */
const secret = /sb[tk]_/i;
/** access_token: an API key (the stream); token, invite: a setup or invitation link's one-time token (`/v1/auth/setup?token=`, `/setup?invite=`). */
const secretParams = new Set(['access_token', 'token', 'invite']);
const phoneParams = new Set(['phone', 'q']);

export function redactUrl(url: string): string {
  const { path, query, fragment } = urlParts(url);
  return redactPath(path) + (query === null ? '' : `?${redactQuery(query)}`) + fragment;
}

/**
 * A URL's text cut into what comes before its query, the query (without `?`; null when there is none) and
 * the fragment (with its `#`, or ''), as written: nothing decoded or normalised.
 *
 * @example
 * urlParts('/v1/calls?q=1#top'); // { path: '/v1/calls', query: 'q=1', fragment: '#top' }
 */
export function urlParts(url: string): { path: string; query: string | null; fragment: string } {
  const hashAt = url.indexOf('#');
  const fragment = hashAt >= 0 ? url.slice(hashAt) : '';
  const rest = hashAt >= 0 ? url.slice(0, hashAt) : url;
  const queryAt = rest.indexOf('?');
  return { path: queryAt >= 0 ? rest.slice(0, queryAt) : rest, query: queryAt >= 0 ? rest.slice(queryAt + 1) : null, fragment };
}

function redactPath(path: string): string {
  const segments = path.split('/');
  const decoded = segments.map(decode);
  const hooksAt = decoded.indexOf('hooks');
  return segments.map((s, i) => (i === hooksAt + 2 && hooksAt >= 0) || secret.test(decoded[i]!) ? cut(decoded[i]!) : s).join('/');
}

function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      const name = decode(pair.slice(0, eq).replaceAll('+', ' '));
      const value = decode(pair.slice(eq + 1).replaceAll('+', ' '));
      if (phoneParams.has(name)) return `${pair.slice(0, eq)}=${tail(value)}`;
      return secretParams.has(name) || secret.test(value) ? `${pair.slice(0, eq)}=${cut(value)}` : pair;
    })
    .join('&');
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function cut(value: string): string {
  return `${value.slice(0, 8)}…`;
}

/** The last 2 characters, for values that may be a phone number. */
function tail(value: string): string {
  return `…${value.slice(-2)}`;
}

/** What a viewer sees in place of a URL's userinfo and of each query value. */
export const redactedUrlPart = '[redacted]';

/**
 * Whether a path segment looks like a credential: 16 or more characters from `[A-Za-z0-9_-]`, letters and
 * digits both among them. It is what an incoming webhook's secret in its path looks like (Slack's
 * `/services/T…/B…/<24 characters>`, Discord's `/api/webhooks/<id>/<68 characters>`, IFTTT's key, a Logic
 * App's workflow id), where words (`/webhooks/convolo`, `switchboard-events-receiver`), versions and dates
 * (`/api/v2`, `/hooks/2024-12-01`) and numeric ids have no letter, no digit or fewer characters. Shorter
 * secrets (Zapier's 7-character catch-hook token) are not recognised. The segment is judged percent-decoded.
 *
 * @example
 * looksLikeCredential('vQ3x9Zr1Lk2Jm8Np5Tt7Wy0a'); // true
 * looksLikeCredential('1234567890123456789'); // false: no letter
 */
export function looksLikeCredential(segment: string): boolean {
  return /^[A-Za-z0-9_-]{16,}$/.test(segment) && /[A-Za-z]/.test(segment) && /[0-9]/.test(segment);
}

/**
 * The URL with its userinfo (`user:pass@`), each non-empty query value and each path segment that looks like
 * a credential (`looksLikeCredential`) replaced by `[redacted]`; the scheme, host, the other path segments,
 * query names and fragment as stored. What a caller who may not read secrets sees of a destination's URL
 * (api/destination-presenters.ts), and how messages that are stored name it (relay/ssrf.ts).
 *
 * @example
 * redactUrlCredentials('https://ann:pw@hooks.example.com/in?key=abc&x=1'); // 'https://[redacted]@hooks.example.com/in?key=[redacted]&x=[redacted]'
 * redactUrlCredentials('https://hooks.slack.com/services/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'); // 'https://hooks.slack.com/services/T024BE7LD/B08K1Q2M3N4/[redacted]'
 */
export function redactUrlCredentials(url: string): string {
  const { path, query, fragment } = urlParts(url);
  let authority = '';
  let rest = path;
  // The authority runs from '//' to the next '/' (or the end): its last '@' ends the userinfo.
  const authorityAt = path.indexOf('//');
  if (authorityAt >= 0) {
    const pathAt = path.indexOf('/', authorityAt + 2);
    const authorityEnd = pathAt >= 0 ? pathAt : path.length;
    authority = path.slice(0, authorityEnd);
    rest = path.slice(authorityEnd);
    const at = authority.lastIndexOf('@');
    if (at > authorityAt + 1) authority = `${authority.slice(0, authorityAt + 2)}${redactedUrlPart}${authority.slice(at)}`;
  }
  const segments = rest.split('/').map((segment) => (looksLikeCredential(decode(segment)) ? redactedUrlPart : segment)).join('/');
  const hidden = query?.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 || eq === pair.length - 1 ? pair : `${pair.slice(0, eq + 1)}${redactedUrlPart}`;
  }).join('&');
  return authority + segments + (hidden === undefined ? '' : `?${hidden}`) + fragment;
}

/**
 * `text` with every http(s) URL in it as `redactUrlCredentials` shows it: for the messages stored with a
 * delivery, which name the destination's URL or a redirect's target and which viewers read. Messages stored
 * since they are written redacted (relay/ssrf.ts, relay/send.ts); this covers those stored before, at every
 * read. A URL ends at white space, a quote, `<`, `>` or `)` (the messages put targets in parentheses).
 *
 * @example
 * redactUrlsIn('redirect not followed (301 to https://hooks.slack.com/services/T1/B2/vQ3x9Zr1Lk2Jm8Np5Tt7Wy0a)');
 * // 'redirect not followed (301 to https://hooks.slack.com/services/T1/B2/[redacted])'
 */
export function redactUrlsIn(text: string): string;
export function redactUrlsIn(text: string | null): string | null;
export function redactUrlsIn(text: string | null): string | null {
  return text === null ? null : text.replace(/\bhttps?:\/\/[^\s"'<>()]+/gi, (url) => redactUrlCredentials(url));
}
