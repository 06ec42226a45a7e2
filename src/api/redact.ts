/** What of a URL may appear in logs: ingest tokens and query access tokens are cut to their first characters. */
export function redactUrl(url: string): string {
  return url
    .replace(/(\/hooks\/convolo\/)([^/?#]{0,8})[^/?#]*/, '$1$2…')
    .replace(/([?&]access_token=)([^&#]{0,8})[^&#]*/, '$1$2…');
}
